"""Walk plans: everything one stage's walk needs that depends only on the registers, derived
once per register set and kept in a bounded cache keyed by exactly what it depends on.

A plan holds the stage's parameters (``params.derive_stage1`` / ``derive_stage2``), what
deriving them noticed (warnings, choices used: replayed into every walk that uses the plan),
the set-up problems that do not depend on the input address, and per level the shifts and
masks of the input-address index and of every descriptor field the walk reads. The masks are
compiled from the field tables of ``model.arch.fields`` (``Layout.shift_mask``), never
written beside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from . import fault_rules as rules
from . import geometry as geo
from .cpu import CPU, Choices
from .descriptors import AddressPlan, address_plan
from .faults import FaultSite
from .fields import SCTLR, Layout, descriptor_layout
from .notes import Notes, WalkWarning
from .params import Stage1Setup, Stage2Setup, WalkParams, derive_stage1, derive_stage2
from .regime import EL10_REGIMES, TWO_RANGE_REGIMES, Regime

_WXN_SHIFT, _ = SCTLR.shift_mask("WXN")


def _field(layout: Layout, name: str) -> tuple[int, int]:
    """(shift, mask) of a field, or (0, 0) where the format has no such field (then it
    reads as 0)."""
    return layout.shift_mask(name) if name in layout else (0, 0)


@dataclass(frozen=True, eq=False)
class LeafPlan:
    """A block or page descriptor at one level: its format, the size it maps, where its
    output address is, and where the fields the leaf checks read are."""

    kind: str  # "block" | "page"
    layout: Layout
    size_bits: int
    address: AddressPlan
    res0: int  # RES0 bits of the format
    stray: int  # output-address bits below the block size (RES0, ignored)
    contiguous_ignored: bool  # the levels LPA/LPA2 added take no contiguous hint
    af: tuple[int, int]
    contiguous: tuple[int, int]
    dbm: tuple[int, int]
    sh: tuple[int, int]  # (0, 0) with DS=1: bits [9:8] are output address
    # stage 1
    attr_index: tuple[int, int]
    ap: tuple[int, int]
    pxn: tuple[int, int]
    uxn: tuple[int, int]
    ng: tuple[int, int]
    gp: tuple[int, int]
    # stage 2
    memattr: tuple[int, int]
    s2ap: tuple[int, int]
    xn: tuple[int, int]
    xnx: tuple[int, int]


@dataclass(frozen=True, eq=False)
class LevelPlan:
    """One level of the walk: which input-address bits index its table, how a table
    descriptor there leads on, and the leaf a block (or page) there is."""

    level: int
    hi: int
    lo: int
    mask: int  # (input >> lo) & mask is the index
    table: AddressPlan | None  # None at level 3
    table_res0: int
    leaf: LeafPlan | None  # None where this level holds no block


@dataclass(frozen=True, eq=False)
class HierarchicalPlan:
    """Where a stage-1 table descriptor keeps APTable, PXNTable and UXNTable (and NSTable)."""

    ap_table: tuple[int, int]
    pxn_table: tuple[int, int]
    uxn_table: tuple[int, int]
    ns_table: tuple[int, int]
    mask: int  # APTable, PXNTable and UXNTable in place: a descriptor with none set adds none
    applied: bool  # False with HPD=1: the bits are ignored
    uxn_name: str  # "UXNTable" in a two-range regime, else "XNTable"


@dataclass(frozen=True, eq=False)
class StagePlan:
    """One stage's walk, planned from its registers (see the module docstring)."""

    stage: int
    template: WalkParams  # the parameters, with input address 0
    setup: Stage1Setup | Stage2Setup
    warnings: tuple[WalkWarning, ...]
    choices_used: tuple[tuple[str, str], ...]
    start_problem: FaultSite | None  # the start table is above the output size
    levels: tuple[LevelPlan, ...]  # from the start level down to level 3
    table_layout: Layout  # the format of this stage's table descriptors
    hierarchical: HierarchicalPlan | None  # stage 1 only
    sh_origin: str  # where the output shareability comes from
    mair: str  # stage 1: the MAIR its AttrIndx selects from
    sctlr: str  # stage 1: the SCTLR whose WXN applies
    high_oa_ignored: bool  # choice high_oa_bits=ignore applies (desc[9:8] with PS <= 48)

    @property
    def start_level(self) -> int:
        return self.template.start_level

    def level(self, level: int) -> LevelPlan:
        return self.levels[level - self.template.start_level]

    def replay(self, notes: Notes) -> None:
        """Tell a walk what deriving this plan noticed."""
        for w in self.warnings:
            notes.warn(w.code, w.message)
        notes.choices_used.update(self.choices_used)


def wxn(sctlr: int) -> bool:
    return bool((sctlr >> _WXN_SHIFT) & 1)


# -- compiling --------------------------------------------------------------------------------


def _leaf_plan(p: WalkParams, level: int, kind: str) -> LeafPlan:
    layout = descriptor_layout(p.stage, kind, p.desc_variant)
    size_bits = geo.block_size_bits(level, p.granule_kb)
    oa_shift, oa_mask = layout.shift_mask("OA")
    return LeafPlan(
        kind=kind,
        layout=layout,
        size_bits=size_bits,
        address=address_plan(layout, p.desc_variant, size_bits, level),
        res0=layout.res0_mask,
        stray=(oa_mask << oa_shift) & ((1 << size_bits) - 1),
        contiguous_ignored=geo.contiguous_ignored(level, p.granule_kb),
        af=_field(layout, "AF"),
        contiguous=_field(layout, "Contiguous"),
        dbm=_field(layout, "DBM"),
        sh=_field(layout, "SH"),
        attr_index=_field(layout, "AttrIndx"),
        ap=_field(layout, "AP"),
        pxn=_field(layout, "PXN"),
        uxn=_field(layout, "UXN"),
        ng=_field(layout, "nG"),
        gp=_field(layout, "GP"),
        memattr=_field(layout, "MemAttr"),
        s2ap=_field(layout, "S2AP"),
        xn=_field(layout, "XN"),
        xnx=_field(layout, "XNX"),
    )


def _level_plans(p: WalkParams, pamax: int) -> tuple[LevelPlan, ...]:
    table = descriptor_layout(p.stage, "table", p.desc_variant)
    out = []
    for level, hi, lo in p.indexes:
        leaf = None
        if level == geo.FINAL_LEVEL:
            leaf = _leaf_plan(p, level, "page")
        elif geo.block_allowed(level, p.granule_kb, p.ds, pamax):
            leaf = _leaf_plan(p, level, "block")
        out.append(
            LevelPlan(
                level=level,
                hi=hi,
                lo=lo,
                mask=(1 << (hi - lo + 1)) - 1,
                table=None
                if level == geo.FINAL_LEVEL
                else address_plan(table, p.desc_variant, p.granule_bits, level),
                table_res0=table.res0_mask,
                leaf=leaf,
            )
        )
    return tuple(out)


def _start_problem(p: WalkParams) -> FaultSite | None:
    """The start table must lie within the output size (else an Address size fault, reported
    at level 0 whatever the start level)."""
    if not p.table_base >> p.oa_bits:
        return None
    return rules.TTBR_OA_OUT_OF_RANGE.site(
        level=0,
        address=p.table_base,
        ttbr=p.ttbr_name,
        oa_bits=p.oa_bits,
        ps_field=p.ps_field,
        ps=p.ps_raw,
    )


def _plan(p: WalkParams, setup: Stage1Setup | Stage2Setup, notes: Notes, cpu: CPU) -> StagePlan:
    hierarchical = None
    if p.stage == 1:
        table = descriptor_layout(1, "table", p.desc_variant)
        hierarchical = HierarchicalPlan(
            ap_table=table.shift_mask("APTable"),
            pxn_table=table.shift_mask("PXNTable"),
            uxn_table=table.shift_mask("UXNTable"),
            ns_table=table.shift_mask("NSTable"),
            mask=sum(table.field(n).mask for n in ("APTable", "PXNTable", "UXNTable")),
            applied=not p.hpd,
            uxn_name="UXNTable" if p.regime in TWO_RANGE_REGIMES else "XNTable",
        )
        el10 = p.regime in EL10_REGIMES
        sh_origin = f"{p.tcr_name}.SH{p.range_select} (DS=1)"
        mair, sctlr = ("MAIR_EL1", "SCTLR_EL1") if el10 else ("MAIR_EL2", "SCTLR_EL2")
    else:
        sh_origin = "VTCR_EL2.SH0 (DS=1)"
        mair = sctlr = ""
    return StagePlan(
        stage=p.stage,
        template=p,
        setup=setup,
        warnings=tuple(notes.warnings),
        choices_used=tuple(notes.choices_used.items()),
        start_problem=_start_problem(p),
        levels=_level_plans(p, cpu.pamax),
        table_layout=descriptor_layout(p.stage, "table", p.desc_variant),
        hierarchical=hierarchical,
        sh_origin=sh_origin if p.ds else "descriptor SH[9:8]",
        mair=mair,
        sctlr=sctlr,
        high_oa_ignored=(
            notes.choices.high_oa_bits == "ignore" and p.oa_bits <= 48 and p.desc_variant == "DS1"
        ),
    )


# -- the caches -------------------------------------------------------------------------------

# The registers each stage-1 plan reads: (TCR, TTBR) by regime and VA range.
_STAGE1_REGISTERS = {
    (Regime.EL10.value, 0): ("TCR_EL1", "TTBR0_EL1"),
    (Regime.EL10.value, 1): ("TCR_EL1", "TTBR1_EL1"),
    (Regime.EL10_S12.value, 0): ("TCR_EL1", "TTBR0_EL1"),
    (Regime.EL10_S12.value, 1): ("TCR_EL1", "TTBR1_EL1"),
    (Regime.EL20.value, 0): ("TCR_EL2", "TTBR0_EL2"),
    (Regime.EL20.value, 1): ("TCR_EL2", "TTBR1_EL2"),
    (Regime.EL2.value, 0): ("TCR_EL2", "TTBR0_EL2"),
}

PLAN_CACHE_SIZE = 512


def stage1_registers(regime: str, upper: int) -> tuple[str, str]:
    """The two registers a stage-1 plan of ``regime`` reads for VA range ``upper``."""
    return _STAGE1_REGISTERS[(regime, upper)]


@lru_cache(maxsize=PLAN_CACHE_SIZE)
def stage1_plan(
    regime: str, upper: int, tcr: int, ttbr: int, cpu: CPU, choices: Choices
) -> StagePlan:
    """The stage-1 plan of ``regime`` for VA range ``upper`` (VA[55] in a two-range regime)
    with these TCR and TTBR values."""
    tcr_name, ttbr_name = _STAGE1_REGISTERS[(regime, upper)]
    notes = Notes(choices)
    params, setup = derive_stage1(regime, {tcr_name: tcr, ttbr_name: ttbr}, upper, cpu, notes)
    return _plan(params, setup, notes, cpu)


@lru_cache(maxsize=PLAN_CACHE_SIZE)
def stage2_plan(vtcr: int, vttbr: int, cpu: CPU, choices: Choices) -> StagePlan:
    """The stage-2 plan for these VTCR_EL2 and VTTBR_EL2 values."""
    notes = Notes(choices)
    params, setup = derive_stage2({"VTCR_EL2": vtcr, "VTTBR_EL2": vttbr}, cpu, notes)
    return _plan(params, setup, notes, cpu)


def clear_plans() -> None:
    """Forget every plan (for code that changes the rules plans are compiled from, such as a
    test modelling another implementation)."""
    stage1_plan.cache_clear()
    stage2_plan.cache_clear()
