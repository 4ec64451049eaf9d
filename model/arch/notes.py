"""What a walk notices besides its outcome: warnings (a setting that is ignored, reserved or
substituted) and the IMPLEMENTATION DEFINED choices it had to make."""

from __future__ import annotations

from dataclasses import dataclass

from .cpu import Choices
from .fields import Layout


@dataclass
class WalkWarning:
    """Something a walk noticed that does not stop it: ``code`` names the kind (e.g.
    "res0", "ds-sh", "granule-substituted"), ``message`` says it."""

    code: str
    message: str

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


def bit_range(hi: int, lo: int) -> str:
    return f"[{hi}]" if hi == lo else f"[{hi}:{lo}]"


class Notes:
    """Collects one walk's warnings (each once, in the order noticed) and the choices used."""

    __slots__ = ("choices", "warnings", "choices_used", "_seen")

    def __init__(self, choices: Choices) -> None:
        self.choices = choices
        self.warnings: list[WalkWarning] = []
        self.choices_used: dict[str, str] = {}
        self._seen: set[tuple[str, str]] = set()

    def warn(self, code: str, message: str) -> None:
        key = (code, message)
        if key not in self._seen:
            self._seen.add(key)
            self.warnings.append(WalkWarning(code, message))

    def use_choice(self, name: str) -> str:
        """The value of IMPLEMENTATION DEFINED choice ``name``, recorded as used."""
        value = getattr(self.choices, name)
        self.choices_used[name] = value
        return value

    def check_res0(self, layout: Layout, value: int, what: str) -> None:
        """Warn about each RES0 field of ``layout`` that ``value`` sets."""
        if value & layout.res0_mask:
            for f in layout.res0_violations(value):
                self.warn("res0", f"{what}{bit_range(f.hi, f.lo)} are RES0 but set ({f.name}).")

    def replay(self, other: Notes) -> None:
        """Take over what ``other`` noticed (e.g. while deriving parameters), in order."""
        for w in other.warnings:
            self.warn(w.code, w.message)
        self.choices_used.update(other.choices_used)
