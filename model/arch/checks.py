"""The checks before a walk reads any descriptor (AArch64.S1Translate / AArch64.S1Walk and
AArch64.S2Walk, in the pseudocode's order): TxSZ limits, the input address against the
input range, EL0 access to a range E0PD closes, walks EPD disables; for stage 2 the start
level encoding and its consistency with the IPA size, then the IPA against the input range.

Each check returns the ``FaultSite`` of the rule it finds broken, or None.
"""

from __future__ import annotations

from . import fault_rules as rules
from .faults import FaultSite
from .notes import Notes
from .params import Stage1Setup, Stage2Setup, WalkParams
from .regime import Access


def setup_fault_level(start_level: int, notes: Notes) -> int:
    """The level a stage-1 set-up Translation fault reports: 0 (the pseudocode, QEMU) or the
    start level (an IMPLEMENTATION DEFINED choice)."""
    if notes.use_choice("setup_fault_level") == "start_level":
        return start_level
    return 0


def check_stage1(
    p: WalkParams, setup: Stage1Setup | Stage2Setup, va: int, access: Access, notes: Notes
) -> FaultSite | None:
    """Whether a stage-1 walk of ``va`` for ``access`` may start."""
    assert isinstance(setup, Stage1Setup)
    if setup.txsz_problem is not None:
        site = setup.txsz_problem
        return FaultSite(site.rule, site.values, setup_fault_level(p.start_level, notes))
    # VA[top:iasize] must all equal the range select bit; the top byte is left out when it is
    # ignored (TBI), except for instruction fetches with TBID.
    top = 55 if (p.tbi and not (setup.tbid and access.execute)) else 63
    width = top - p.iasize + 1
    found = (va >> p.iasize) & ((1 << width) - 1)
    want = ((1 << width) - 1) if p.range_select else 0
    if found != want:
        return rules.VA_OUT_OF_RANGE.site(
            level=setup_fault_level(p.start_level, notes),
            top=top,
            iasize=p.iasize,
            upper=p.range_select,
            txsz_field=p.txsz_field.split(".")[-1],
            txsz=p.txsz,
            found=found,
        )
    if setup.two_range and access.el == 0 and setup.e0pd:
        return rules.E0PD.site(
            level=setup_fault_level(p.start_level, notes), tcr=p.tcr_name, n=p.range_select
        )
    if setup.two_range and setup.epd:
        return rules.EPD.site(
            level=setup_fault_level(p.start_level, notes),
            tcr=p.tcr_name,
            n=p.range_select,
            ttbr=p.ttbr_name,
        )
    return None


def check_stage2(p: WalkParams, setup: Stage1Setup | Stage2Setup, ipa: int) -> FaultSite | None:
    """Whether a stage-2 walk of ``ipa`` may start: the registers' own problems, then the
    IPA against the input range (both reported at level 0)."""
    assert isinstance(setup, Stage2Setup)
    if setup.problem is not None:
        return setup.problem
    if ipa >> p.iasize:
        return rules.IPA_OUT_OF_RANGE.site(level=0, ipa=ipa, iasize=p.iasize, txsz=p.txsz)
    return None
