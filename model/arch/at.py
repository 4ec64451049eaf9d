"""AT (address translate) instructions: which regime and access each one walks, and the
PAR_EL1 value it leaves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from . import fault_rules as rules
from .attrs import FLAT_DC, FLAT_DEVICE, combine_sh, two_stage_attr
from .cpu import CPU, CPU_PRESETS, Choices
from .descriptors import BitSource
from .faults import raise_fault
from .fields import HCR_EL2, SCTLR, TCR_EL1, TCR_EL2, TCR_EL2_E2H
from .notes import WalkWarning
from .regime import Access, Regime
from .result import WalkResult
from .syndromes import par_fault, par_success
from .walker import walk

AT_OPS = (
    "s1e1r",
    "s1e1w",
    "s1e0r",
    "s1e0w",
    "s1e2r",
    "s1e2w",
    "s12e1r",
    "s12e1w",
    "s12e0r",
    "s12e0w",
)


@dataclass(frozen=True)
class ATPlan:
    """Which regime, access and stages an AT operation uses."""

    regime: Regime
    access: Access
    s1_enabled: bool  # the regime's SCTLR.M (and not HCR_EL2.TGE or DC for EL1&0)
    s2_tables: bool  # stage-1 table reads go through stage 2
    s2_final: bool  # the output goes through stage 2
    notes: tuple[str, ...]
    dc: bool = False  # HCR_EL2.DC applies: stage 1 off gives Normal Write-Back

    def to_dict(self) -> dict:
        return {
            "regime": self.regime,
            "access": self.access,
            "s1_enabled": self.s1_enabled,
            "s2_tables": self.s2_tables,
            "s2_final": self.s2_final,
            "dc": self.dc,
            "notes": list(self.notes),
        }


def at_plan(op: str, regs: Mapping[str, int]) -> dict:
    """Which regime, access and stages an AT operation uses with these registers."""
    return _at_plan(op, regs).to_dict()


_E2H, _TGE, _VM, _DC = (HCR_EL2.shift_mask(n)[0] for n in ("E2H", "TGE", "VM", "DC"))
_M = SCTLR.shift_mask("M")[0]
_PLAN_HCR = (1 << _E2H) | (1 << _TGE) | (1 << _VM) | (1 << _DC)


def _at_plan(op: str, regs: Mapping[str, int]) -> ATPlan:
    hcr = int(regs.get("HCR_EL2", 0)) & _PLAN_HCR
    m1 = (int(regs.get("SCTLR_EL1", 0)) >> _M) & 1
    m2 = (int(regs.get("SCTLR_EL2", 0)) >> _M) & 1
    return _plan_of(op.lower(), hcr, m1, m2)


@lru_cache(maxsize=256)
def _plan_of(op: str, hcr: int, m1: int, m2: int) -> ATPlan:
    """The plan of ``op`` for HCR_EL2.{E2H, TGE, VM, DC} (``hcr``, the other bits clear) and
    SCTLR_EL1.M / SCTLR_EL2.M."""
    e2h, tge, vm, dc = ((hcr >> shift) & 1 for shift in (_E2H, _TGE, _VM, _DC))
    if op not in AT_OPS:
        raise ValueError(f"unknown AT operation {op!r}; expected one of {', '.join(AT_OPS)}")
    kind = "write" if op.endswith("w") else "read"
    if op.startswith("s1e2"):
        # EL2 and EL2&0 walks: SCTLR_EL2.M enables them; stage 2 never applies.
        return ATPlan(
            Regime.EL20 if e2h else Regime.EL2, Access(2, kind), bool(m2), False, False, ()
        )
    unpriv = op.endswith(("e0r", "e0w"))
    two_stage = op.startswith("s12")
    if e2h and tge:
        note = "{E2H,TGE}={1,1}: the EL2&0 regime is used and stage 2 is ignored"
        return ATPlan(
            Regime.EL20, Access(0 if unpriv else 2, kind), bool(m2), False, False, (note,)
        )
    notes: tuple[str, ...] = ()
    s1_on = bool(m1)
    if tge:
        s1_on = False
        notes = ("HCR_EL2.TGE=1 with E2H=0: EL1&0 stage 1 is disabled (flat)",)
    elif dc:
        # AArch64.S1Enabled: EL1&0 stage 1 is off while HCR_EL2.DC=1, whatever SCTLR_EL1.M.
        s1_on = False
        notes = ("HCR_EL2.DC=1: EL1&0 stage 1 is disabled (flat, Normal Write-Back)",)
    # HCR_EL2.DC=1 makes VM behave as 1 for every purpose but a read of HCR_EL2.
    s2_on = bool(vm or dc)
    return ATPlan(
        Regime.EL10_S12 if two_stage else Regime.EL10,
        Access(0 if unpriv else 1, kind),
        s1_on,
        s2_on,
        s2_on and two_stage,
        notes,
        bool(dc) and not tge,
    )


def at_walk(
    op: str,
    va: int,
    regs: Mapping[str, int],
    memory: Any,
    cpu: CPU | None = None,
    choices: Choices | None = None,
) -> WalkResult:
    """Run an AT operation and return the full walk (``.par`` is the PAR_EL1 value)."""
    plan = _at_plan(op, regs)
    if plan.s1_enabled:
        res = walk(plan.regime, regs, memory, va, plan.access, cpu=cpu, choices=choices, at=True)
        if res.warnings:
            res.warnings = [w for w in res.warnings if w.code not in ("mmu-off", "tge", "s2-off")]
    else:
        res = _flat(plan, regs, memory, va, cpu, choices)
    for n in plan.notes:
        res.warnings.append(WalkWarning("at", n))
    return res


def _flat(
    plan: ATPlan,
    regs: Mapping[str, int],
    memory: Any,
    va: int,
    cpu: CPU | None,
    choices: Choices | None,
) -> WalkResult:
    """Stage 1 disabled (AArch64.S1DisabledOutput): the output is the input, Device-nGnRnE
    (Normal Write-Back, Non-shareable with HCR_EL2.DC=1), then stage 2 when the operation
    includes it."""
    regime, access = plan.regime, plan.access
    cpu = cpu or CPU_PRESETS["max"]
    res = WalkResult(regime.value, access, va)
    res.tge = bool(HCR_EL2.get(int(regs.get("HCR_EL2", 0)), "TGE"))
    res.warnings.append(WalkWarning("mmu-off", "Stage 1 is disabled: the output equals the input."))
    pamax = cpu.pamax
    # VA[AddrTop:PAMax] must be zero, where AddrTop is 55 when the top byte is ignored (TBI
    # applies to AT, a data access) and 63 otherwise.
    top = 55 if _tbi(regime, regs, va) else 63
    if (va & ((1 << (top + 1)) - 1)) >> pamax:
        site = rules.FLAT_OA_OUT_OF_RANGE.site(level=0, va=va, top=top, pamax=pamax)
        res.fault = raise_fault(site, 0, 1, wnr=access.write)
        res.par = par_fault(res.fault)
        return res
    va &= (1 << pamax) - 1
    flat = FLAT_DC if plan.dc else FLAT_DEVICE
    res.flat_sources = [BitSource(pamax - 1, 0, "ia", pamax - 1, 0, None, 1)]
    if plan.s2_final:
        s2res = walk(Regime.STAGE2, regs, memory, va, access, cpu=cpu, choices=choices, at=True)
        res.ipa = va
        res.s2_final = s2res.main
        res.flat_params = s2res.params
        res.descriptor_reads = s2res.descriptor_reads
        res.warnings += s2res.warnings
        res.choices_used = s2res.choices_used
        if s2res.fault is not None:
            res.fault = s2res.fault
            res.par = par_fault(res.fault)
            return res
        assert s2res.output_address is not None and s2res.main is not None
        res.flat = flat
        res.output_address = s2res.output_address
        s2 = s2res.main
        fwb, cd = s2.fwb_cd
        attr = two_stage_attr(flat.attr, s2.memattr, fwb, cd)
        sh = combine_sh(flat.sh, s2.sh)
        res.par = par_success(res.output_address, attr, sh, _par_ns(res, choices))
        return res
    res.flat = flat
    res.output_address = va
    res.par = par_success(va, flat.attr, flat.sh, _par_ns(res, choices))
    return res


def _par_ns(res: WalkResult, choices: Choices | None) -> int:
    """PAR_EL1.NS of a successful AT (UNKNOWN for a Non-secure regime: ``Choices.par_ns``)."""
    value = (choices or Choices()).par_ns
    res.choices_used["par_ns"] = value
    return 1 if value == "pa_space" else 0


def _tbi(regime: Regime, regs: Mapping[str, int], va: int) -> bool:
    """Whether the top byte of ``va`` is ignored in ``regime`` (TCR TBI/TBI0/TBI1)."""
    if regime == Regime.EL2:
        return bool(TCR_EL2.get(int(regs.get("TCR_EL2", 0)), "TBI"))
    layout, name = (TCR_EL2_E2H, "TCR_EL2") if regime == Regime.EL20 else (TCR_EL1, "TCR_EL1")
    return bool(layout.get(int(regs.get(name, 0)), f"TBI{(va >> 55) & 1}"))


def at(
    op: str,
    va: int,
    regs: Mapping[str, int],
    memory: Any,
    cpu: CPU | None = None,
    choices: Choices | None = None,
) -> int:
    """The 64-bit PAR_EL1 value left by ``AT <op>, <va>``."""
    return at_walk(op, va, regs, memory, cpu=cpu, choices=choices).par
