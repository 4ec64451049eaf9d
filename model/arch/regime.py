"""Translation regimes and accesses: what is translated, by whom, and how."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Regime(StrEnum):
    EL10 = "el10"  # stage 1 of EL1&0 (table reads through stage 2 when HCR_EL2.VM=1)
    EL2 = "el2"  # stage 1 of EL2, HCR_EL2.E2H=0
    EL20 = "el20"  # stage 1 of EL2&0, HCR_EL2.E2H=1
    STAGE2 = "stage2"  # stage 2 alone (input is an IPA)
    EL10_S12 = "el10_s12"  # stage 1 of EL1&0 then stage 2 of the result


# A regime, given as a ``Regime`` or its name, as its name (a plain str; ValueError if
# unknown).
def regime_name(regime: Regime | str) -> str:
    name = _REGIME_NAMES.get(regime)
    if name is None:
        return Regime(regime).value  # raises ValueError with the enum's own message
    return name


_REGIME_NAMES: dict[str, str] = {r.value: r.value for r in Regime}

# Regimes with two VA ranges (TTBR0 below, TTBR1 above, selected by VA[55]).
TWO_RANGE_REGIMES = frozenset({Regime.EL10.value, Regime.EL10_S12.value, Regime.EL20.value})
# Regimes whose stage 1 is the EL1&0 one (TCR_EL1, MAIR_EL1, SCTLR_EL1).
EL10_REGIMES = frozenset({Regime.EL10.value, Regime.EL10_S12.value})

_KIND_NAMES = {"r": "read", "w": "write", "x": "exec"}


@dataclass(frozen=True)
class Access:
    """An access: exception level 0/1/2 and kind "read" | "write" | "exec"."""

    el: int = 1
    kind: str = "read"

    def __post_init__(self) -> None:
        if self.kind not in ("read", "write", "exec"):
            raise ValueError(f"bad access kind {self.kind!r}")
        if self.el not in (0, 1, 2):
            raise ValueError(f"bad exception level {self.el}")

    @classmethod
    def parse(cls, text: str) -> Access:
        """'el1r', 'el0w', 'el2x' (or 'EL1 read')."""
        t = text.lower().replace(" ", "")
        if t.startswith("el") and len(t) >= 4 and t[2].isdigit():
            kind = t[3:]
            return cls(int(t[2]), _KIND_NAMES.get(kind, kind))
        raise ValueError(f"cannot parse access {text!r}")

    @property
    def write(self) -> bool:
        return self.kind == "write"

    @property
    def execute(self) -> bool:
        return self.kind == "exec"

    def __str__(self) -> str:
        return f"EL{self.el} {self.kind}"


def coerce_access(access: Access | str | None) -> Access:
    """An ``Access`` from an ``Access``, a string such as "el0w", or None (EL1 read)."""
    if access is None:
        return Access()
    if isinstance(access, Access):
        return access
    return Access.parse(access)


# Stage-2 walks of stage-1 table addresses are reads at EL1.
TABLE_WALK_ACCESS = Access(1, "read")
