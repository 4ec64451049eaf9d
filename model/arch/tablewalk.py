"""One stage's table walk as named steps (AArch64.S1Walk / S2Walk and the leaf checks of
S1Translate / S2Translate):

1. ``start``: the start table's address against the output size;
2. ``fetch``: the descriptor's address from the table base and the input address's index
   bits, translated through stage 2 first when stage-1 tables live in IPA space, then read;
3. ``descriptor_type``: invalid, table, block (where blocks are allowed) or page;
4. ``table_step``: the next table's address, hierarchical attributes, address size; the
   walk state moves one level down and goes back to 2;
5. ``leaf_step``: the output address, its size, the Access flag;
6. ``permission_step``: attributes, permissions and the permission check of the access.

A step that fails returns the ``FaultSite`` of the rule it broke; ``walk_stage`` raises the
fault at its one exit, where the level and the stage are filled in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import fault_rules as rules
from . import geometry as geo
from .attrs import Stage1Attributes, Stage2Attributes, s2_memattr_to_attr
from .cpu import CPU
from .descriptors import BitSource, decode_address
from .faults import Fault, FaultRule, FaultSite, raise_fault
from .fields import MAIR, SCTLR, descriptor_layout
from .memory import Memory
from .notes import Notes, bit_range
from .params import WalkParams
from .permissions import denied_by, stage1_permissions, stage2_permissions
from .regime import EL10_REGIMES, TWO_RANGE_REGIMES, Access
from .result import LevelRead, StageWalk

MASK64 = (1 << 64) - 1


class Translation:
    """What every stage walk of one translation shares: the registers, the memory, the CPU,
    what the walk notices, the count of descriptors read, and how to walk stage 2 (for the
    stage-2 walks of stage-1 table addresses)."""

    def __init__(
        self,
        regs: Mapping[str, int],
        memory: Memory,
        cpu: CPU,
        notes: Notes,
        stage2: Callable[[int, Access, bool], StageWalk] | None = None,
    ) -> None:
        self.regs = regs
        self.memory = memory
        self.words = memory.plain_words()
        self.cpu = cpu
        self.notes = notes
        self.stage2 = stage2
        self.reads = 0

    def register(self, name: str) -> int:
        return int(self.regs.get(name, 0)) & MASK64


@dataclass
class WalkState:
    """Where a stage walk is: the level, the table it reads there and where that table's
    address came from, and the hierarchical permissions gathered from the tables above."""

    level: int
    table_base: int
    origin: str
    ap_table: int = 0
    pxn_table: int = 0
    uxn_table: int = 0


def with_input(template: WalkParams, input_address: int) -> WalkParams:
    """The parameters of one walk: ``template`` with its input address."""
    # A shallow copy (dataclasses.replace would re-run __init__ for ~40 fields).
    p = object.__new__(WalkParams)
    p.__dict__.update(template.__dict__)
    p.input_address = input_address
    return p


# -- the steps --------------------------------------------------------------------------------


def start(p: WalkParams) -> tuple[WalkState, FaultSite | None]:
    """The walk state at the start level; the start table must lie within the output size
    (else an Address size fault, reported at level 0 whatever the start level)."""
    state = WalkState(p.start_level, p.table_base, p.table_base_origin)
    if p.table_base >> p.oa_bits:
        return state, rules.TTBR_OA_OUT_OF_RANGE.site(
            level=0,
            address=p.table_base,
            ttbr=p.ttbr_name,
            oa_bits=p.oa_bits,
            ps_field=p.ps_field,
            ps=p.ps_raw,
        )
    return state, None


def fetch(
    t: Translation, state: WalkState, p: WalkParams, via_s2: bool
) -> tuple[LevelRead, Fault | None]:
    """Read the descriptor the input address selects in the current table. Under stage 2 the
    descriptor's address is an IPA, translated first; a fault there is returned instead."""
    level = state.level
    hi, lo = geo.index_bits(level, p.iasize, p.granule_kb, p.start_level)
    index = (p.input_address >> lo) & ((1 << (hi - lo + 1)) - 1)
    desc_addr = state.table_base | (index << 3)
    read = LevelRead(p.stage, level, state.table_base, state.origin, hi, lo, index, desc_addr)
    read_pa = desc_addr
    if via_s2:
        assert t.stage2 is not None
        read.desc_ipa = desc_addr
        nested = t.stage2(desc_addr, _TABLE_READ, True)
        read.s2 = nested
        if nested.fault is not None:
            read.desc_address = None
            return read, nested.fault
        assert nested.output_address is not None
        read_pa = nested.output_address
        read.desc_address = read_pa
    if t.words is not None:
        raw, synthetic = int(t.words.get(read_pa & ~7, 0)), False
    else:
        raw, synthetic = t.memory.read_descriptor(read_pa, p.stage, level, p)
    t.reads += 1
    read.raw = raw & MASK64
    read.synthetic = synthetic
    return read, None


_TABLE_READ = Access(1, "read")  # stage-2 walks of stage-1 table addresses are EL1 reads


def descriptor_type(read: LevelRead, p: WalkParams, cpu: CPU) -> FaultSite | None:
    """Bits [1:0]: invalid, table or page (0b11), block (0b01 where blocks are allowed:
    AArch64.BlockDescSupported), or the reserved 0b01 at level 3."""
    raw = read.raw or 0
    level = read.level
    if not raw & 1:
        read.kind = "invalid"
        return rules.INVALID_DESCRIPTOR.site(address=read.desc_address)
    if raw & 2:
        read.kind = "page" if level == geo.FINAL_LEVEL else "table"
        return None
    if level == geo.FINAL_LEVEL:
        read.kind = "reserved"
        return rules.RESERVED_L3.site()
    if geo.block_allowed(level, p.granule_kb, p.ds, cpu.pamax):
        read.kind = "block"
        return None
    read.kind = "block-not-allowed"
    return rules.BLOCK_LEVEL_UNSUPPORTED.site(granule=p.granule_kb)


def _high_oa_choice(t: Translation, addr: int, p: WalkParams) -> int:
    """QEMU keeps desc[49:48] but ignores desc[9:8] when the output size is at most 48 bits
    (choice high_oa_bits=ignore; the architecture gives an Address size fault)."""
    if p.oa_bits > 48 or not addr >> 48:
        return addr
    if t.notes.choices.high_oa_bits != "ignore" or p.desc_variant != "DS1":
        return addr
    if addr >> 50:
        t.notes.use_choice("high_oa_bits")
        t.notes.warn("high-oa-ignored", "desc[9:8] (OA[51:50]) ignored: output size <= 48")
        return addr & ((1 << 50) - 1)
    return addr


def _oa_out_of_range(rule: FaultRule, p: WalkParams, address: int, **values: Any) -> FaultSite:
    return rule.site(
        address=address,
        oa_bits=p.oa_bits,
        ps_field=p.ps_field,
        ps=p.ps_raw,
        variant=p.desc_variant,
        **values,
    )


def table_step(
    t: Translation, state: WalkState, read: LevelRead, p: WalkParams
) -> FaultSite | None:
    """A table descriptor: the next-level table's address (within the output size) and, at
    stage 1, the hierarchical attributes (APTable, PXNTable, UXNTable; ignored with HPD).
    The walk state moves to the next level."""
    raw = read.raw or 0
    level = state.level
    lay = descriptor_layout(p.stage, "table", p.desc_variant)
    read.layout = lay.name
    read.fields = lay.rows(raw)
    t.notes.check_res0(lay, raw, f"Level {level} table descriptor bits ")
    nxt, spans = decode_address(raw, lay, p.desc_variant, p.granule_bits, level)
    nxt = _high_oa_choice(t, nxt, p)
    read.next_address = nxt
    read.address_sources = spans
    if p.stage == 1:
        applied = not p.hpd
        read.attributes = {
            "APTable": lay.get(raw, "APTable"),
            "PXNTable": lay.get(raw, "PXNTable"),
            "UXNTable" if p.regime in TWO_RANGE_REGIMES else "XNTable": lay.get(raw, "UXNTable"),
            "NSTable": lay.get(raw, "NSTable"),
            "applied": applied,
        }
        if not applied and any(lay.get(raw, n) for n in ("APTable", "PXNTable", "UXNTable")):
            t.notes.warn(
                "hpd",
                f"HPD=1: APTable/XNTable of the level {level} table descriptor are ignored.",
            )
        if applied:
            state.ap_table |= lay.get(raw, "APTable")
            state.pxn_table |= lay.get(raw, "PXNTable")
            state.uxn_table |= lay.get(raw, "UXNTable")
    if nxt >> p.oa_bits:
        return _oa_out_of_range(rules.TABLE_OA_OUT_OF_RANGE, p, nxt)
    state.table_base = nxt
    state.origin = f"level {level} table descriptor"
    state.level = level + 1
    return None


def leaf_step(
    t: Translation, state: WalkState, read: LevelRead, p: WalkParams, sw: StageWalk
) -> FaultSite | None:
    """A block or page descriptor: its output address (within the output size) and the
    Access flag (AF=0 faults unless the CPU sets it: HA=1)."""
    raw = read.raw or 0
    level = state.level
    lay = descriptor_layout(p.stage, read.kind, p.desc_variant)
    read.layout = lay.name
    read.fields = lay.rows(raw)
    t.notes.check_res0(lay, raw, f"Level {level} {read.kind} descriptor bits ")
    size_bits = geo.block_size_bits(level, p.granule_kb)
    oa_base, spans = decode_address(raw, lay, p.desc_variant, size_bits, level)
    oa_base = _high_oa_choice(t, oa_base, p)
    main = lay.field("OA")
    if lay.get_in_place(raw, "OA") & ((1 << size_bits) - 1):
        t.notes.warn(
            "res0",
            f"Level {level} {read.kind} descriptor bits {bit_range(size_bits - 1, main.lo)} are "
            "below the block size and are RES0/ignored.",
        )
    read.output_address = oa_base
    read.address_sources = spans
    sw.leaf_level = level
    if lay.get(raw, "Contiguous") and geo.contiguous_ignored(level, p.granule_kb):
        t.notes.warn(
            "contiguous-ignored",
            f"Contiguous bit ignored: a {p.granule_kb}KB level {level} block cannot be "
            "part of a contiguous run.",
        )
    if oa_base >> p.oa_bits:
        return _oa_out_of_range(rules.LEAF_OA_OUT_OF_RANGE, p, oa_base, kind=read.kind)
    if not lay.get(raw, "AF"):
        if not p.ha:
            return rules.AF_ZERO.site(kind=read.kind, tcr=p.tcr_name)
        t.notes.warn("af-hw", "AF=0 with hardware AF update: the CPU sets AF, no fault.")
    sw.output_address = oa_base | (p.input_address & ((1 << size_bits) - 1))
    ia = BitSource(size_bits - 1, 0, "ia", size_bits - 1, 0, level, p.stage)
    sw.oa_sources = spans + [ia]
    return None


def permission_step(
    t: Translation,
    state: WalkState,
    read: LevelRead,
    p: WalkParams,
    sw: StageWalk,
    access: Access,
) -> FaultSite | None:
    """The leaf's attributes and permissions, and whether they allow ``access``."""
    raw = read.raw or 0
    lay = descriptor_layout(p.stage, read.kind, p.desc_variant)
    level = state.level
    contiguous = bool(lay.get(raw, "Contiguous")) and not geo.contiguous_ignored(
        level, p.granule_kb
    )
    size = 1 << geo.block_size_bits(level, p.granule_kb)
    if p.stage == 1:
        el10 = p.regime in EL10_REGIMES
        mair = "MAIR_EL1" if el10 else "MAIR_EL2"
        sctlr = "SCTLR_EL1" if el10 else "SCTLR_EL2"
        index = lay.get(raw, "AttrIndx")
        if p.ds:
            sh, origin = p.sh, f"{p.tcr_name}.SH{p.range_select} (DS=1)"
        else:
            sh, origin = lay.get(raw, "SH"), "descriptor SH[9:8]"
        sw.attrs = Stage1Attributes(
            attr=MAIR.get(t.register(mair), f"Attr{index}"),
            sh=sh,
            sh_origin=origin,
            stage=1,
            leaf_level=level,
            leaf_kind=read.kind,
            block_size=size,
            af=lay.get(raw, "AF"),
            contiguous=contiguous,
            dbm=lay.get(raw, "DBM"),
            attr_index=index,
            mair=mair,
            ng=lay.get(raw, "nG"),
            gp=lay.get(raw, "GP"),
        )
        hierarchical = (state.ap_table, state.pxn_table, state.uxn_table)
        wxn = bool(SCTLR.get(t.register(sctlr), "WXN"))
        perms = stage1_permissions(p.regime, lay, raw, hierarchical, wxn, sctlr, t.notes.warn)
        read_only_by_table = bool(state.ap_table & 2)
    else:
        memattr = lay.get(raw, "MemAttr")
        if p.ds:
            sh, origin = p.sh, "VTCR_EL2.SH0 (DS=1)"
        else:
            sh, origin = lay.get(raw, "SH"), "descriptor SH[9:8]"
        sw.attrs = Stage2Attributes(
            attr=s2_memattr_to_attr(memattr),
            sh=sh,
            sh_origin=origin,
            stage=2,
            leaf_level=level,
            leaf_kind=read.kind,
            block_size=size,
            af=lay.get(raw, "AF"),
            contiguous=contiguous,
            dbm=lay.get(raw, "DBM"),
            memattr=memattr,
        )
        perms = stage2_permissions(lay, raw, t.cpu.has_xnx)
        read_only_by_table = False
    sw.perms = perms
    dbm = p.ha and p.hd and bool(lay.get(raw, "DBM"))
    el = denied_by(perms, access, dbm, read_only_by_table, t.notes.warn)
    if el is None:
        return None
    return rules.PERMISSION.site(el=el, access=access.kind, permissions=perms)


# -- one stage, start to end -------------------------------------------------------------------


def walk_stage(
    t: Translation,
    p: WalkParams,
    access: Access,
    via_s2: bool,
    s1ptw: bool = False,
    setup: FaultSite | None = None,
) -> StageWalk:
    """Walk one stage for ``p.input_address``: the steps above in order, until the leaf or
    the first fault. ``setup``: a fault the set-up checks found (the walk reads nothing).
    ``s1ptw``: this is a stage-2 walk of a stage-1 table address."""
    sw = StageWalk(stage=p.stage, params=p)
    if setup is None:
        state, site = start(p)
    else:
        state, site = WalkState(p.start_level, p.table_base, p.table_base_origin), setup
    while site is None:
        read, nested_fault = fetch(t, state, p, via_s2)
        sw.levels.append(read)
        if nested_fault is not None:
            # The stage-2 walk of this table address faulted: that is this walk's fault.
            sw.fault = nested_fault
            return sw
        site = descriptor_type(read, p, t.cpu)
        if site is not None:
            break
        if read.kind == "table":
            site = table_step(t, state, read, p)
            continue
        site = leaf_step(t, state, read, p, sw)
        if site is None:
            site = permission_step(t, state, read, p, sw, access)
        break
    if site is not None:
        sw.fault = _exit(site, state.level, p, access, s1ptw)
    return sw


def _exit(site: FaultSite, level: int, p: WalkParams, access: Access, s1ptw: bool) -> Fault:
    """The one exit of a failing stage walk: level and stage filled in, and what an exception
    would report: S1PTW, WnR (a write; never for a stage-1 table read) and, for stage 2, the
    IPA whose translation faulted."""
    fault = raise_fault(site, level, p.stage)
    return dataclasses.replace(
        fault,
        s1ptw=s1ptw,
        wnr=access.write and not s1ptw,
        ipa=p.input_address if p.stage == 2 else None,
    )
