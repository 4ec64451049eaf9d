"""Fault kinds, the 6-bit fault status codes (FSC), fault rules and the ``Fault`` record.

A walk step that fails returns a ``FaultSite``: the rule it broke (a ``FaultRule`` of the
catalogue in ``model.arch.fault_rules``) and the values the rule's sentences need. The stage
walk turns it into a ``Fault`` at its one exit, filling in the level and the stage. The fault's
sentence (``message``) and hint (``fix``) are written from the rule's templates when asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeAlias


class FaultKind(StrEnum):
    TRANSLATION = "translation"
    ADDRESS_SIZE = "address_size"
    ACCESS_FLAG = "access_flag"
    PERMISSION = "permission"
    SEA_WALK = "sea_walk"


# Base codes for levels 0..3 and the level -1 code (FEAT_LPA2), per EncodeLDFSC.
_FSC_BASE = {
    FaultKind.ADDRESS_SIZE: (0x00, 0x29),
    FaultKind.TRANSLATION: (0x04, 0x2B),
    FaultKind.ACCESS_FLAG: (0x08, None),
    FaultKind.PERMISSION: (0x0C, None),
    FaultKind.SEA_WALK: (0x14, 0x13),
}


def fsc_for(kind: FaultKind, level: int) -> int:
    """The fault status code of a ``kind`` fault at ``level``; ValueError where the
    architecture has none (Access flag and Permission faults at level -1)."""
    base, minus1 = _FSC_BASE[kind]
    if level == -1:
        if minus1 is None:
            raise ValueError(f"{kind.value} faults cannot be reported at level -1")
        return minus1
    if not 0 <= level <= 3:
        raise ValueError(f"bad level {level}")
    return base + level


def _level_codes() -> dict[int, str]:
    names: dict[int, str] = {}
    groups = [
        (0x00, 0x29, 0x2C, "Address size fault"),
        (0x04, 0x2B, 0x2A, "Translation fault"),
        (0x08, None, None, "Access flag fault"),
        (0x0C, None, None, "Permission fault"),
        (0x14, 0x13, 0x12, "Synchronous External abort on translation table walk"),
        (0x1C, 0x1B, 0x1A, "Synchronous parity or ECC error on translation table walk"),
        (0x24, 0x23, 0x22, "Granule Protection Fault on translation table walk"),
    ]
    for base, m1, m2, text in groups:
        for lvl in range(4):
            suffix = " (or TTBR base)" if base == 0x00 and lvl == 0 else ""
            names[base + lvl] = f"{text}, level {lvl}{suffix}"
        if m1 is not None:
            names[m1] = f"{text}, level -1 (FEAT_LPA2)"
        if m2 is not None:
            names[m2] = f"{text}, level -2 (FEAT_D128)"
    names.update(
        {
            0x10: "Synchronous External abort, not on translation table walk",
            0x11: "Synchronous Tag Check Fault",
            0x18: "Synchronous parity or ECC error on memory access, not on walk",
            0x21: "Alignment fault",
            0x28: "Granule Protection Fault, not on translation table walk",
            0x30: "TLB conflict abort",
            0x31: "Unsupported atomic hardware update fault",
            0x34: "IMPLEMENTATION DEFINED fault (Lockdown)",
            0x35: "IMPLEMENTATION DEFINED fault (Unsupported Exclusive or Atomic access)",
        }
    )
    return names


FSC_NAMES: dict[int, str] = _level_codes()


def fsc_name(code: int) -> str:
    """Name of a 6-bit fault status code (DFSC/IFSC/PAR.FST)."""
    if not 0 <= code < 64:
        raise ValueError(f"FSC {code:#x} is not a 6-bit value")
    return FSC_NAMES.get(code, f"Reserved / unknown fault status code {code:#04x}")


# A sentence template: ``str.format`` over the fault's values, or a function of them for a
# sentence whose wording depends on a value (the access kind, the descriptor format, ...).
Template: TypeAlias = str | Callable[[Mapping[str, Any]], str]


def _fill(template: Template, values: Mapping[str, Any]) -> str:
    return template.format_map(values) if isinstance(template, str) else template(values)


@dataclass(frozen=True)
class FaultRule:
    """One way a translation can fail: its id (``Fault.rule``), the fault kind it raises, the
    sentence that explains it and the hint that fixes it. Templates may use ``level`` and
    ``stage`` (filled in where the fault is raised) besides the values the fault site gives."""

    id: str
    kind: FaultKind
    sentence: Template
    fix: Template

    def site(self, level: int | None = None, **values: Any) -> FaultSite:
        """This rule broken, with ``values`` (and a reporting ``level`` other than the one
        the failing step is at, for set-up checks)."""
        return FaultSite(self, values, level)


@dataclass(frozen=True)
class FaultSite:
    """Where a walk step failed: the rule it broke and the values the rule's sentences use.
    ``level`` is given only by a step that reports a level other than the one it is at
    (set-up checks, the start table's address size)."""

    rule: FaultRule
    values: Mapping[str, Any]
    level: int | None = None


@dataclass
class Fault:
    """A translation fault: what broke (``rule``), where (level, stage), and what an
    exception for it would report: FSC, S1PTW, WnR, and for a stage-2 fault the IPA whose
    translation faulted (for S1PTW=1, the IPA of the stage-1 table entry being read)."""

    kind: FaultKind
    level: int
    stage: int
    s1ptw: bool
    fsc: int
    explained_by: FaultRule = field(repr=False, compare=False)
    values: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    ipa: int | None = None
    wnr: bool = False

    @property
    def rule(self) -> str:
        """The id of the rule the walk broke (see ``model.arch.fault_rules``)."""
        return self.explained_by.id

    @property
    def fsc_name(self) -> str:
        return fsc_name(self.fsc)

    def _values(self) -> dict[str, Any]:
        return {**self.values, "level": self.level, "stage": self.stage}

    @property
    def message(self) -> str:
        """The fault in one or two sentences, from the rule's template."""
        return _fill(self.explained_by.sentence, self._values())

    @property
    def fix(self) -> str:
        """What to change to avoid it, from the rule's template."""
        return _fill(self.explained_by.fix, self._values())

    def to_dict(self) -> dict:
        return {
            "kind": self.kind.value,
            "level": self.level,
            "stage": self.stage,
            "s1ptw": self.s1ptw,
            "fsc": self.fsc,
            "message": self.message,
            "fix": self.fix,
            "rule": self.rule,
            "ipa": self.ipa,
            "wnr": self.wnr,
            "fsc_name": self.fsc_name,
            "fsc_hex": f"{self.fsc:#04x}",
        }


def raise_fault(
    site: FaultSite,
    level: int,
    stage: int,
    s1ptw: bool = False,
    wnr: bool = False,
    ipa: int | None = None,
) -> Fault:
    """The one place a fault site becomes a fault: the reporting level (the site's own, or
    the level of the step that failed) and the stage are filled in here."""
    if site.level is not None:
        level = site.level
    kind = site.rule.kind
    fsc = fsc_for(kind, level)
    return Fault(kind, level, stage, s1ptw, fsc, site.rule, site.values, ipa, wnr)


def make_fault(
    kind: FaultKind,
    level: int,
    stage: int,
    rule: str,
    message: str,
    fix: str,
    s1ptw: bool = False,
) -> Fault:
    """A fault outside the catalogue, its sentences written out (for code that models
    another implementation's behaviour, e.g. the conformance suite)."""
    adhoc = FaultRule(rule, kind, lambda _values: message, lambda _values: fix)
    return Fault(kind, level, stage, s1ptw, fsc_for(kind, level), adhoc)
