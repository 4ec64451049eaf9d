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

from . import attrs as attrmod
from .checks import check_stage1, check_stage2
from .cpu import CPU, CPU_PRESETS, Choices
from .descriptors import compose_sources
from .fields import HCR_EL2, SCTLR
from .memory import as_memory
from .notes import Notes, WalkWarning
from .params import Stage2Setup, WalkParams, derive_stage1, derive_stage2
from .permissions import TwoStagePermissions
from .regime import EL10_REGIMES, TWO_RANGE_REGIMES, Access, Regime, coerce_access
from .result import LevelRead, ReadRef, StageWalk, WalkResult
from .syndromes import par_fault, par_success
from .tablewalk import Translation, walk_stage, with_input

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

MASK64 = (1 << 64) - 1


def stage2_enabled(hcr: int) -> bool:
    """HCR_EL2.VM=1, unless {E2H, TGE} = {1, 1} (the EL2&0 host regime has no stage 2)."""
    return bool(HCR_EL2.get(hcr, "VM")) and not (
        HCR_EL2.get(hcr, "E2H") and HCR_EL2.get(hcr, "TGE")
    )


class _Stage2:
    """The stage-2 walks of one translation, sharing one derivation of VTCR_EL2/VTTBR_EL2."""

    def __init__(self, t: Translation) -> None:
        self.t = t
        self.derived: tuple[WalkParams, Stage2Setup] | None = None

    def params(self) -> tuple[WalkParams, Stage2Setup]:
        if self.derived is None:
            self.derived = derive_stage2(self.t.regs, self.t.cpu, self.t.notes)
        return self.derived

    def walk(self, ipa: int, access: Access, s1ptw: bool) -> StageWalk:
        template, setup = self.params()
        p = with_input(template, ipa)
        return walk_stage(self.t, p, access, False, s1ptw, check_stage2(p, setup, ipa))


def walk(
    regime: Regime | str,
    regs: Mapping[str, int],
    memory: Any,
    address: int,
    access: Access | str | None = None,
    cpu: CPU | None = None,
    choices: Choices | None = None,
) -> WalkResult:
    """Walk the tables of ``regime`` for ``address`` and explain every step.

    For ``Regime.EL10`` stage-1 table reads go through stage 2 when HCR_EL2.VM=1 (and
    {E2H,TGE} != {1,1}); ``Regime.EL10_S12`` also translates the final IPA through stage 2.
    The regime's SCTLR.M is not consulted here (``at()`` applies it); a warning notes it.
    """
    regime = Regime(regime)
    access = coerce_access(access)
    notes = Notes(choices or Choices())
    t = Translation(regs, as_memory(memory), cpu or CPU_PRESETS["max"], notes)
    stage2 = _Stage2(t)
    t.stage2 = stage2.walk
    address &= MASK64
    hcr = t.register("HCR_EL2")
    res = WalkResult(regime=regime.value, access=access, input_address=address)
    res.tge = bool(HCR_EL2.get(hcr, "TGE"))
    if regime == Regime.STAGE2:
        sw = stage2.walk(address, access, False)
        assert sw.params is not None
        res.params["s2"] = sw.params
        _take_stage(res, sw)
    else:
        _stage1_warnings(regime, t, hcr)
        s2_on = stage2_enabled(hcr)
        via_s2 = s2_on and regime.value in EL10_REGIMES
        upper = (address >> 55) & 1 if regime.value in TWO_RANGE_REGIMES else 0
        template, setup = derive_stage1(regime.value, regs, upper, t.cpu, notes)
        p = with_input(template, address)
        res.params["s1"] = p
        if via_s2:
            res.params["s2"] = stage2.params()[0]
        site = check_stage1(p, setup, address, access, notes)
        sw = walk_stage(t, p, access, via_s2, setup=site)
        _take_stage(res, sw)
        if sw.fault is None and regime == Regime.EL10_S12 and s2_on:
            _final_stage2(res, sw, stage2.walk(sw.output_address or 0, access, False))
    if res.fault is not None:
        res.par = par_fault(res.fault)
        res.output_address = None
    else:
        assert res.attrs is not None and res.output_address is not None
        res.par = par_success(res.output_address, res.attrs.attr, res.attrs.sh)
    res.warnings = notes.warnings
    res.choices_used = notes.choices_used
    res.descriptor_reads = t.reads
    return res


def _stage1_warnings(regime: Regime, t: Translation, hcr: int) -> None:
    notes = t.notes
    if regime.value in EL10_REGIMES:
        if not SCTLR.get(t.register("SCTLR_EL1"), "M"):
            notes.warn("mmu-off", "SCTLR_EL1.M=0: real accesses would not be translated.")
        if HCR_EL2.get(hcr, "TGE") and not HCR_EL2.get(hcr, "E2H"):
            notes.warn("tge", "HCR_EL2.TGE=1 (E2H=0): EL1&0 stage 1 is disabled for accesses.")
    elif not SCTLR.get(t.register("SCTLR_EL2"), "M"):
        notes.warn("mmu-off", "SCTLR_EL2.M=0: real accesses would not be translated.")
    if regime == Regime.EL10_S12 and not stage2_enabled(hcr):
        notes.warn("s2-off", "Stage 2 is disabled (HCR_EL2.VM=0 or E2H=TGE=1): stage 1 only.")


def _take_stage(res: WalkResult, sw: StageWalk) -> None:
    """The main stage walk's outcome becomes the translation's."""
    res.main = sw
    res.levels = sw.levels
    res.fault = sw.fault
    res.output_address = sw.output_address
    res.oa_sources = sw.oa_sources
    res.attrs = sw.attrs
    res.perms = sw.perms


def _final_stage2(res: WalkResult, s1: StageWalk, s2: StageWalk) -> None:
    """Stage 2 of the stage-1 output: a fault there is the translation's; otherwise the
    output, its bit sources, attributes and permissions are both stages' combined."""
    res.ipa = s1.output_address
    res.s2_final = s2
    if s2.fault is not None:
        res.fault = s2.fault
        res.output_address = None
        return
    assert s1.attrs is not None and isinstance(s2.attrs, attrmod.Stage2Attributes)
    assert s1.perms is not None and s2.perms is not None
    res.output_address = s2.output_address
    res.oa_sources = compose_sources(s1.oa_sources, s2.oa_sources)
    res.attrs = attrmod.combine(s1.attrs, s2.attrs)
    res.perms = TwoStagePermissions(s1.perms, s2.perms)
