"""The translation of one address: which stages run and in what order (AArch64.S1Translate,
AArch64.S2Translate, AArch64.FullTranslate), built from the steps of ``tablewalk``.

For each stage: derive the parameters from the registers (``params``), check them against the
input address and the access (``checks``), walk the tables (``tablewalk``). Stage 1 of EL1&0
reads its tables through stage 2 when stage 2 is on; two stages translate stage 1's output
through stage 2 and combine attributes and permissions. PAR_EL1 is built at the end
(``syndromes``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .attrs import combine_attrs, combine_sh, two_stage_attr
from .checks import check_stage1, check_stage2
from .cpu import CPU, CPU_PRESETS, Choices
from .fields import HCR_EL2, MASK64, SCTLR
from .memory import as_memory
from .notes import Notes, WalkWarning
from .params import WalkParams
from .plans import StagePlan, stage1_plan, stage1_registers, stage2_plan
from .regime import EL10_REGIMES, TWO_RANGE_REGIMES, Access, Regime, coerce_access, regime_name
from .result import LevelRead, ReadRef, StageWalk, WalkResult
from .syndromes import par_fault, par_success
from .tablewalk import Translation, walk_stage

__all__ = [
    "Access",
    "LevelRead",
    "ReadRef",
    "Regime",
    "StageWalk",
    "WalkParams",
    "WalkResult",
    "WalkWarning",
    "walk",
]

_VM_SHIFT, _ = HCR_EL2.shift_mask("VM")
_DC_SHIFT, _ = HCR_EL2.shift_mask("DC")
_E2H_SHIFT, _ = HCR_EL2.shift_mask("E2H")
_TGE_SHIFT, _ = HCR_EL2.shift_mask("TGE")
_FWB_SHIFT, _ = HCR_EL2.shift_mask("FWB")
_CD_SHIFT, _ = HCR_EL2.shift_mask("CD")
_PTW_SHIFT, _ = HCR_EL2.shift_mask("PTW")
# HCR_EL2.{FWB, CD, PTW}: a walk with none of them set skips them entirely.
_STAGE2_CONTROLS = (1 << _FWB_SHIFT) | (1 << _CD_SHIFT) | (1 << _PTW_SHIFT)
_M_SHIFT, _ = SCTLR.shift_mask("M")
_MAX_CPU = CPU_PRESETS["max"]
_STAGE2 = Regime.STAGE2.value
_EL10_S12 = Regime.EL10_S12.value
_DEFAULT_CHOICES = Choices()

# Accesses a regime does not serve (D8.1, "translation regimes": EL1&0 serves EL1 and EL0,
# EL2 only EL2, EL2&0 EL2 and EL0 with TGE=1; stage 2 does not translate EL2's accesses). The
# walk still answers, checking the level the permission model falls back to; say which.
_ACCESS_OUTSIDE_REGIME = {
    (Regime.EL10.value, 2): "An access from EL2 does not use the EL1&0 regime: this walk is "
    "what AT S1E1R/W executed at EL2 gives, checked against EL1's permissions.",
    (_EL10_S12, 2): "An access from EL2 does not use the EL1&0 regime or stage 2: this walk is "
    "what AT S12E1R/W executed at EL2 gives, checked against EL1's permissions.",
    (Regime.EL2.value, 0): "Accesses from EL0 never use the EL2 regime (it serves EL2 alone): "
    "this walk checks EL2's permissions.",
    (Regime.EL2.value, 1): "Accesses from EL1 never use the EL2 regime (it serves EL2 alone): "
    "this walk checks EL2's permissions.",
    (Regime.EL20.value, 1): "Accesses from EL1 do not use the EL2&0 regime (EL2 and, with "
    "HCR_EL2.TGE=1, EL0 do): this walk checks EL2's permissions.",
    (_STAGE2, 2): "Accesses from EL2 are not translated by stage 2: this walk shows what an "
    "access from EL1 would get.",
}


def stage2_enabled(hcr: int) -> bool:
    """HCR_EL2.VM=1 or HCR_EL2.DC=1 (DC makes VM behave as 1: AArch64.GetS2TTWParams), unless
    {E2H, TGE} = {1, 1} (the EL2&0 host regime has no stage 2)."""
    on = ((hcr >> _VM_SHIFT) | (hcr >> _DC_SHIFT)) & 1
    return bool(on) and not ((hcr >> _E2H_SHIFT) & (hcr >> _TGE_SHIFT) & 1)


def apply_stage2_controls(t: Translation, hcr: int, stage2_walk: bool = False) -> None:
    """HCR_EL2.FWB, CD and PTW, which act on a translation only where stage 2 is on (or
    where stage 2 is what is walked: ``stage2_walk``)."""
    if stage2_walk or stage2_enabled(hcr):
        t.fwb = bool((hcr >> _FWB_SHIFT) & 1)
        t.cd = bool((hcr >> _CD_SHIFT) & 1)
        t.ptw = bool((hcr >> _PTW_SHIFT) & 1)


class _Stage2:
    """The stage-2 walks of one translation, all from one stage-2 plan."""

    __slots__ = ("t", "_plan")

    def __init__(self, t: Translation) -> None:
        self.t = t
        self._plan: StagePlan | None = None

    def plan(self) -> StagePlan:
        if self._plan is None:
            t = self.t
            vtcr, vttbr = t.register("VTCR_EL2"), t.register("VTTBR_EL2")
            self._plan = stage2_plan(vtcr, vttbr, t.cpu, t.notes.choices)
            self._plan.replay(t.notes)
        return self._plan

    def walk(self, ipa: int, access: Access, s1ptw: bool) -> StageWalk:
        plan = self.plan()
        site = check_stage2(plan.template, plan.setup, ipa)
        return walk_stage(self.t, plan, ipa, access, False, s1ptw, site)


def walk(
    regime: Regime | str,
    regs: Mapping[str, int],
    memory: Any,
    address: int,
    access: Access | str | None = None,
    cpu: CPU | None = None,
    choices: Choices | None = None,
    at: bool = False,
) -> WalkResult:
    """Walk the tables of ``regime`` for ``address`` and explain every step.

    For ``Regime.EL10`` stage-1 table reads go through stage 2 when HCR_EL2.VM=1 or DC=1 (and
    {E2H,TGE} != {1,1}); ``Regime.EL10_S12`` also translates the final IPA through stage 2.
    The regime's SCTLR.M and HCR_EL2.DC's disabling of stage 1 are not applied here (``at()``
    applies them); a warning notes them. ``at``: the access is an AT instruction's (it
    checks write permission but marks nothing dirty).
    """
    name = regime_name(regime)
    access = coerce_access(access)
    choices = choices or _DEFAULT_CHOICES
    notes = Notes(choices)
    t = Translation(regs, as_memory(memory), cpu or _MAX_CPU, notes)
    t.at = at
    stage2 = _Stage2(t)
    t.stage2 = stage2.walk
    address &= MASK64
    hcr = t.register("HCR_EL2")
    if hcr & _STAGE2_CONTROLS:
        apply_stage2_controls(t, hcr, name == _STAGE2)
    res = WalkResult(name, access, address)
    outside = None if at else _ACCESS_OUTSIDE_REGIME.get((name, access.el))
    if outside:
        notes.warn("access-regime", outside)
    res.tge = bool((hcr >> _TGE_SHIFT) & 1)
    if name == _STAGE2:
        main = stage2.walk(address, access, False)
    else:
        _stage1_warnings(name, t, hcr)
        s2_on = stage2_enabled(hcr)
        via_s2 = s2_on and name in EL10_REGIMES
        upper = (address >> 55) & 1 if name in TWO_RANGE_REGIMES else 0
        tcr, ttbr = stage1_registers(name, upper)
        plan = stage1_plan(name, upper, t.register(tcr), t.register(ttbr), t.cpu, choices)
        plan.replay(notes)
        if via_s2:
            res.stage2_plan = stage2.plan()
        site = check_stage1(plan.template, plan.setup, address, access, notes)
        main = walk_stage(t, plan, address, access, via_s2, setup=site)
        if main.fault is None and name == _EL10_S12 and s2_on:
            res.ipa = main.output_address
            res.s2_final = stage2.walk(main.output_address or 0, access, False)
    res.main = main
    _outcome(res, main, res.s2_final, t)
    res.warnings = notes.warnings
    res.choices_used = notes.choices_used
    res.descriptor_reads = t.reads
    return res


def _stage1_warnings(regime: str, t: Translation, hcr: int) -> None:
    notes = t.notes
    if regime in EL10_REGIMES:
        if not (t.register("SCTLR_EL1") >> _M_SHIFT) & 1:
            notes.warn("mmu-off", "SCTLR_EL1.M=0: real accesses would not be translated.")
        if (hcr >> _TGE_SHIFT) & 1 and not (hcr >> _E2H_SHIFT) & 1:
            notes.warn("tge", "HCR_EL2.TGE=1 (E2H=0): EL1&0 stage 1 is disabled for accesses.")
        elif (hcr >> _DC_SHIFT) & 1:
            notes.warn(
                "dc",
                "HCR_EL2.DC=1: EL1&0 stage 1 is disabled for accesses (flat, Normal "
                "Write-Back, Non-shareable); stage 2 is on as if VM=1.",
            )
    elif not (t.register("SCTLR_EL2") >> _M_SHIFT) & 1:
        notes.warn("mmu-off", "SCTLR_EL2.M=0: real accesses would not be translated.")
    if regime == _EL10_S12 and not stage2_enabled(hcr):
        notes.warn("s2-off", "Stage 2 is disabled (HCR_EL2.VM=0 or E2H=TGE=1): stage 1 only.")


def _outcome(res: WalkResult, main: StageWalk, final: StageWalk | None, t: Translation) -> None:
    """The translation's outcome from its stage walks: the main walk's fault, else the final
    stage 2's; otherwise the output address, and PAR_EL1 with the combined attributes."""
    fault = main.fault or (final.fault if final is not None else None)
    if fault is not None:
        res.fault = fault
        res.par = par_fault(fault)
        return
    if final is None:
        res.output_address = main.output_address
        attr, sh = main.attr, main.sh
    else:
        res.output_address = final.output_address
        if t.fwb or t.cd:
            attr = two_stage_attr(main.attr, final.memattr, t.fwb, t.cd)
        else:
            attr = combine_attrs(main.attr, final.attr)
        sh = combine_sh(main.sh, final.sh)
    assert res.output_address is not None
    # PAR_EL1.NS is UNKNOWN for these Non-secure regimes: a choice (recorded as used).
    notes = t.notes
    ns = notes.choices_used["par_ns"] = notes.choices.par_ns
    res.par = par_success(res.output_address, attr, sh, ns == "pa_space")
