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
    """Output bits ``[oa_hi:oa_lo]`` come from ``source[src_hi:src_lo]``: a descriptor read at
    ``level`` of ``stage`` ("desc"), or the input address of ``stage``'s walk ("ia": the VA
    for stage 1, the IPA for stage 2)."""

    oa_hi: int
    oa_lo: int
    source: str  # "desc" | "ia"
    src_hi: int
    src_lo: int
    level: int | None = None
    stage: int = 1

    def to_dict(self) -> dict:
        return asdict(self)


def _bits(hi: int, lo: int) -> str:
    return f"[{hi}]" if hi == lo else f"[{hi}:{lo}]"


def source_label(src: BitSource, *, two_stage: bool, input_name: str) -> str:
    """How every renderer names where output bits come from, e.g. ``L3 desc[9:8]``,
    ``S2 L3 desc[47:12]`` or ``VA[11:0]``.

    The rule: a descriptor is named by its level, and by its stage ("S1 "/"S2 ") only when
    the output went through two stages (``two_stage``), where bits come from descriptors of
    both. A walk of one stage (stage 1, or stage 2 alone) has descriptors of that stage only,
    named by the walk's header, so its labels carry no stage. Input-address bits are named
    after the walk's input (``input_name``: "VA", or "IPA" for stage 2 alone).
    """
    if src.source == "ia":
        return f"{input_name}{_bits(src.src_hi, src.src_lo)}"
    level = "L?" if src.level is None else f"L{src.level}"
    stage = f"S{src.stage} " if two_stage else ""
    return f"{stage}{level} desc{_bits(src.src_hi, src.src_lo)}"


def variant_for(granule_kb: int, ds: bool, lpa: bool) -> str:
    if granule_kb == 64:
        return "LPA" if lpa else "DS0"
    return "DS1" if ds else "DS0"


def layout_for(stage: int, kind: str, variant: str) -> Layout:
    return descriptor_layout(stage, kind, variant)


@dataclass(frozen=True)
class AddressPlan:
    """Where one descriptor format keeps an address, compiled from its field table: the bits
    kept in place (``mask``), the separate high field (``(raw >> high_shift) & high_mask``
    goes to bit ``high_dest``; absent when ``high_mask`` is 0), and which descriptor bits
    supply which address bits (``spans``)."""

    mask: int
    high_shift: int
    high_mask: int
    high_dest: int
    spans: tuple[BitSource, ...]

    def address(self, raw: int) -> int:
        return (raw & self.mask) | (((raw >> self.high_shift) & self.high_mask) << self.high_dest)


# Descriptor formats whose high output bits are a field of their own: the lowest output bit it
# holds.
_HIGH_BITS = {"DS1": 50, "LPA": 48}


def address_plan(
    layout: Layout, variant: str, low_bits: int, level: int | None = None
) -> AddressPlan:
    """Where the address of a table (``low_bits`` = granule bits) or leaf (``low_bits`` =
    block or page size bits) descriptor in ``layout`` lives, read at ``level``."""
    key = (layout.name, variant, low_bits, level)
    plan = _ADDRESS_PLANS.get(key)
    if plan is None:
        plan = _ADDRESS_PLANS[key] = _compile_address_plan(layout, variant, low_bits, level)
    return plan


# (layout name, variant, low bits, level) -> AddressPlan: a few hundred entries at most.
_ADDRESS_PLANS: dict[tuple[str, str, int, int | None], AddressPlan] = {}


def _compile_address_plan(
    layout: Layout, variant: str, low_bits: int, level: int | None
) -> AddressPlan:
    main = "NLTA" if "NLTA" in layout else "OA"
    f = layout.field(main)
    stage = 2 if layout.name.startswith("S2_") else 1
    spans = []
    high_shift = high_mask = high_dest = 0
    if variant in _HIGH_BITS:
        # The high output bits live apart from the rest: OA[51:50] in [9:8] (DS=1) or
        # OA[51:48] in [15:12] (64KB with FEAT_LPA); the field name says where they go.
        high_dest = _HIGH_BITS[variant]
        hf = layout.field(f"{main}_51_{high_dest}")
        high_shift, high_mask = layout.shift_mask(hf.name)
        spans.append(
            BitSource(high_dest + hf.width - 1, high_dest, "desc", hf.hi, hf.lo, level, stage)
        )
    spans.append(BitSource(f.hi, low_bits, "desc", f.hi, low_bits, level, stage))
    mask = f.mask & ~((1 << low_bits) - 1)
    return AddressPlan(mask, high_shift, high_mask, high_dest, tuple(spans))


def decode_address(
    raw: int, layout: Layout, variant: str, low_bits: int, level: int | None = None
) -> tuple[int, list[BitSource]]:
    """Address held by a table (``low_bits`` = granule bits) or leaf (``low_bits`` = block or
    page size bits) descriptor, and which descriptor bits supplied it."""
    plan = address_plan(layout, variant, low_bits, level)
    return plan.address(raw), list(plan.spans)


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


def compose_sources(stage1: list[BitSource], stage2: list[BitSource]) -> list[BitSource]:
    """Where a two-stage output's bits come from: the stage-2 descriptor bits, then, below
    the stage-2 leaf size, the IPA bits, which stage 1 supplied (its descriptor bits and
    the VA's offset bits)."""
    out = [s for s in stage2 if s.source == "desc"]
    ia_span = next((s for s in stage2 if s.source == "ia"), None)
    if ia_span is None:
        return out
    for s in stage1:
        lo = max(s.oa_lo, ia_span.oa_lo)
        hi = min(s.oa_hi, ia_span.oa_hi)
        if lo > hi:
            continue
        off = s.src_lo - s.oa_lo
        out.append(BitSource(hi, lo, s.source, hi + off, lo + off, s.level, s.stage))
    return sorted(out, key=lambda b: -b.oa_hi)
