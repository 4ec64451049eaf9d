"""One stage's table walk as named steps (AArch64.S1Walk / S2Walk and the leaf checks of
S1Translate / S2Translate), over the stage's plan (``model.arch.plans``):

1. ``fetch``: the descriptor's address from the table base and the input address's index
   bits, translated through stage 2 first when stage-1 tables live in IPA space, then read;
2. ``descriptor_type``: invalid, table, block (where blocks are allowed) or page;
3. ``table_step``: the next table's address, hierarchical attributes, address size; the walk
   state moves one level down and goes back to 1;
4. ``leaf_step``: the output address, its size, the Access flag;
5. ``permission_step``: memory type, shareability, permissions and the check of the access.

Before the loop, the set-up checks (``checks``) and the start table's address (in the plan)
may already have failed. A step that fails returns the ``FaultSite`` of the rule it broke;
``walk_stage`` raises the fault at its one exit, where the level and the stage are filled in.

6. ``update_step`` (``model.arch.updates``): with HA=1, the hardware update of the Access
   flag and dirty state (FEAT_HAFDBS), whose write of a stage-1 descriptor goes through stage 2.

A stage-2 walk of a stage-1 table address (S1PTW) also checks HCR_EL2.PTW after its
permission step: stage-1 tables in stage-2 Device memory are a stage-2 Permission fault.

A step records what decides the outcome and nothing more; what explains it is built from the
records when asked (``model.arch.result``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import fault_rules as rules
from .attrs import S2_FWB_BYTES, S2_MEMATTR_BYTES
from .cpu import CPU
from .faults import Fault, FaultRule, FaultSite, raise_fault
from .fields import MAIR, MASK64
from .memory import ExternalAbort, Memory
from .notes import Notes, bit_range
from .permissions import denied_by, stage1_permissions, stage2_permissions
from .plans import LevelPlan, StagePlan, wxn
from .regime import Access, Regime
from .result import DESC_ADDRESS, KIND, RAW, TARGET, StageWalk
from .updates import update_step

_TABLE_READ = Access(1, "read")  # stage-2 walks of stage-1 table addresses are EL1 reads
_MAIR_SHIFTS = tuple(MAIR.shift_mask(f"Attr{i}")[0] for i in range(8))


class Translation:
    """What every stage walk of one translation shares: the registers, the memory, the CPU,
    what the walk notices, the count of descriptors read, and how to walk stage 2 (for the
    stage-2 walks of stage-1 table addresses). ``at``: the access is an AT instruction's;
    ``fwb``, ``cd``, ``ptw``: HCR_EL2.FWB, CD and PTW as they apply to this translation."""

    __slots__ = (
        "regs",
        "memory",
        "words",
        "cpu",
        "notes",
        "stage2",
        "reads",
        "at",
        "fwb",
        "cd",
        "ptw",
    )

    def __init__(self, regs: Mapping[str, int], memory: Memory, cpu: CPU, notes: Notes) -> None:
        self.regs = regs
        self.memory = memory
        self.words = memory.plain_words()
        self.cpu = cpu
        self.notes = notes
        self.stage2: Callable[[int, Access, bool], StageWalk] | None = None
        self.reads = 0
        self.at = False
        self.fwb = self.cd = self.ptw = False

    def register(self, name: str) -> int:
        return int(self.regs.get(name, 0)) & MASK64


class WalkState:
    """Where a stage walk is: the level, the table it reads there, and the hierarchical
    permissions (APTable, PXNTable, UXNTable) gathered from the tables above."""

    __slots__ = ("level", "table_base", "ap_table", "pxn_table", "uxn_table")

    def __init__(self, level: int, table_base: int) -> None:
        self.level = level
        self.table_base = table_base
        self.ap_table = 0
        self.pxn_table = 0
        self.uxn_table = 0


# -- the steps --------------------------------------------------------------------------------


def fetch(
    t: Translation, sw: StageWalk, state: WalkState, lp: LevelPlan, via_s2: bool
) -> tuple[list[Any], Fault | None]:
    """Read the descriptor the input address selects in the current table. Under stage 2 the
    descriptor's address is an IPA, translated first; a fault there is returned instead."""
    index = (sw.input_address >> lp.lo) & lp.mask
    address = state.table_base | (index << 3)
    ipa = nested = None
    if via_s2:
        assert t.stage2 is not None
        ipa = address
        nested = t.stage2(address, _TABLE_READ, True)
        if nested.fault is not None:
            record: list[Any] = [state.level, state.table_base, index, None, ipa, nested]
            record += [None, None, "not-read", None]
            sw.records.append(record)
            return record, nested.fault
        address = nested.output_address or 0
    words = t.words
    if words is not None:
        stored = words.get(address & ~7)
        raw, source = (0, "empty") if stored is None else (stored & MASK64, "set")
    else:
        try:
            raw, source = t.memory.read_descriptor(address)
        except ExternalAbort:  # nothing there: the record has no value (see walk_stage)
            raw, source = None, None
        else:
            raw &= MASK64
    t.reads += 1
    record = [state.level, state.table_base, index, address, ipa, nested, raw, source, "", None]
    sw.records.append(record)
    return record, None


def descriptor_type(raw: int, lp: LevelPlan) -> str:
    """Bits [1:0]: invalid (bit 0 clear), table or page (0b11), block (0b01 where blocks are
    allowed: AArch64.BlockDescSupported), or the reserved 0b01 at level 3."""
    if not raw & 1:
        return "invalid"
    if raw & 2:
        return "table" if lp.table is not None else "page"
    if lp.table is None:
        return "reserved"
    return "block" if lp.leaf is not None else "block-not-allowed"


def descriptor_fault(kind: str, record: list[Any], plan: StagePlan) -> FaultSite:
    """The fault of a descriptor the walk cannot use."""
    if kind == "invalid":
        return rules.INVALID_DESCRIPTOR.site(address=record[DESC_ADDRESS])
    if kind == "reserved":
        return rules.RESERVED_L3.site()
    return rules.BLOCK_LEVEL_UNSUPPORTED.site(granule=plan.template.granule_kb)


def _high_oa_ignored(t: Translation, address: int) -> int:
    """QEMU keeps desc[49:48] but ignores desc[9:8] when the output size is at most 48 bits
    (choice high_oa_bits=ignore; the architecture gives an Address size fault)."""
    if not address >> 50:
        return address
    t.notes.use_choice("high_oa_bits")
    t.notes.warn("high-oa-ignored", "desc[9:8] (OA[51:50]) ignored: output size <= 48")
    return address & ((1 << 50) - 1)


def _oa_out_of_range(rule: FaultRule, plan: StagePlan, address: int, **values: Any) -> FaultSite:
    p = plan.template
    return rule.site(
        address=address,
        oa_bits=p.oa_bits,
        ps_field=p.ps_field,
        ps=p.ps_raw,
        variant=p.desc_variant,
        **values,
    )


def table_step(
    t: Translation, state: WalkState, record: list[Any], lp: LevelPlan, plan: StagePlan
) -> FaultSite | None:
    """A table descriptor: the next-level table's address (within the output size) and, at
    stage 1, the hierarchical attributes (ignored with HPD). The walk state moves down."""
    raw = record[RAW]
    level = state.level
    if raw & lp.table_res0:
        t.notes.check_res0(plan.table_layout, raw, f"Level {level} table descriptor bits ")
    a = lp.table
    assert a is not None
    nxt = (raw & a.mask) | (((raw >> a.high_shift) & a.high_mask) << a.high_dest)
    if plan.high_oa_ignored:
        nxt = _high_oa_ignored(t, nxt)
    record[TARGET] = nxt
    h = plan.hierarchical
    if h is not None and raw & h.mask:
        ap = (raw >> h.ap_table[0]) & h.ap_table[1]
        pxn = (raw >> h.pxn_table[0]) & h.pxn_table[1]
        uxn = (raw >> h.uxn_table[0]) & h.uxn_table[1]
        if h.applied:
            state.ap_table |= ap
            state.pxn_table |= pxn
            state.uxn_table |= uxn
        elif ap or pxn or uxn:
            t.notes.warn(
                "hpd",
                f"HPD=1: APTable/XNTable of the level {level} table descriptor are ignored.",
            )
    if nxt >> plan.template.oa_bits:
        return _oa_out_of_range(rules.TABLE_OA_OUT_OF_RANGE, plan, nxt)
    state.table_base = nxt
    state.level = level + 1
    return None


def leaf_step(
    t: Translation, sw: StageWalk, record: list[Any], lp: LevelPlan, plan: StagePlan
) -> FaultSite | None:
    """A block or page descriptor: its output address (within the output size) and the
    Access flag (AF=0 faults unless the walk sets it: HA=1, see ``update_step``)."""
    raw = record[RAW]
    leaf = lp.leaf
    assert leaf is not None
    level, kind = lp.level, record[KIND]
    if raw & leaf.res0:
        t.notes.check_res0(leaf.layout, raw, f"Level {level} {kind} descriptor bits ")
    oa = leaf.address.address(raw)
    if plan.high_oa_ignored:
        oa = _high_oa_ignored(t, oa)
    if raw & leaf.stray:
        lo = leaf.layout.field("OA").lo
        t.notes.warn(
            "res0",
            f"Level {level} {kind} descriptor bits {bit_range(leaf.size_bits - 1, lo)} are "
            "below the block size and are RES0/ignored.",
        )
    record[TARGET] = oa
    p = plan.template
    if leaf.contiguous_ignored and (raw >> leaf.contiguous[0]) & leaf.contiguous[1]:
        t.notes.warn(
            "contiguous-ignored",
            f"Contiguous bit ignored: a {p.granule_kb}KB level {level} block cannot be "
            "part of a contiguous run.",
        )
    if oa >> p.oa_bits:
        return _oa_out_of_range(rules.LEAF_OA_OUT_OF_RANGE, plan, oa, kind=kind)
    if not (raw >> leaf.af[0]) & leaf.af[1] and not p.ha:
        return rules.AF_ZERO.site(kind=kind, tcr=p.tcr_name)
    sw.output_address = oa | (sw.input_address & ((1 << leaf.size_bits) - 1))
    return None


def permission_step(
    t: Translation,
    sw: StageWalk,
    state: WalkState,
    record: list[Any],
    lp: LevelPlan,
    plan: StagePlan,
    access: Access,
) -> FaultSite | None:
    """The leaf's memory type, shareability and permissions, and whether they allow
    ``access``."""
    raw = record[RAW]
    leaf = lp.leaf
    assert leaf is not None
    p = plan.template
    # DS=1: descriptor bits [9:8] are OA[51:50]; the TCR's SH field gives the shareability.
    sh = p.sh if p.ds else (raw >> leaf.sh[0]) & leaf.sh[1]
    if plan.stage == 1:
        index = (raw >> leaf.attr_index[0]) & leaf.attr_index[1]
        sw.attr = (t.register(plan.mair) >> _MAIR_SHIFTS[index]) & 0xFF
        pxn = (raw >> leaf.pxn[0]) & leaf.pxn[1]
        if pxn and p.regime == Regime.EL2.value:
            t.notes.warn("res0", "PXN (bit 53) is RES0 in the EL2 single-range regime.")
        perms = stage1_permissions(
            p.regime,
            (raw >> leaf.ap[0]) & leaf.ap[1],
            pxn,
            (raw >> leaf.uxn[0]) & leaf.uxn[1],
            (state.ap_table, state.pxn_table, state.uxn_table),
            wxn(t.register(plan.sctlr)),
            plan.sctlr,
        )
        read_only_by_table = bool(state.ap_table & 2)
    else:
        # HCR_EL2.FWB decides how MemAttr reads (AArch64.S2ApplyFWBMemAttrs).
        memattr = (raw >> leaf.memattr[0]) & leaf.memattr[1]
        sw.attr = (S2_FWB_BYTES if t.fwb else S2_MEMATTR_BYTES)[memattr]
        sw.memattr = memattr
        sw.fwb_cd = (t.fwb, t.cd)
        xnx = (raw >> leaf.xnx[0]) & leaf.xnx[1] if t.cpu.has_xnx else 0
        perms = stage2_permissions(
            (raw >> leaf.s2ap[0]) & leaf.s2ap[1], (raw >> leaf.xn[0]) & leaf.xn[1], xnx
        )
        read_only_by_table = False
    sw.sh = sh
    sw.leaf = record
    sw.permissions = perms
    dbm = p.ha and p.hd and bool((raw >> leaf.dbm[0]) & leaf.dbm[1])
    el = denied_by(perms, access, dbm, read_only_by_table, t.notes.warn)
    if el is None:
        return None
    return rules.PERMISSION.site(el=el, access=access.kind, permissions=perms)


# -- one stage, start to end -------------------------------------------------------------------


def walk_stage(
    t: Translation,
    plan: StagePlan,
    input_address: int,
    access: Access,
    via_s2: bool,
    s1ptw: bool = False,
    setup: FaultSite | None = None,
) -> StageWalk:
    """Walk one stage for ``input_address``: the steps above in order, until the leaf or the
    first fault. ``setup``: a fault the set-up checks found (the walk reads nothing).
    ``s1ptw``: this is a stage-2 walk of a stage-1 table address."""
    sw = StageWalk(plan, input_address)
    state = WalkState(plan.template.start_level, plan.template.table_base)
    site = setup if setup is not None else plan.start_problem
    levels, start = plan.levels, plan.template.start_level
    while site is None:
        lp = levels[state.level - start]
        record, nested_fault = fetch(t, sw, state, lp, via_s2)
        if nested_fault is not None:
            # The stage-2 walk of this table address faulted: that is this walk's fault.
            sw.fault = nested_fault
            return sw
        if record[RAW] is None:
            # The read took a synchronous External abort: the fault of this level (S1PTW=1
            # when this is the stage-2 walk of a stage-1 table address).
            record[KIND] = "external-abort"
            site = rules.SEA_WALK.site(address=record[DESC_ADDRESS])
            break
        kind = record[KIND] = descriptor_type(record[RAW], lp)
        if kind == "table":
            site = table_step(t, state, record, lp, plan)
            continue
        if kind == "block" or kind == "page":
            site = leaf_step(t, sw, record, lp, plan)
            if site is None:
                site = permission_step(t, sw, state, record, lp, plan, access)
            if site is None and (s1ptw or plan.template.ha):
                if s1ptw and t.ptw and not sw.attr & 0xF0:
                    # HCR_EL2.PTW=1: a stage-1 walk's access to stage-2 Device memory.
                    site = rules.PTW_DEVICE.site()
                elif plan.template.ha:
                    fault = update_step(t, sw, record, lp, plan, access, s1ptw)
                    if fault is not None:
                        sw.fault = fault
                        return sw
            break
        site = descriptor_fault(kind, record, plan)
    if site is not None:
        # The one exit of a failing stage walk: the level of the step that failed (unless the
        # site reports its own) and the stage, and what an exception would report: S1PTW, WnR
        # (a write; never for a stage-1 table read), for stage 2 the IPA that faulted.
        sw.fault = raise_fault(
            site,
            state.level,
            plan.stage,
            s1ptw=s1ptw,
            wnr=access.write and not s1ptw,
            ipa=input_address if plan.stage == 2 else None,
        )
    return sw
