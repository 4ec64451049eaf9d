"""Memory attributes: MAIR bytes, stage-2 MemAttr, the two-stage combination, and the records
a walk reports them in (``Stage1Attributes``, ``Stage2Attributes``, ``CombinedAttributes``,
``OutputAttributes`` for a disabled stage 1)."""

from __future__ import annotations

from dataclasses import dataclass

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


# s2_memattr_to_attr of every MemAttr value, for code that converts many.
S2_MEMATTR_BYTES = tuple(s2_memattr_to_attr(m) for m in range(16))


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
    if not attr & 0xF0 or attr == 0x44:  # Device, or Normal Inner/Outer Non-cacheable
        return 0b10
    return sh


# -- the attributes of a translation, as records ---------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OutputAttributes:
    """What the memory system is told about the output address: the memory type (as a
    MAIR-style attribute byte) and the shareability, with where the shareability came from.
    On its own this is the output of a disabled stage 1 (a flat mapping)."""

    attr: int
    sh: int
    sh_origin: str

    @property
    def memory_type(self) -> str:
        return describe_mair(self.attr)

    @property
    def sh_name(self) -> str:
        return SH_NAMES[self.sh]

    @property
    def device(self) -> bool:
        return is_device(self.attr)

    def to_dict(self) -> dict:
        return {
            "attr": self.attr,
            "memory_type": self.memory_type,
            "sh": self.sh,
            "sh_origin": self.sh_origin,
        }


@dataclass(frozen=True, kw_only=True)
class LeafAttributes(OutputAttributes):
    """The attributes one stage's leaf descriptor (block or page) gives."""

    stage: int
    leaf_level: int
    leaf_kind: str  # "block" | "page"
    block_size: int  # bytes the leaf maps
    af: int
    contiguous: bool  # the Contiguous bit, when it counts at this level
    dbm: int

    def to_dict(self) -> dict:
        return {
            "attr": self.attr,
            "memory_type": self.memory_type,
            "device": self.device,
            "sh": self.sh,
            "sh_name": self.sh_name,
            "sh_origin": self.sh_origin,
            "af": self.af,
            "contiguous": self.contiguous,
            "dbm": self.dbm,
            "block_size": self.block_size,
            "leaf_level": self.leaf_level,
            "leaf_kind": self.leaf_kind,
        }


@dataclass(frozen=True, kw_only=True)
class Stage1Attributes(LeafAttributes):
    """A stage-1 leaf: the memory type is ``mair``'s byte ``AttrIndx``."""

    attr_index: int
    mair: str  # "MAIR_EL1" | "MAIR_EL2"
    ng: int
    gp: int

    def to_dict(self) -> dict:
        return {
            "attr_index": self.attr_index,
            "mair": self.mair,
            **super().to_dict(),
            "ng": self.ng,
            "gp": self.gp,
        }


# HCR_EL2.FWB changes how stage-2 MemAttr reads; this model reads it with FWB=0.
FWB_NOTE = "HCR_EL2.FWB is not modelled"


@dataclass(frozen=True, kw_only=True)
class Stage2Attributes(LeafAttributes):
    """A stage-2 leaf: the memory type is the descriptor's MemAttr[3:0] (HCR_EL2.FWB=0),
    shown as the MAIR-style byte it stands for (``attr``)."""

    memattr: int

    @property
    def memory_type(self) -> str:
        return describe_s2_memattr(self.memattr)

    @property
    def fwb(self) -> str:
        return FWB_NOTE

    def to_dict(self) -> dict:
        return {"memattr": self.memattr, **super().to_dict(), "fwb": self.fwb}


COMBINE_NOTE = "HCR_EL2.FWB/CD/DC not modelled; more restrictive type wins"


@dataclass(frozen=True, kw_only=True)
class CombinedAttributes(OutputAttributes):
    """Stage 1 and stage 2 combined (HCR_EL2.FWB=0): the more restrictive memory type and
    the more shareable of the two shareabilities."""

    stage1: OutputAttributes
    stage2: Stage2Attributes

    @property
    def combine_note(self) -> str:
        return COMBINE_NOTE

    def to_dict(self) -> dict:
        return {
            "stage1": self.stage1.to_dict(),
            "stage2": self.stage2.to_dict(),
            "attr": self.attr,
            "memory_type": self.memory_type,
            "sh": self.sh,
            "sh_name": self.sh_name,
            "sh_origin": self.sh_origin,
            "combine_note": self.combine_note,
        }


def combine(stage1: OutputAttributes, stage2: Stage2Attributes) -> CombinedAttributes:
    """The attributes of a two-stage translation."""
    return CombinedAttributes(
        attr=combine_attrs(stage1.attr, stage2.attr),
        sh=combine_sh(stage1.sh, stage2.sh),
        sh_origin="stage 1 and stage 2 combined (more shareable wins)",
        stage1=stage1,
        stage2=stage2,
    )
