"""The fault as a view model: what broke, where, PAR_EL1 and the exception syndrome an access
would take (ESR_ELx, FAR, HPFAR_EL2), each decoded by its field table, and the remedies the
explorer can apply in one click (``model.explore.remedies``)."""

from __future__ import annotations

from typing import NamedTuple

from app.views.common import bit_range, hexv
from model.arch.faults import Fault
from model.arch.fields import LAYOUTS
from model.arch.result import WalkResult
from model.explore.configs import Configuration
from model.explore.remedies import Remedy, remedies


class FieldRow(NamedTuple):
    """One field of a decoded register value (from its field table)."""

    name: str
    bits: str
    value: str
    meaning: str


class SyndromeView(NamedTuple):
    """What an exception for the fault reports: ESR_ELx whole and by field, FAR, HPFAR_EL2."""

    target_el: int
    esr: str
    ec: str
    ec_name: str
    iss: str
    iss_fields: tuple[FieldRow, ...]
    far: str
    hpfar: str
    fipa: str


class RemedyView(NamedTuple):
    """One click that avoids the fault: a form button (``name``/``value``) or, for a choice
    only the user can make, a link to the control (``href``)."""

    label: str
    name: str
    value: str
    href: str


class FaultView(NamedTuple):
    kind: str
    level: int | None
    stage: int
    s1ptw: bool
    fsc: str
    fsc_bin: str
    fsc_name: str
    message: str
    fix: str
    rule: str
    ipa: str  # the IPA whose stage-2 translation faulted (a stage-1 table entry's for S1PTW)
    table_level: int | None  # for S1PTW: the stage-1 level whose table entry was being read
    wnr: bool
    par: str
    par_fields: tuple[FieldRow, ...]
    syndrome: SyndromeView | None
    remedies: tuple[RemedyView, ...]


def _rows(layout_name: str, value: int) -> tuple[FieldRow, ...]:
    return tuple(
        FieldRow(name, bit_range(hi, lo), f"{v:#x}", meaning)
        for name, hi, lo, v, meaning in LAYOUTS[layout_name].rows(value)
        if not name.startswith("RES")
    )


def _remedy_view(remedy: Remedy) -> RemedyView:
    """A remedy as the explorer form applies it (``fix=``) or as a link to a control."""
    if remedy.kind == "focus":
        target = str(remedy.target)
        if target == "va":
            return RemedyView(remedy.label, "", "", "#va")
        register = target.split(".", 1)[0].lower()
        return RemedyView(remedy.label, "", "", f"#reg-{register}")
    target = hexv(remedy.target) if isinstance(remedy.target, int) else str(remedy.target)
    value = ":".join((remedy.kind, target, remedy.field, str(remedy.value)))
    return RemedyView(remedy.label, "fix", value, "")


def fault_view(
    fault: Fault, result: WalkResult | None = None, config: Configuration | None = None
) -> FaultView:
    """The fault, and with the walk it ended: PAR_EL1 and the exception syndrome decoded by
    their field tables, and the remedies the explorer can apply."""
    syndrome = None
    par_fields: tuple[FieldRow, ...] = ()
    par = ""
    found: tuple[RemedyView, ...] = ()
    table_level = None
    if result is not None and result.fault is fault:
        par = f"{result.par:#018x}"
        par_fields = _rows("PAR_EL1_FAULT", result.par)
        s = result.syndrome
        if s is not None:
            syndrome = SyndromeView(
                target_el=s.target_el,
                esr=f"{s.esr:#018x}",
                ec=f"{s.ec:#04x}",
                ec_name=s.ec_name,
                iss=f"{s.iss:#x}",
                iss_fields=_rows(s.iss_layout, s.iss),
                far="" if s.far is None else f"{s.far:#018x}",
                hpfar="" if s.hpfar is None else f"{s.hpfar:#018x}",
                fipa="" if s.fipa is None else f"{s.fipa:#x}",
            )
        if fault.s1ptw:
            table = next((r for r in result.levels if r.s2 is not None and r.s2.fault), None)
            table_level = None if table is None else table.level
        if config is not None:
            found = tuple(_remedy_view(r) for r in remedies(config, result))
    return FaultView(
        kind=fault.kind.value.replace("_", " "),
        level=fault.level,
        stage=fault.stage,
        s1ptw=fault.s1ptw,
        fsc=f"{fault.fsc:#04x}",
        fsc_bin=f"{fault.fsc:#08b}",
        fsc_name=fault.fsc_name,
        message=fault.message,
        fix=fault.fix,
        rule=fault.rule,
        ipa="" if fault.ipa is None else f"{fault.ipa:#018x}",
        table_level=table_level,
        wnr=fault.wnr,
        par=par,
        par_fields=par_fields,
        syndrome=syndrome,
        remedies=found,
    )
