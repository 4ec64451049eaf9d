"""Architecture-aware edits for an explorer: which registers a regime uses, which layout a
register or descriptor is read with, what each input-address bit does, and the quick actions
on a descriptor (make invalid / block / table / page).

Pure Python on top of the rest of ``model``; the web app asks these questions instead of
knowing the answers itself.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from model.arch import geometry as geo
from model.arch.cpu import CPU_PRESETS
from model.arch.descriptors import encode_address
from model.arch.fields import (
    HCR_EL2,
    LAYOUTS,
    MAIR,
    MASK64,
    SCTLR,
    TCR_EL1,
    TCR_EL2,
    TCR_EL2_E2H,
    TTBR,
    TTBR0_EL2,
    TTBR0_EL2_52,
    TTBR_52,
    VTCR_EL2,
    VTTBR_EL2,
    VTTBR_EL2_52,
    Layout,
    descriptor_layout,
)
from model.arch.result import ReadRef
from model.arch.walker import LevelRead, Regime, WalkParams, WalkResult
from model.arch.walker import stage2_enabled as walker_stage2_enabled
from model.explore.background import FILL_REGION_SHIFT, page_descriptor

from .configs import REGISTER_NAMES, Configuration, run, state_memory

# -- registers --------------------------------------------------------------------------------

_STAGE1_EL1 = ("TCR_EL1", "TTBR0_EL1", "TTBR1_EL1", "MAIR_EL1", "SCTLR_EL1")
_STAGE2 = ("VTCR_EL2", "VTTBR_EL2")


def stage2_enabled(registers) -> bool:
    """HCR_EL2.VM=1 or DC=1, and not {E2H, TGE} = {1, 1}: EL1&0 stage-1 table reads go
    through stage 2 (the walker's own rule)."""
    return walker_stage2_enabled(int(registers.get("HCR_EL2", 0)))


def regime_registers(regime: str, registers) -> list[str]:
    """The registers a walk in ``regime`` reads, in ``REGISTER_NAMES`` order."""
    regime = Regime(regime).value
    if regime == Regime.EL10.value:
        used = set(_STAGE1_EL1) | {"HCR_EL2"}
        if stage2_enabled(registers):
            used |= set(_STAGE2)
    elif regime == Regime.EL10_S12.value:
        used = set(_STAGE1_EL1) | set(_STAGE2) | {"HCR_EL2"}
    elif regime == Regime.EL2.value:
        used = {"TCR_EL2", "TTBR0_EL2", "MAIR_EL2", "SCTLR_EL2", "HCR_EL2"}
    elif regime == Regime.EL20.value:
        used = {"TCR_EL2", "TTBR0_EL2", "TTBR1_EL2", "MAIR_EL2", "SCTLR_EL2", "HCR_EL2"}
    else:
        used = set(_STAGE2) | {"HCR_EL2"}
    return [name for name in REGISTER_NAMES if name in used]


def register_layout(name: str, regime: str, params: dict[str, WalkParams | None]) -> Layout:
    """The field layout ``name`` is read with in this walk.

    TCR_EL2 takes the TCR_EL1 layout in the EL2&0 regime (HCR_EL2.E2H=1); a TTBR takes the
    52-bit format when the walk's parameters say so (DS=1, or 64KB with FEAT_LPA and IPS=52).
    """
    regime = Regime(regime).value
    s1 = params.get("s1")
    s2 = params.get("s2")
    fmt52_s1 = bool(s1 and s1.ttbr_52bit)
    if name == "TCR_EL1":
        return TCR_EL1
    if name == "TCR_EL2":
        return TCR_EL2_E2H if regime == Regime.EL20.value else TCR_EL2
    if name == "VTCR_EL2":
        return VTCR_EL2
    if name == "VTTBR_EL2":
        return VTTBR_EL2_52 if (s2 and s2.ttbr_52bit) else VTTBR_EL2
    if name == "TTBR0_EL2" and regime == Regime.EL2.value:
        return TTBR0_EL2_52 if fmt52_s1 else TTBR0_EL2
    if name.startswith("TTBR"):
        return TTBR_52 if fmt52_s1 else TTBR
    if name.startswith("MAIR"):
        return MAIR
    if name.startswith("SCTLR"):
        return SCTLR
    if name == "HCR_EL2":
        return HCR_EL2
    raise KeyError(f"no layout for register {name!r}")


def sync_regime(old: Configuration, new: Configuration) -> Configuration:
    """Keep the EL2 regimes and HCR_EL2.E2H consistent after an edit.

    Choosing EL2&0 sets E2H, choosing EL2 clears it; flipping E2H while an EL2 regime is shown
    switches between the two regimes.
    """
    hcr_old = int(old.registers.get("HCR_EL2", 0))
    hcr_new = int(new.registers.get("HCR_EL2", 0))
    el2 = (Regime.EL2.value, Regime.EL20.value)
    if new.regime != old.regime and new.regime in el2:
        want = 1 if new.regime == Regime.EL20.value else 0
        if HCR_EL2.get(hcr_new, "E2H") != want:
            return new.with_registers(HCR_EL2=HCR_EL2.set(hcr_new, "E2H", want))
        return new
    e2h_changed = HCR_EL2.get(hcr_old, "E2H") != HCR_EL2.get(hcr_new, "E2H")
    if e2h_changed and new.regime in el2:
        regime = Regime.EL20.value if HCR_EL2.get(hcr_new, "E2H") else Regime.EL2.value
        return replace(new, regime=regime)
    return new


# -- the input address ------------------------------------------------------------------------


@dataclass(frozen=True)
class AddressSegment:
    """Input-address bits ``[hi:lo]`` and their role in the walk."""

    hi: int
    lo: int
    role: str  # "tag" | "top" | "select" | "index" | "offset" | "unused"
    label: str
    level: int | None = None
    note: str = ""


def address_segments(params: WalkParams, leaf_level: int | None = None) -> list[AddressSegment]:
    """What each bit of the input address does in this walk, from bit 63 down to 0.

    Levels below a block leaf (``leaf_level``) are part of the offset.
    """
    out: list[AddressSegment] = []
    two_range = params.stage == 1 and params.regime in (
        Regime.EL10.value,
        Regime.EL10_S12.value,
        Regime.EL20.value,
    )
    ia = params.iasize
    top = 63
    if params.stage == 1 and params.tbi:
        out.append(AddressSegment(63, 56, "tag", "tag (TBI)", note="ignored: top byte ignore"))
        top = 55
    if two_range:
        if top == 63:
            out.append(AddressSegment(63, 56, "top", "top bits", note="must all equal VA[55]"))
        out.append(
            AddressSegment(
                55,
                55,
                "select",
                "range select",
                note=f"VA[55]={params.range_select}: {params.ttbr_name}",
            )
        )
        if ia <= 54:
            expect = "ones" if params.range_select else "zeros"
            out.append(AddressSegment(54, ia, "top", "top bits", note=f"must be all {expect}"))
    elif top >= ia:
        out.append(AddressSegment(top, ia, "top", "top bits", note="must be all zeros"))
    indexes = params.indexes
    last_level = leaf_level if leaf_level is not None else geo.FINAL_LEVEL
    for level, hi, lo in indexes:
        if level > last_level:
            continue
        out.append(AddressSegment(hi, lo, "index", f"L{level} index", level=level))
    offset_bits = geo.block_size_bits(last_level, params.granule_kb) if indexes else 0
    if offset_bits:
        what = "page offset" if last_level == geo.FINAL_LEVEL else f"offset in L{last_level} block"
        out.append(AddressSegment(offset_bits - 1, 0, "offset", what))
    return out


# -- descriptors ------------------------------------------------------------------------------


def find_read(result: WalkResult, address: int) -> ReadRef | None:
    """The read of the descriptor at physical ``address`` (the last one if read twice)."""
    found = None
    for ref in result.reads():
        if ref.read.desc_address == address and ref.read.raw is not None:
            found = ref
    return found


def display_layout(read: LevelRead, params: WalkParams) -> Layout:
    """The layout to show a descriptor with: the one the walk decoded it with, or for a
    descriptor that was not decoded (invalid, reserved) the format its level would use."""
    if read.layout:
        return LAYOUTS[read.layout]
    kind = "table" if read.level < geo.FINAL_LEVEL else "page"
    return descriptor_layout(read.stage, kind, params.desc_variant)


@dataclass(frozen=True)
class QuickAction:
    name: str  # "invalid" | "block" | "table" | "page"
    label: str
    allowed: bool
    reason: str


_UNUSABLE = ("invalid", "reserved", "block-not-allowed")


def stopped_at(result: WalkResult, ref: ReadRef) -> bool:
    """Did the walk fault at this read (the last descriptor it read)?"""
    if result.fault is None:
        return False
    reads = [r for r in result.reads() if r.read.desc_address is not None]
    return bool(reads) and reads[-1].read is ref.read


def quick_actions(
    read: LevelRead, params: WalkParams, cpu_slug: str, faulted: bool = False
) -> list[QuickAction]:
    """The one-click rewrites of a descriptor, each with whether it is allowed here and why.

    ``faulted``: the walk stopped at this read. "Fill this entry" is offered there and on any
    entry that is not a usable descriptor (invalid, reserved, a block where none is allowed).
    """
    cpu = CPU_PRESETS.get(cpu_slug, CPU_PRESETS["max"])
    raw = read.raw or 0
    level = read.level
    fillable = faulted or read.kind in _UNUSABLE
    if level < geo.FINAL_LEVEL:
        fill_why = "a table descriptor to a fresh table, filled on down to a page"
    else:
        fill_why = "a page descriptor mapping the input address"
    out = [
        QuickAction(
            "fill",
            "Fill this entry",
            fillable,
            fill_why if fillable else "holds a usable descriptor",
        ),
        QuickAction(
            "invalid",
            "Make invalid",
            bool(raw & 1),
            "clears bit 0" if raw & 1 else "already invalid",
        ),
    ]
    if level < geo.FINAL_LEVEL:
        ok = geo.block_allowed(level, params.granule_kb, params.ds, cpu.pamax)
        size = _size_text(geo.block_size_bits(level, params.granule_kb))
        if not ok:
            why = f"the {params.granule_kb}KB granule has no level {level} blocks"
            if params.granule_kb in (4, 16) and not params.ds and level >= 0:
                why += " without DS=1"
        elif read.kind == "block":
            why = "already a block"
        else:
            why = f"maps a {size} block at the input address"
        out.append(QuickAction("block", f"Make {size} block", ok and read.kind != "block", why))
        out.append(
            QuickAction(
                "table",
                "Make table",
                read.kind != "table",
                "already a table"
                if read.kind == "table"
                else "points to a fresh next-level table, filled on down to a page",
            )
        )
    else:
        out.append(
            QuickAction(
                "page",
                "Make page",
                read.kind != "page",
                "already a page" if read.kind == "page" else "maps the input address's page",
            )
        )
    return out


def _size_text(bits: int) -> str:
    for unit, shift in (("TB", 40), ("GB", 30), ("MB", 20), ("KB", 10)):
        if bits >= shift:
            return f"{1 << (bits - shift)}{unit}"
    return f"{1 << bits}B"


def _leaf_value(stage: int, kind: str, params: WalkParams, level: int) -> int:
    """A valid leaf (AF=1, read/write, normal memory) mapping the walk's input address."""
    return page_descriptor(params, params.input_address, level)


_MIX = 0x9E3779B97F4A7C15


def fresh_table_address(ref: ReadRef, space_bits: int) -> int:
    """Where "fill" puts the next-level table of the entry ``ref`` reads: a granule-aligned slot,
    chosen from the entry's address, in the fill region just below the background tables (the
    1/32 of the output space under its top 1/16), so it holds nothing until filled."""
    gb = ref.params.granule_bits
    size = 1 << (space_bits - FILL_REGION_SHIFT)
    base = (1 << space_bits) - (1 << (space_bits - 4)) - size
    slots = max(1, size >> gb)
    h = ((ref.read.desc_address or 0) >> 3) * _MIX + (ref.read.stage << 8) + ref.read.level + 1
    h &= MASK64
    return base + (((h ^ (h >> 29)) % slots) << gb)


def _space_bits(ref: ReadRef, result: WalkResult) -> int:
    """Output bits a fresh table of this read's stage may use: a stage-1 table is an IPA when
    stage 2 translates the walk's table reads, so it must also fit stage 2's sizes."""
    bits = ref.params.oa_bits
    s2 = result.params.get("s2")
    if ref.read.stage == 1 and s2 is not None and any(r.s2 is not None for r in result.levels):
        bits = min(bits, s2.iasize, s2.oa_bits)
    return bits


def _fill_value(ref: ReadRef, result: WalkResult) -> int:
    """A valid descriptor of the right kind for the entry ``ref`` reads: a table descriptor to a
    fresh table above level 3, a page at level 3, in the format of the walk that reads it."""
    read, params = ref.read, ref.params
    if read.level < geo.FINAL_LEVEL:
        table = fresh_table_address(ref, _space_bits(ref, result))
        layout = descriptor_layout(read.stage, "table", params.desc_variant)
        return encode_address(table, layout, params.desc_variant, params.granule_bits) | 0b11
    return page_descriptor(params, params.input_address)


def action_value(ref: ReadRef, action: str, cpu_slug: str, result: WalkResult) -> int:
    """The descriptor value ``action`` writes for the read ``ref``; ValueError if not allowed."""
    read, params = ref.read, ref.params
    allowed = {a.name: a for a in quick_actions(read, params, cpu_slug, stopped_at(result, ref))}
    if action not in allowed:
        raise ValueError(f"no {action!r} action at level {read.level}")
    if not allowed[action].allowed:
        raise ValueError(f"cannot {allowed[action].label.lower()}: {allowed[action].reason}")
    raw = read.raw or 0
    if action == "invalid":
        return raw & ~1 & MASK64
    if action in ("table", "fill"):
        return _fill_value(ref, result)
    return _leaf_value(read.stage, action, params, read.level)


# "Fill" writes at most one descriptor per level of each stage of a walk.
_MAX_FILLS = 40


def _follow_fill(config: Configuration) -> Configuration:
    """After a fill: while the walk stops at an entry that holds nothing (it reads 0 and neither
    the link nor the background tables store anything there), fill that entry too, so that a
    fresh table leads on down to a page instead of to the next empty entry."""
    for _ in range(_MAX_FILLS):
        result = run(config)
        if result.fault is None:
            return config
        memory = state_memory(config)
        reads = [ref for ref in result.reads() if ref.read.desc_address is not None]
        last = reads[-1] if reads else None
        address = last.read.desc_address if last is not None else None
        if last is None or address is None or last.read.raw or memory.source(address) != "empty":
            return config
        config = config.with_memory({address: _fill_value(last, result)})
    return config


def apply_action(
    config: Configuration, result: WalkResult, address: int, action: str
) -> Configuration:
    """``config`` with the descriptor at ``address`` rewritten by ``action``."""
    ref = find_read(result, address)
    if ref is None:
        raise ValueError(f"the walk reads no descriptor at {address:#x}")
    config = config.with_memory({address: action_value(ref, action, config.cpu, result)})
    return _follow_fill(config) if action in ("table", "fill") else config
