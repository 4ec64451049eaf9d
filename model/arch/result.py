"""What a walk found, as records every renderer reads: each descriptor read (``LevelRead``),
each stage's walk (``StageWalk``) and the whole translation (``WalkResult``), with the facts
derived from them stated once (``WalkResult.reads``, ``WalkResult.source_label``).

The walk itself records only what it needs to decide the outcome (per read: where, which
entry, the value, its kind, the address it leads to). Everything that explains it, the
decoded fields, the bit provenance, the attribute and permission records, the per-walk
parameters, is built from those records and the stage's plan the first time a renderer asks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .attrs import (
    OutputAttributes,
    Stage1Attributes,
    Stage2Attributes,
    combine,
)
from .descriptors import BitSource, compose_sources, source_label
from .faults import Fault
from .fields import LAYOUTS
from .notes import WalkWarning
from .params import WalkParams
from .permissions import Permissions, TwoStagePermissions
from .regime import Access, Regime
from .syndromes import Syndrome, exception_syndrome

if TYPE_CHECKING:  # pragma: no cover
    from .plans import LevelPlan, StagePlan
    from .updates import HardwareUpdate

# A read as the walk records it (a list, filled in as the walk goes):
LEVEL, TABLE_BASE, INDEX, DESC_ADDRESS, DESC_IPA, NESTED_WALK, RAW, SOURCE, KIND, TARGET = range(10)


def with_input(template: WalkParams, input_address: int) -> WalkParams:
    """The parameters of one walk: ``template`` with its input address."""
    # A shallow copy (dataclasses.replace would re-run __init__ for ~40 fields).
    p = object.__new__(WalkParams)
    p.__dict__.update(template.__dict__)
    p.input_address = input_address
    return p


class LevelRead:
    """One descriptor read: where its table is, which entry the input address selects, where
    the descriptor is (for a stage-1 read under stage 2, the IPA and the stage-2 walk that
    translated it), its value, what kind it is and what it gives."""

    __slots__ = (
        "stage",
        "level",
        "table_base",
        "index",
        "desc_address",
        "desc_ipa",
        "s2",
        "raw",
        "kind",
        "source",
        "next_address",
        "output_address",
        "update",
        "_plan",
    )

    def __init__(
        self, plan: StagePlan, record: list[Any], update: HardwareUpdate | None = None
    ) -> None:
        self._plan = plan
        # The hardware update (FEAT_HAFDBS) the walk makes to this descriptor, if any.
        self.update = update
        self.stage = plan.stage
        self.level: int = record[LEVEL]
        self.table_base: int = record[TABLE_BASE]
        self.index: int = record[INDEX]
        self.desc_address: int | None = record[DESC_ADDRESS]
        self.desc_ipa: int | None = record[DESC_IPA]
        self.s2: StageWalk | None = record[NESTED_WALK]
        self.raw: int | None = record[RAW]
        # Where the value came from: "set" (the state sets it), "background" (tables built
        # for the state) or "empty" (nothing stored there: it reads as 0); None when not
        # read (a stage-2 fault on its address). See memory.py.
        self.source: str | None = record[SOURCE]
        self.kind: str = record[KIND]
        target = record[TARGET]
        self.next_address: int | None = target if self.kind == "table" else None
        self.output_address: int | None = target if self.kind in ("block", "page") else None

    @property
    def synthetic(self) -> bool:
        """Not set by the state: read from the background tables or from empty memory."""
        return self.source is not None and self.source != "set"

    @property
    def _level_plan(self) -> LevelPlan:
        return self._plan.level(self.level)

    @property
    def index_hi(self) -> int:
        return self._level_plan.hi

    @property
    def index_lo(self) -> int:
        return self._level_plan.lo

    @property
    def table_base_origin(self) -> str:
        if self.level == self._plan.start_level:
            return self._plan.template.table_base_origin
        return f"level {self.level - 1} table descriptor"

    @property
    def layout(self) -> str | None:
        """The name of the field table the descriptor was decoded with (None when it was not
        decoded: invalid, reserved, a block where none is allowed, or not read)."""
        if self.kind == "table":
            return self._plan.table_layout.name
        if self.kind in ("block", "page"):
            leaf = self._level_plan.leaf
            return None if leaf is None else leaf.layout.name
        return None

    @property
    def fields(self) -> Sequence[tuple[str, int, int, int, str]]:
        """(name, hi, lo, value, meaning) of every field of the decoded descriptor."""
        name = self.layout
        if name is None or self.raw is None:
            return []
        return LAYOUTS[name].rows(self.raw)

    @property
    def address_sources(self) -> list[BitSource]:
        """Which descriptor bits hold the next table's or the output's address."""
        lp = self._level_plan
        if self.kind == "table" and lp.table is not None:
            return list(lp.table.spans)
        if self.kind in ("block", "page") and lp.leaf is not None:
            return list(lp.leaf.address.spans)
        return []

    @property
    def attributes(self) -> dict[str, Any]:
        """A stage-1 table descriptor's hierarchical attributes (APTable, PXNTable,
        UXNTable or XNTable, NSTable) and whether they apply (not under HPD)."""
        h = self._plan.hierarchical
        if h is None or self.kind != "table" or self.raw is None:
            return {}
        raw = self.raw
        return {
            "APTable": (raw >> h.ap_table[0]) & h.ap_table[1],
            "PXNTable": (raw >> h.pxn_table[0]) & h.pxn_table[1],
            h.uxn_name: (raw >> h.uxn_table[0]) & h.uxn_table[1],
            "NSTable": (raw >> h.ns_table[0]) & h.ns_table[1],
            "applied": h.applied,
        }

    def to_dict(self) -> dict:
        return {
            "stage": self.stage,
            "level": self.level,
            "table_base": self.table_base,
            "table_base_origin": self.table_base_origin,
            "index_hi": self.index_hi,
            "index_lo": self.index_lo,
            "index": self.index,
            "desc_address": self.desc_address,
            "desc_ipa": self.desc_ipa,
            "s2": None if self.s2 is None else self.s2.to_dict(),
            "raw": self.raw,
            "kind": self.kind,
            "layout": self.layout,
            "fields": [list(row) for row in self.fields],
            "next_address": self.next_address,
            "output_address": self.output_address,
            "address_sources": [s.to_dict() for s in self.address_sources],
            "attributes": self.attributes,
            "source": self.source,
            "synthetic": self.synthetic,
            "update": None if self.update is None else self.update.to_dict(),
        }

    def __repr__(self) -> str:
        address = "-" if self.desc_address is None else f"{self.desc_address:#x}"
        return f"<LevelRead stage {self.stage} L{self.level} {self.kind} @{address}>"


class StageWalk:
    """One stage's walk of one input address."""

    memattr: int  # stage 2, set by its permission step
    fwb_cd: tuple[bool, bool]  # stage 2, set by its permission step

    __slots__ = (
        "plan",
        "input_address",
        "records",
        "fault",
        "output_address",
        "leaf",
        "attr",
        "sh",
        "permissions",
        "memattr",
        "fwb_cd",
        "update",
        "_params",
        "_levels",
        "_attrs",
    )

    def __init__(self, plan: StagePlan, input_address: int) -> None:
        self.plan = plan
        self.input_address = input_address
        self.records: list[list[Any]] = []
        self.fault: Fault | None = None
        self.output_address: int | None = None
        # Set when the walk reached the permission check: the leaf's record, its attribute
        # byte and shareability, and its permissions.
        self.leaf: list[Any] | None = None
        self.attr = 0
        self.sh = 0
        self.permissions: Permissions | None = None
        # Stage 2, from its permission step on: ``memattr`` (the leaf's MemAttr[3:0]) and
        # ``fwb_cd`` (HCR_EL2.{FWB, CD} as they applied to it).
        # The hardware update of the leaf (FEAT_HAFDBS), once the walk made one.
        self.update: HardwareUpdate | None = None
        self._params: WalkParams | None = None
        self._levels: list[LevelRead] | None = None
        self._attrs: Stage1Attributes | Stage2Attributes | None = None

    @property
    def stage(self) -> int:
        return self.plan.stage

    @property
    def params(self) -> WalkParams:
        if self._params is None:
            self._params = with_input(self.plan.template, self.input_address)
        return self._params

    @property
    def levels(self) -> list[LevelRead]:
        if self._levels is None:
            leaf, update = self.leaf, self.update
            self._levels = [
                LevelRead(self.plan, record, update if record is leaf else None)
                for record in self.records
            ]
        return self._levels

    @property
    def leaf_level(self) -> int | None:
        """The level of the block or page that mapped the input (once the walk reached it)."""
        for record in reversed(self.records):
            if record[KIND] in ("block", "page"):
                return record[LEVEL]
        return None

    @property
    def oa_sources(self) -> list[BitSource]:
        """Where each output-address bit came from: the leaf's address bits, then the input
        address below the block size."""
        if self.leaf is None:
            return []
        level = self.leaf[LEVEL]
        leaf = self.plan.level(level).leaf
        assert leaf is not None
        bits = leaf.size_bits
        offset = BitSource(bits - 1, 0, "ia", bits - 1, 0, level, self.plan.stage)
        return [*leaf.address.spans, offset]

    @property
    def attrs(self) -> Stage1Attributes | Stage2Attributes | None:
        """The leaf's memory attributes (once the walk reached the permission check)."""
        record = self.leaf
        if record is None:
            return None
        if self._attrs is None:
            self._attrs = self._leaf_attributes(record)
        return self._attrs

    def _leaf_attributes(self, record: list[Any]) -> Stage1Attributes | Stage2Attributes:
        level, raw, plan = record[LEVEL], record[RAW], self.plan
        leaf = plan.level(level).leaf
        assert leaf is not None

        def get(field: tuple[int, int]) -> int:
            return (raw >> field[0]) & field[1]

        common: dict[str, Any] = {
            "attr": self.attr,
            "sh": self.sh,
            "sh_origin": plan.sh_origin,
            "stage": plan.stage,
            "leaf_level": level,
            "leaf_kind": record[KIND],
            "block_size": 1 << leaf.size_bits,
            "af": get(leaf.af),
            "contiguous": bool(get(leaf.contiguous)) and not leaf.contiguous_ignored,
            "dbm": get(leaf.dbm),
        }
        if plan.stage == 1:
            return Stage1Attributes(
                **common,
                attr_index=get(leaf.attr_index),
                mair=plan.mair,
                ng=get(leaf.ng),
                gp=get(leaf.gp),
            )
        fwb, cd = self.fwb_cd
        return Stage2Attributes(**common, memattr=get(leaf.memattr), fwb=fwb, cd=cd)

    @property
    def perms(self) -> Permissions | None:
        return self.permissions

    def to_dict(self) -> dict:
        attrs, perms = self.attrs, self.perms
        return {
            "stage": self.stage,
            "params": self.params.to_dict(),
            "levels": [r.to_dict() for r in self.levels],
            "output_address": self.output_address,
            "oa_sources": [s.to_dict() for s in self.oa_sources],
            "attrs": {} if attrs is None else attrs.to_dict(),
            "perms": {} if perms is None else perms.to_dict(),
            "fault": None if self.fault is None else self.fault.to_dict(),
            "leaf_level": self.leaf_level,
            "update": None if self.update is None else self.update.to_dict(),
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


class WalkResult:
    """A translation: the parameters of each stage (``params["s1"]``, ``params["s2"]``),
    the reads of the walk proper (``levels``; ``reads()`` gives every read of both stages),
    the output address and where each of its bits came from, the attributes and
    permissions, or the fault; what the walk noticed; PAR_EL1 and the exception syndrome."""

    def __init__(self, regime: str, access: Access, input_address: int) -> None:
        self.regime = regime
        self.access = access
        self.input_address = input_address
        self.output_address: int | None = None
        self.ipa: int | None = None
        self.fault: Fault | None = None
        self.warnings: list[WalkWarning] = []
        self.choices_used: dict[str, str] = {}
        self.par = 0
        self.descriptor_reads = 0
        # The main stage walk (stage 1, or stage 2 alone) and the stage 2 of its output.
        self.main: StageWalk | None = None
        self.s2_final: StageWalk | None = None
        # The stage-2 parameters the main walk's table reads used (stage 1 under stage 2).
        self.stage2_plan: StagePlan | None = None
        # HCR_EL2.TGE: routes faults that would go to EL1 to EL2.
        self.tge = False
        # Set for a translation without a main walk (stage 1 disabled): what it gives.
        self.flat: OutputAttributes | None = None
        self.flat_sources: list[BitSource] = []
        self.flat_params: dict[str, WalkParams] = {}

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

    @property
    def _final_ok(self) -> bool:
        return self.s2_final is not None and self.s2_final.fault is None

    # -- what the walk gave, built when asked (once) ----------------------------------------
    @cached_property
    def params(self) -> dict[str, WalkParams]:
        main = self.main
        if main is None:
            return self.flat_params
        key = "s2" if main.stage == 2 else "s1"
        out = {key: main.params}
        if self.stage2_plan is not None and key == "s1":
            # The stage-2 parameters its table reads used (no one input address: 0).
            out["s2"] = with_input(self.stage2_plan.template, 0)
        return out

    @property
    def levels(self) -> list[LevelRead]:
        return [] if self.main is None else self.main.levels

    @cached_property
    def oa_sources(self) -> list[BitSource]:
        final = self.s2_final
        if self.main is None:
            return final.oa_sources if self._final_ok and final is not None else self.flat_sources
        if self._final_ok and final is not None:
            return compose_sources(self.main.oa_sources, final.oa_sources)
        return self.main.oa_sources

    @cached_property
    def attrs(self) -> OutputAttributes | None:
        final = self.s2_final
        stage1 = self.flat if self.main is None else self.main.attrs
        if self._final_ok and final is not None and stage1 is not None:
            stage2 = final.attrs
            assert isinstance(stage2, Stage2Attributes)
            return combine(stage1, stage2)
        return stage1

    @cached_property
    def perms(self) -> Permissions | TwoStagePermissions | None:
        main = self.main
        if main is None:
            return None
        final = self.s2_final
        if self._final_ok and final is not None:
            assert main.permissions is not None and final.permissions is not None
            return TwoStagePermissions(main.permissions, final.permissions)
        return main.permissions

    # -- the facts ------------------------------------------------------------------------
    def reads(self, nested: bool = True) -> list[ReadRef]:
        """Every descriptor read in walk order: each read of the walk proper, preceded by the
        stage-2 walk that translated its table address (``nested``), then the stage-2 walk of
        the final IPA."""
        return list(self._reads(nested))

    def _reads(self, nested: bool) -> Iterator[ReadRef]:
        main = self.main
        if main is not None:
            for read in main.levels:
                if nested and read.s2 is not None:
                    for inner in read.s2.levels:
                        yield ReadRef(inner, read.s2.params, NESTED, read)
                yield ReadRef(read, main.params, MAIN)
        final = self.s2_final
        if final is not None:
            for read in final.levels:
                yield ReadRef(read, final.params, FINAL)

    def updates(self) -> list[HardwareUpdate]:
        """Every hardware update of the Access flag or dirty state the walk makes, in walk
        order: a stage-2 walk's of a table page's descriptor before the stage-1 read it
        served, the leaf's own (after the stage-2 walk that translated its write), then the
        final stage 2's."""
        out: list[HardwareUpdate] = []
        main = self.main
        if main is not None:
            for read in main.levels:
                if read.s2 is not None and read.s2.update is not None:
                    out.append(read.s2.update)
            update = main.update
            if update is not None:
                if update.via is not None and update.via.update is not None:
                    out.append(update.via.update)
                out.append(update)
        final = self.s2_final
        if final is not None and final.update is not None:
            out.append(final.update)
        return out

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
        attrs, perms = self.attrs, self.perms
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
            "attrs": {} if attrs is None else attrs.to_dict(),
            "perms": {} if perms is None else perms.to_dict(),
            "fault": None if self.fault is None else self.fault.to_dict(),
            "warnings": [w.to_dict() for w in self.warnings],
            "choices_used": dict(self.choices_used),
            "par": self.par,
            "esr_iss": None if s is None else s.iss,
            "esr": None if s is None else s.esr,
            "far": None if s is None else s.far,
            "hpfar": None if s is None else s.hpfar,
            "syndrome": None if s is None else s.to_dict(),
            "descriptor_reads": self.descriptor_reads,
            "hardware_updates": [u.to_dict() for u in self.updates()],
        }
