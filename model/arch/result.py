"""What a walk found, as records every renderer reads: each descriptor read (``LevelRead``),
each stage's walk (``StageWalk``) and the whole translation (``WalkResult``), with the facts
derived from them stated once (``WalkResult.reads``, ``WalkResult.source_label``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .attrs import OutputAttributes
from .descriptors import BitSource, source_label
from .faults import Fault
from .notes import WalkWarning
from .params import WalkParams
from .permissions import Permissions, TwoStagePermissions
from .regime import Access, Regime
from .syndromes import Syndrome, exception_syndrome


@dataclass
class LevelRead:
    """One descriptor read: where its table is, which entry the input address selects, where
    the descriptor is (for a stage-1 read under stage 2, the IPA and the stage-2 walk that
    translated it), its value, what kind it is and what it gives."""

    stage: int
    level: int
    table_base: int
    table_base_origin: str
    index_hi: int
    index_lo: int
    index: int
    desc_address: int | None
    desc_ipa: int | None = None
    s2: StageWalk | None = None
    raw: int | None = None
    kind: str = "not-read"
    layout: str | None = None
    # (name, hi, lo, value, meaning) per field; decoded lazily (``Layout.rows``).
    fields: Sequence[tuple[str, int, int, int, str]] = field(default_factory=list)
    next_address: int | None = None
    output_address: int | None = None
    address_sources: list[BitSource] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    synthetic: bool = False

    def to_dict(self) -> dict:
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["s2"] = None if self.s2 is None else self.s2.to_dict()
        out["fields"] = [list(row) for row in self.fields]
        out["address_sources"] = [s.to_dict() for s in self.address_sources]
        return out


@dataclass
class StageWalk:
    """One stage's walk of one input address."""

    stage: int
    params: WalkParams | None
    levels: list[LevelRead] = field(default_factory=list)
    output_address: int | None = None
    oa_sources: list[BitSource] = field(default_factory=list)
    attrs: OutputAttributes | None = None
    perms: Permissions | None = None
    fault: Fault | None = None
    leaf_level: int | None = None

    def to_dict(self) -> dict:
        return {
            "stage": self.stage,
            "params": None if self.params is None else self.params.to_dict(),
            "levels": [r.to_dict() for r in self.levels],
            "output_address": self.output_address,
            "oa_sources": [s.to_dict() for s in self.oa_sources],
            "attrs": {} if self.attrs is None else self.attrs.to_dict(),
            "perms": {} if self.perms is None else self.perms.to_dict(),
            "fault": None if self.fault is None else self.fault.to_dict(),
            "leaf_level": self.leaf_level,
        }


# The role of a read in the walk (``ReadRef.role``).
MAIN = "main"  # the walk proper: stage 1, or stage 2 alone
NESTED = "nested-s2"  # a stage-2 walk translating a stage-1 table address
FINAL = "final-s2"  # the stage-2 walk of the stage-1 output (two stages)


@dataclass(frozen=True)
class ReadRef:
    """A descriptor read of a walk with the parameters of the stage walk that read it, its
    role, and for a nested stage-2 read the stage-1 read whose table address it translated."""

    read: LevelRead
    params: WalkParams
    role: str  # MAIN | NESTED | FINAL
    serves: LevelRead | None = None


@dataclass
class WalkResult:
    """A translation: the parameters of each stage (``params["s1"]``, ``params["s2"]``),
    the reads of the walk proper (``levels``; ``reads()`` gives every read of both stages),
    the output address and where each of its bits came from, the attributes and
    permissions, or the fault; what the walk noticed; PAR_EL1 and the exception syndrome."""

    regime: str
    access: Access
    input_address: int
    params: dict[str, WalkParams] = field(default_factory=dict)
    levels: list[LevelRead] = field(default_factory=list)
    output_address: int | None = None
    oa_sources: list[BitSource] = field(default_factory=list)
    ipa: int | None = None
    s2_final: StageWalk | None = None
    attrs: OutputAttributes | None = None
    perms: Permissions | TwoStagePermissions | None = None
    fault: Fault | None = None
    warnings: list[WalkWarning] = field(default_factory=list)
    choices_used: dict[str, str] = field(default_factory=dict)
    par: int = 0
    descriptor_reads: int = 0
    # The main stage walk (stage 1, or stage 2 alone), when one was made.
    main: StageWalk | None = field(default=None, repr=False)
    # HCR_EL2.TGE: routes faults that would go to EL1 to EL2.
    tge: bool = field(default=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.fault is None

    @property
    def two_stage(self) -> bool:
        """Did the output go through stage 1 and then stage 2?"""
        return self.s2_final is not None

    @property
    def input_name(self) -> str:
        return "IPA" if self.regime == Regime.STAGE2.value else "VA"

    # -- the facts ------------------------------------------------------------------------
    def reads(self, nested: bool = True) -> list[ReadRef]:
        """Every descriptor read in walk order: each read of the walk proper, preceded by the
        stage-2 walk that translated its table address (``nested``), then the stage-2 walk of
        the final IPA."""
        return list(self._reads(nested))

    def _reads(self, nested: bool) -> Iterator[ReadRef]:
        main = self.main
        if main is not None and main.params is not None:
            for read in main.levels:
                if nested and read.s2 is not None and read.s2.params is not None:
                    for inner in read.s2.levels:
                        yield ReadRef(inner, read.s2.params, NESTED, read)
                yield ReadRef(read, main.params, MAIN)
        final = self.s2_final
        if final is not None and final.params is not None:
            for read in final.levels:
                yield ReadRef(read, final.params, FINAL)

    def source_label(self, src: BitSource) -> str:
        """How an output-address bit source is named (see ``descriptors.source_label``)."""
        return source_label(src, two_stage=self.two_stage, input_name=self.input_name)

    @property
    def syndrome(self) -> Syndrome | None:
        """What an exception for the fault would report (ESR_ELx, FAR, HPFAR_EL2), or None."""
        if self.fault is None:
            return None
        va = None if self.regime == Regime.STAGE2.value else self.input_address
        return exception_syndrome(self.fault, self.access, self.regime, va, self.tge)

    @property
    def esr_iss(self) -> int | None:
        """ESR_ELx.ISS of the fault (None without one)."""
        s = self.syndrome
        return None if s is None else s.iss

    def to_dict(self) -> dict:
        s = self.syndrome
        return {
            "regime": self.regime,
            "access": {"el": self.access.el, "kind": self.access.kind},
            "input_address": self.input_address,
            "params": {k: p.to_dict() for k, p in self.params.items()},
            "levels": [r.to_dict() for r in self.levels],
            "output_address": self.output_address,
            "oa_sources": [s.to_dict() for s in self.oa_sources],
            "ipa": self.ipa,
            "s2_final": None if self.s2_final is None else self.s2_final.to_dict(),
            "attrs": {} if self.attrs is None else self.attrs.to_dict(),
            "perms": {} if self.perms is None else self.perms.to_dict(),
            "fault": None if self.fault is None else self.fault.to_dict(),
            "warnings": [w.to_dict() for w in self.warnings],
            "choices_used": dict(self.choices_used),
            "par": self.par,
            "esr_iss": None if s is None else s.iss,
            "esr": None if s is None else s.esr,
            "far": None if s is None else s.far,
            "hpfar": None if s is None else s.hpfar,
            "descriptor_reads": self.descriptor_reads,
        }
