"""Memory attribute helpers: MAIR bytes, stage-2 MemAttr and the two-stage combination."""

from __future__ import annotations

SH_NAMES = {0: "Non-shareable", 1: "Reserved", 2: "Outer Shareable", 3: "Inner Shareable"}
DEVICE_TYPES = {0: "Device-nGnRnE", 1: "Device-nGnRE", 2: "Device-nGRE", 3: "Device-GRE"}


def is_device(attr: int) -> bool:
    return attr & 0xF0 == 0


def _nibble(n: int) -> str:
    if n == 0b0100:
        return "Non-cacheable"
    kind = "Write-Back" if n & 0b0100 else "Write-Through"
    transient = "" if n & 0b1000 else " transient"
    alloc = {0: "no allocate", 1: "W-allocate", 2: "R-allocate", 3: "RW-allocate"}[n & 3]
    if n & 0b1100 == 0 and n & 3 == 0:
        return "UNPREDICTABLE"
    return f"{kind}{transient}, {alloc}"


def describe_mair(attr: int) -> str:
    """Human description of a MAIR attribute byte."""
    if is_device(attr):
        if attr & 0b11:
            return f"UNPREDICTABLE device encoding {attr:#04x}"
        return DEVICE_TYPES[(attr >> 2) & 3]
    if attr == 0xF0:
        return "Tagged Normal, Inner/Outer Write-Back (FEAT_MTE2)"
    outer, inner = attr >> 4, attr & 0xF
    if inner == 0:
        return f"UNPREDICTABLE normal encoding {attr:#04x}"
    return f"Normal, Outer {_nibble(outer)}; Inner {_nibble(inner)}"


def is_non_cacheable(attr: int) -> bool:
    return not is_device(attr) and attr >> 4 == 0b0100 and attr & 0xF == 0b0100


def s2_memattr_to_attr(memattr: int) -> int:
    """Stage-2 MemAttr[3:0] (HCR_EL2.FWB=0) as a MAIR-style byte."""
    hi, lo = memattr >> 2, memattr & 3
    if hi == 0:
        return lo << 2

    def nib(v: int) -> int:
        return {1: 0b0100, 2: 0b1011, 3: 0b1111}.get(v, 0b0100)

    return (nib(hi) << 4) | nib(lo)


def describe_s2_memattr(memattr: int) -> str:
    hi, lo = memattr >> 2, memattr & 3
    if hi == 0:
        return DEVICE_TYPES[lo]
    names = {0: "reserved", 1: "Non-cacheable", 2: "Write-Through", 3: "Write-Back"}
    return f"Normal, Outer {names[hi]}, Inner {names[lo]}"


def _combine_nibble(s1: int, s2: int) -> int:
    if s1 == 0b0100 or s2 == 0b0100:
        return 0b0100
    if s1 >> 2 in (0b00, 0b10):  # stage 1 Write-Through
        return s1
    if s2 >> 2 == 0b10:  # stage 2 Write-Through, allocation hints from stage 1
        return 0b1000 | (s1 & 3)
    return s1


def combine_attrs(s1: int, s2: int) -> int:
    """Combine a stage-1 MAIR byte with a stage-2 MAIR-style byte (more restrictive wins)."""
    if is_device(s1) or is_device(s2):
        types = [(a >> 2) & 3 for a in (s1, s2) if is_device(a)]
        return min(types) << 2
    return (_combine_nibble(s1 >> 4, s2 >> 4) << 4) | _combine_nibble(s1 & 0xF, s2 & 0xF)


def combine_sh(sh1: int, sh2: int) -> int:
    if 2 in (sh1, sh2):
        return 2
    if 3 in (sh1, sh2):
        return 3
    return 0


def par_sh(attr: int, sh: int) -> int:
    """PAR_EL1.SH: 0b10 for Device or Normal Non-cacheable memory, else the shareability."""
    if is_device(attr) or is_non_cacheable(attr):
        return 0b10
    return sh
