"""Hardware updates of the Access flag and the dirty state (FEAT_HAFDBS): the step of a walk
after the permission check that writes the leaf descriptor (AArch64.S1Translate and
AArch64.S2Translate, the loop around AArch64.MemSwapTableDesc).

* AF=0 with HA=1: the walk sets AF (bit 10), for every access, AT instructions included.
  Only an access without a fault updates (AArch64.SettingAccessFlagPermitted); after a
  Permission fault whether AF is set is CONSTRAINED UNPREDICTABLE (Unpredictable_AFUPDATE):
  this model does not set it, as QEMU does not.
* DBM=1 with HA=HD=1 and a write: the permission check already treats the leaf as writable
  (AArch64.S1ApplyOutputPerms / S2ApplyOutputPerms), and the walk clears AP[2] (stage 1) or
  sets S2AP[1] (stage 2) in the descriptor (AArch64.SettingDirtyStatePermitted). Not for an
  AT instruction (nor IC/DC): its write permission is checked, nothing is marked dirty.
* A stage-1 descriptor of the EL1&0 regime with stage 2 on is written at its IPA, translated
  by stage 2 as a write of the translation table walk (CreateAccDescTTEUpdate): stage 2 must
  let it write there (S2AP[1]=1, or DBM with VTCR_EL2.HA=HD=1, which then marks the table
  page dirty at stage 2), else the access takes a stage-2 Permission fault with S1PTW=1 and
  nothing is written; this holds for AT instructions too, whose AF updates are writes.
* A stage-2 descriptor is written at its physical address.

A walk records the update; it never changes memory (memory changes only by the user's
edits). ``HardwareUpdate.explanation`` says what memory would hold after the access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import fault_rules as rules
from .faults import Fault, FaultKind, raise_fault
from .regime import Access
from .result import DESC_ADDRESS, DESC_IPA, RAW

if TYPE_CHECKING:  # pragma: no cover
    from .plans import LevelPlan, StagePlan
    from .result import StageWalk
    from .tablewalk import Translation

_TTE_UPDATE = Access(1, "write")  # the write of a descriptor, as stage 2 checks it
_BIT7 = 1 << 7  # AP[2] at stage 1, S2AP[1] at stage 2


class HardwareUpdate:
    """One descriptor write a walk makes: which descriptor (stage, level, physical address,
    and for a stage-1 descriptor under stage 2 its IPA and the stage-2 walk that translated
    the write), its value before and after, and the stage-2 fault that stopped it, if any."""

    __slots__ = ("stage", "level", "address", "ipa", "old", "new", "via", "fault")

    def __init__(
        self, stage: int, level: int, address: int | None, ipa: int | None, old: int, new: int
    ) -> None:
        self.stage = stage
        self.level = level
        self.address = address
        self.ipa = ipa
        self.old = old
        self.new = new
        self.via: StageWalk | None = None
        self.fault: Fault | None = None

    @property
    def sets_af(self) -> bool:
        return bool(~self.old & self.new & (1 << 10))

    @property
    def marks_dirty(self) -> bool:
        return bool((self.old ^ self.new) & _BIT7)

    @property
    def changes(self) -> list[str]:
        """Each bit the update changes, with what it means."""
        out = []
        if self.sets_af:
            out.append("AF (bit 10) 0 -> 1: accessed")
        if self.marks_dirty:
            if self.stage == 1:
                out.append("AP[2] (bit 7) 1 -> 0: dirty, writable")
            else:
                out.append("S2AP[1] (bit 7) 0 -> 1: dirty, writable")
        return out

    @property
    def written(self) -> bool:
        return self.fault is None

    @property
    def explanation(self) -> str:
        where = f"stage-{self.stage} level {self.level} descriptor"
        change = "; ".join(self.changes)
        if self.fault is not None:
            return (
                f"The walk would update the {where} ({change}), but stage 2 does not let it "
                f"write IPA {self.ipa:#x}: nothing is written, the access faults."
            )
        place = f"PA {self.address:#x}" if self.address is not None else "its address"
        via = (
            f" (IPA {self.ipa:#x}, translated by stage 2 for a write)"
            if self.ipa is not None
            else ""
        )
        return (
            f"The walk updates the {where} ({change}): after the access, memory at {place}"
            f"{via} holds {self.new:#018x} instead of {self.old:#018x}. The walk records this; "
            "the state's memory is unchanged."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "level": self.level,
            "address": self.address,
            "ipa": self.ipa,
            "old": self.old,
            "new": self.new,
            "sets_af": self.sets_af,
            "marks_dirty": self.marks_dirty,
            "changes": self.changes,
            "written": self.written,
            "via_s2": None if self.via is None else self.via.to_dict(),
            "fault": None if self.fault is None else self.fault.to_dict(),
            "explanation": self.explanation,
        }

    def __repr__(self) -> str:
        return (
            f"<HardwareUpdate stage {self.stage} L{self.level} "
            f"{self.old:#x} -> {self.new:#x}{' FAULT' if self.fault else ''}>"
        )


def _why(walk: StageWalk) -> str:
    perms = walk.permissions
    return "; ".join(perms.why) if perms is not None else ""


def update_step(
    t: Translation,
    sw: StageWalk,
    record: list[Any],
    lp: LevelPlan,
    plan: StagePlan,
    access: Access,
    s1ptw: bool,
) -> Fault | None:
    """After a permission check that passed with HA=1: the descriptor write the walk makes,
    if any (recorded on ``sw.update``), and the stage-2 fault its write met (S1PTW=1)."""
    raw = record[RAW]
    leaf = lp.leaf
    assert leaf is not None
    new = raw | (1 << leaf.af[0])
    # Dirty state: a write (not an AT instruction's; a stage-2 walk for a stage-1 table is
    # the walk's own access) to a leaf with DBM=1 under HA=HD=1.
    dbm = (raw >> leaf.dbm[0]) & leaf.dbm[1]
    if dbm and plan.template.hd and access.write and (s1ptw or not t.at):
        new = new & ~_BIT7 if plan.stage == 1 else new | _BIT7
    if new == raw:
        return None
    ipa = record[DESC_IPA]
    update = HardwareUpdate(plan.stage, lp.level, record[DESC_ADDRESS], ipa, raw, new)
    sw.update = update
    if ipa is None:
        return None
    assert t.stage2 is not None
    via = t.stage2(ipa, _TTE_UPDATE, True)
    update.via = via
    fault = via.fault
    if fault is None:
        return None
    if fault.kind == FaultKind.PERMISSION:
        # Stage 2 maps the table page without write permission: the update is refused.
        site = rules.UPDATE_DENIED_BY_STAGE2.site(
            s1_level=lp.level, ipa=ipa, changes=", ".join(update.changes), why=_why(via)
        )
        fault = raise_fault(site, fault.level, 2, s1ptw=True, wnr=True, ipa=ipa)
    update.fault = fault
    return fault
