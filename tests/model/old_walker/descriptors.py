"""Where the address bits of a descriptor live, for every format, with bit provenance.

Formats ("variants"):
  DS0  4KB/16KB with DS=0 and 64KB without FEAT_LPA: address in desc[47:n]
  DS1  4KB/16KB with DS=1 (FEAT_LPA2): desc[49:n] plus OA[51:50] in desc[9:8]
  LPA  64KB with FEAT_LPA: desc[47:n] plus OA[51:48] in desc[15:12]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .fields import Layout, descriptor_layout


@dataclass(frozen=True)
class BitSource:
    """Output bits ``[oa_hi:oa_lo]`` come from ``source[src_hi:src_lo]``."""

    oa_hi: int
    oa_lo: int
    source: str  # "desc" | "ia" | "ttbr"
    src_hi: int
    src_lo: int
    level: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def variant_for(granule_kb: int, ds: bool, lpa: bool) -> str:
    if granule_kb == 64:
        return "LPA" if lpa else "DS0"
    return "DS1" if ds else "DS0"


def layout_for(stage: int, kind: str, variant: str) -> Layout:
    return descriptor_layout(stage, kind, variant)


def decode_address(
    raw: int, layout: Layout, variant: str, low_bits: int, level: int | None = None
) -> tuple[int, list[BitSource]]:
    """Address held by a table (``low_bits`` = granule bits) or leaf (``low_bits`` = block or
    page size bits) descriptor, and which descriptor bits supplied it."""
    key = (layout.name, variant, low_bits, level)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = _address_plan(layout, variant, low_bits, level)
    main, high, spans = plan
    addr = layout.get_in_place(raw, main) & ~((1 << low_bits) - 1)
    if high is not None:
        name, shift = high
        addr |= layout.get(raw, name) << shift
    return addr, list(spans)


# (layout name, variant, low bits, level) -> _address_plan(...); a few dozen entries at most.
_PLANS: dict[tuple, tuple[str, tuple[str, int] | None, tuple[BitSource, ...]]] = {}


def _address_plan(
    layout: Layout, variant: str, low_bits: int, level: int | None = None
) -> tuple[str, tuple[str, int] | None, tuple[BitSource, ...]]:
    """Where the address of ``layout`` lives: the main field, the high-bits field and its
    shift, and the bit provenance (which does not depend on the descriptor's value)."""
    main = "NLTA" if "NLTA" in layout else "OA"
    f = layout.field(main)
    spans = []
    high = None
    if variant == "DS1":
        high = (f"{main}_51_50", 50)
        spans.append(BitSource(51, 50, "desc", 9, 8, level))
    elif variant == "LPA":
        high = (f"{main}_51_48", 48)
        spans.append(BitSource(51, 48, "desc", 15, 12, level))
    spans.append(BitSource(f.hi, low_bits, "desc", f.hi, low_bits, level))
    return main, high, tuple(spans)


def encode_address(addr: int, layout: Layout, variant: str, low_bits: int) -> int:
    """Descriptor bits that hold ``addr`` (the inverse of ``decode_address``)."""
    main = "NLTA" if "NLTA" in layout else "OA"
    f = layout.field(main)
    value = 0
    body = addr & ((1 << (f.hi + 1)) - 1) & ~((1 << low_bits) - 1)
    value = layout.set(value, main, body >> f.lo)
    if variant == "DS1":
        value = layout.set(value, f"{main}_51_50", (addr >> 50) & 3)
    elif variant == "LPA":
        value = layout.set(value, f"{main}_51_48", (addr >> 48) & 0xF)
    return value


def address_mask(layout: Layout, variant: str, low_bits: int) -> int:
    """Descriptor bits that take part in the address."""
    return encode_address((1 << 52) - 1, layout, variant, low_bits)


def max_address_bits(variant: str) -> int:
    return 48 if variant == "DS0" else 52
