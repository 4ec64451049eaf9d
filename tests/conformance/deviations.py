"""Named, documented places where QEMU's answer is not the architectural one.

The comparison (``compare.py``) first checks QEMU's PAR_EL1 against the model's
architectural PAR (bit for bit outside ``par_mask``). When they differ, it computes the
*expected QEMU answer* for this QEMU version by applying the registry below to the
scenario, and accepts the difference only if QEMU gives exactly that answer. Each rule
that changes the expectation for a scenario is credited with it (a rule is credited when
turning it off alone changes the expected answer).

Two kinds of rule:

* ``semantic`` rules change how the walk itself behaves. The expectation is then the
  model's walk under an alternative semantics: a documented ``Choices`` value, or a small
  patch of one model function for the duration of the call (``_qemu_semantics``). The model
  source is not modified.
* ``post`` rules rewrite the result of that walk (a PAR field, or a marker such as an
  exception or a QEMU crash).

Each rule lists the QEMU versions it applies to (``versions``: predicate on the
``(major, minor, micro)`` tuple) and refers to /work/shared/spec/qemu-notes.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from qemu_attrs import qemu_two_stage_attr
from qemu_runner import RAM_BASE, RAM_END, GuestException, QemuFailure, Scenario

import model
from model import Choices, at_walk
from model.arch import geometry as geo
from model.arch import plans, tablewalk
from model.arch.attrs import CombinedAttributes, combine_sh, par_sh
from model.arch.faults import FaultKind, FaultRule, fsc_for
from model.arch.params import Stage2Setup, register

U64 = (1 << 64) - 1


# ------------------------------------------------------------------ PAR masks
# PAR_EL1 bits the architecture leaves IMPLEMENTATION DEFINED (fact sheet 7.4, Arm ARM
# PAR_EL1 description):
#   success (F=0): bit 10;
#   fault (F=1): bits [63:48].
# Everything else is compared, including RES1 bit 11, RES0 bits, ATTR and NS (bit 9, UNKNOWN
# for these Non-secure regimes: the model's par_ns choice defaults to QEMU's 1, so it is
# compared too).
PAR_MASK_OK = U64 & ~(1 << 10)
PAR_MASK_FAULT = U64 & ~(0xFFFF << 48)


def par_mask(par: int) -> int:
    return PAR_MASK_FAULT if par & 1 else PAR_MASK_OK


def pars_equal(a: int, b: int) -> bool:
    """Equal after masking; a fault and a success are never equal."""
    if (a ^ b) & 1:
        return False
    m = par_mask(a)
    return (a & m) == (b & m)


# ------------------------------------------------------------------ expectations
@dataclass(frozen=True)
class ExpectException:
    """QEMU is expected to take a synchronous exception instead of writing PAR."""

    ec: int
    fsc: int
    why: str

    def matches(self, got) -> bool:
        return isinstance(got, GuestException) and got.ec == self.ec and got.fsc == self.fsc

    def __repr__(self) -> str:
        return f"ExpectException(ec={self.ec:#x}, fsc={self.fsc:#x}: {self.why})"


@dataclass(frozen=True)
class ExpectCrash:
    """QEMU is expected to die (assertion) on this scenario."""

    why: str

    def matches(self, got) -> bool:
        return isinstance(got, QemuFailure)

    def __repr__(self) -> str:
        return f"ExpectCrash({self.why})"


def matches(expected, got) -> bool:
    if isinstance(expected, int):
        return isinstance(got, int) and pars_equal(expected, got)
    return expected.matches(got)


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str  # "semantic" | "post"
    versions: Callable[[tuple], bool]
    doc: str
    example: str = ""  # name of the minimal edge case

    def applies_to(self, version: tuple) -> bool:
        return self.versions(version)


def _v72(v: tuple) -> bool:
    return v < (8, 2, 0)


def _v_pre80(v: tuple) -> bool:
    return v < (8, 0, 0)


def _all(v: tuple) -> bool:
    return True


RULES: list[Rule] = [
    Rule(
        "high-oa-bits-ignored",
        "semantic",
        _all,
        "qemu-notes 5 and 8 (fact sheet 8.4 item 3): with an output size below 52 bits, "
        "QEMU ignores TTBR[5:2] (52-bit TTBR format), descriptor bits [9:8] (DS=1, "
        "OA[51:50]) and, for 64KB, descriptor bits [15:12] (OA[51:48]), where the "
        "architecture (AArch64.S1Walk/NextTableBase/LeafBase) gives an Address size fault. "
        "Expected QEMU answer: the model with Choices(high_oa_bits='ignore').",
        "dev-high-oa-ttbr",
    ),
    Rule(
        "block-any-level",
        "semantic",
        _v72,
        "qemu-notes 1 (7.2; fixed in 8.2): a block descriptor (bits[1:0]=0b01) is accepted "
        "at any level below 3, including 4KB level 0 with DS=0, 16KB level 0/1 with DS=0 "
        "and level -1; the architecture gives a Translation fault (fact sheet 5.3). "
        "Expected QEMU answer: the model with geometry.block_allowed() true for every "
        "level < 3.",
        "dev-block-any-level",
    ),
    Rule(
        "s2-start-level-strict",
        "semantic",
        _v_pre80,
        "qemu-notes 7 (7.2; rewritten in 8.0): QEMU's stage-2 set-up check is stricter than "
        "AArch64.S2InvalidSL/S2InconsistentSL: SL2 (level -1) only for a 52-bit IPA, 16KB "
        "SL0=0b11 always rejected, level-0/1 starts checked against VTCR_EL2.PS instead of "
        "PAMax, and an IPA size above PS rejected. Expected QEMU answer: the model with a "
        "stage-2 Translation fault at level 0 added in those cases.",
        "dev-s2-sl2-not-52",
    ),
    Rule(
        "tge-e2h0-walks-el10",
        "semantic",
        _all,
        "qemu-notes 'HCR_EL2.TGE with E2H=0' (7.2 and 10.0): with TGE=1, E2H=0 the "
        "architecture treats EL1&0 stage 1 as disabled (flat map) for AT S1E0*/S1E1*/S12E*; "
        "QEMU still walks the EL1&0 tables. Expected QEMU answer: the model with "
        "HCR_EL2.TGE cleared, and PTW with it (QEMU's effective HCR_EL2 has PTW=0 while "
        "TGE=1).",
        "dev-tge-e2h0",
    ),
    Rule(
        "ttbr52-small-start-table",
        "semantic",
        _all,
        "qemu-notes 6 (fact sheet 8.4 item 4; 7.2 and 10.0): with the 52-bit TTBR format "
        "(DS=1, or 64KB with PS=0b110) the architecture aligns the start table to at least 64 "
        "bytes (AArch64.S1TTBaseAddress: tsize = Max(tsize, 6)), so TTBR[5:2] are only "
        "base[51:48]. QEMU keeps TTBR[47:0] and clears only the start-table size and bits "
        "[2:0], so for start tables of 16 or 32 bytes TTBR[5:4] also end up in the "
        "descriptor address. Expected QEMU answer: the model walking a memory image in which "
        "the start-level descriptor the model reads holds the word QEMU reads (at the "
        "address + TTBR[5:tsize]).",
        "dev-ttbr52-leak",
    ),
    Rule(
        "walk-outside-ram",
        "post",
        _all,
        "Harness environment, not a QEMU deviation: a descriptor read from a physical "
        "address outside guest RAM (the scenario does not and cannot place memory there) "
        "is a synchronous External abort on the walk, which QEMU delivers as a Data Abort "
        "taken to EL3 (EC 0x25, FSC = SEA on walk at that level: 0x13 at level -1, "
        "0x14+level otherwise) instead of a PAR result; the model reads 0 there. "
        "Expected QEMU answer: that exception.",
        "env-walk-outside-ram",
    ),
    Rule(
        "s2-attr-combine-device",
        "post",
        _all,
        "Found by this suite (not in qemu-notes): when one stage gives Device memory, QEMU "
        "(combined_attrs_nofwb) picks the combined Device type by testing the low nibble of "
        "*both* attributes against 0/4/8 even when the other stage is Normal memory, so a "
        "Normal Inner-Non-cacheable attribute (low nibble 0x4, e.g. MAIR 0x44 or stage-2 "
        "MemAttr 0b0101) counts as Device-nGnRE: Device-GRE at stage 1 combined with "
        "Normal-NC at stage 2 reads back ATTR=0x04 instead of 0x0C. The architecture "
        "(S2CombineS1MemAttrs) keeps the Device type of the Device stage (the more "
        "restrictive of two Device types). Expected QEMU answer: PAR.ATTR recomputed "
        "QEMU's way. Applied to every version (unverified on 10.0).",
        "dev-s2-attr-combine",
    ),
    Rule(
        "fwb-device-stage2-type",
        "post",
        _all,
        "Found by this suite (7.2 and 10.0): with HCR_EL2.FWB=1 and a stage-2 Device "
        "MemAttr (MemAttr[2]=0), QEMU (combined_attrs_fwb) gives stage 2's Device type even "
        "when stage 1 is a more restrictive Device type; the architecture "
        "(AArch64.S2ApplyFWBMemAttrs, S2CombineS1Device) keeps the more restrictive of the two, "
        "e.g. stage 1 Device-nGnRnE with MemAttr 0b0011 is Device-nGnRnE, QEMU reads back "
        "Device-GRE (ATTR 0x0c). Expected QEMU answer: PAR.ATTR (and SH) recomputed QEMU's way.",
        "dev-fwb-device-type",
    ),
    Rule(
        "fwb-ignores-cd",
        "post",
        _all,
        "Found by this suite (7.2 and 10.0): with HCR_EL2.FWB=1 QEMU does not apply "
        "HCR_EL2.CD; the architecture (AArch64.S2Translate, S2DCacheEnabled) makes the FWB "
        "result Non-cacheable when it is Normal memory (data accesses and table walks). "
        "Expected QEMU answer: PAR.ATTR (and SH) of the FWB combination without CD.",
        "dev-fwb-cd",
    ),
    Rule(
        "at-marks-dirty",
        "semantic",
        _all,
        "Found by this suite (7.2 and 10.0): QEMU performs the hardware dirty-state update "
        "for AT S1E*W/S12E*W as for a store: with TCR_ELx.HA=HD=1 it clears AP[2] of a DBM=1 "
        "leaf, and when stage 2 maps the stage-1 table page read-only that write takes a "
        "stage-2 Permission fault (S1PTW=1). The architecture (AArch64.S1Translate, "
        "AArch64.SettingDirtyStatePermitted) checks the write permission of an AT but marks "
        "nothing dirty, so the AT succeeds. Expected QEMU answer: the model walking the AT "
        "as a store.",
        "dev-at-marks-dirty",
    ),
    Rule(
        "ptw-without-stage2",
        "post",
        _all,
        "Found by this suite (7.2 and 10.0): QEMU applies HCR_EL2.PTW to EL1&0 stage-1 table "
        "walks even when stage 2 is disabled (VM=0, DC=0): the disabled stage 2 reports its "
        "output as Device-nGnRnE, so the first table read takes a stage-2 Permission fault "
        "(PTW=1, S=1). The architecture checks PTW only in a stage-2 translation "
        "(AArch64.S2Translate returns before any check when stage 2 is disabled). Expected "
        "QEMU answer: that fault at the level QEMU reports a PTW fault (7.2: the stage-1 "
        "level, an assertion failure at level -1; 8.2 and later: level 0).",
        "dev-ptw-no-stage2",
    ),
    Rule(
        "ptw-fault-level-0",
        "post",
        lambda v: v >= (8, 2, 0),
        "Found by this suite (10.0): the stage-2 Permission fault of HCR_EL2.PTW (a stage-1 "
        "table in stage-2 Device memory) is reported at level 0; the architecture reports it "
        "at the level of the stage-2 leaf that mapped the table (the fault comes from "
        "AArch64.S2CheckPermissions). QEMU 7.2 reports the stage-1 level instead "
        "(s1ptw-reports-s1-level). Expected QEMU answer: PAR.FST = Permission fault, level 0.",
        "dev-ptw-level",
    ),
    Rule(
        "s1ptw-reports-s1-level",
        "post",
        _v72,
        "qemu-notes 3 (7.2; fixed in 8.2): a stage-2 fault taken while reading a stage-1 "
        "table reports the stage-1 level in PAR.FST instead of the stage-2 level (PTW and "
        "S are right). Expected QEMU answer: the same PAR with FST = code(kind, stage-1 "
        "level).",
        "dev-s1ptw-level",
    ),
    Rule(
        "level-1-af-perm-abort",
        "post",
        _v72,
        "qemu-notes 2 (7.2): QEMU asserts in arm_fi_to_lfsc when an Access flag or "
        "Permission fault is to be reported at level -1 (a level -1 'block' with AF=0, or "
        "a stage-2 AF/permission fault while reading a level -1 stage-1 table, combined "
        "with s1ptw-reports-s1-level). Expected QEMU answer: QemuFailure.",
        "dev-level-1-af-abort",
    ),
    Rule(
        "par-sh-device-nc",
        "post",
        _v72,
        "qemu-notes 4 (7.2; fixed in 8.2): for Device or Normal Non-cacheable results PAR.SH "
        "should read 0b10 (fact sheet 7.4, PAREncodeShareability); QEMU 7.2 reports the "
        "descriptor's (or TCR's, DS=1) shareability. Expected QEMU answer: PAR with SH = "
        "the walk's shareability (0b00 when stage 1 is disabled). With a stage-2 final "
        "translation QEMU 7.2 gives 0b10 for a Device or Non-cacheable result as the "
        "architecture does, but its disabled stage 1 is Non-shareable instead of Outer "
        "Shareable, which shows when HCR_EL2.FWB=1 with MemAttr 0b110 makes the result "
        "Write-Back: PAR.SH is then stage 2's shareability.",
        "dev-par-sh-device",
    ),
]
RULES_BY_NAME = {r.name: r for r in RULES}


def active_rules(version: tuple) -> list[Rule]:
    return [r for r in RULES if r.applies_to(version)]


# ------------------------------------------------------------------ semantics patches
def _qemu72_s2_strict(vtcr: int, cpu) -> str | None:
    """QEMU 7.2 check_s2_mmu_setup differences (qemu-notes 7); None if QEMU accepts."""
    tg = (vtcr >> 14) & 3
    granule = {0: 4, 1: 64, 2: 16}.get(tg)
    if granule is None:
        return None
    ds = (vtcr >> 32) & 1 and granule != 64
    sl0 = (vtcr >> 6) & 3
    sl2 = (vtcr >> 33) & 1 if (granule == 4 and ds) else 0
    ps_bits = geo.PS_BITS.get((vtcr >> 16) & 7, 52)
    ps_bits = min(ps_bits, cpu.pamax)
    iasize = 64 - (vtcr & 0x3F)
    start = geo.s2_start_level(granule, sl0, sl2)
    if start is None:
        return None
    if sl2 and iasize != 52:
        return "SL2 start level -1 accepted only for a 52-bit IPA"
    if granule == 16 and sl0 == 3:
        return "16KB SL0=0b11 rejected"
    if start == 0 and granule == 4 and ps_bits < 44:
        return "level 0 start needs PS >= 44"
    if start == 1 and ((granule == 16 and ps_bits < 42) or (granule == 64 and ps_bits < 44)):
        return "level 1 start needs PS >= 42/44"
    if iasize > ps_bits:
        return "IPA size above PS"
    return None


@contextlib.contextmanager
def _qemu_semantics(block_any: bool, s2_strict: bool, at_marks_dirty: bool = False):
    """Temporarily patch model functions to QEMU's behaviour (test code only). Walk plans
    are compiled from these functions, so the plan caches are emptied on the way in and out."""
    saved = []
    if at_marks_dirty:
        orig_update = tablewalk.update_step

        def update_step(t, *args):
            at, t.at = t.at, False  # the AT's write is a store's: it marks the leaf dirty
            try:
                return orig_update(t, *args)
            finally:
                t.at = at

        saved.append((tablewalk, "update_step", orig_update))
        tablewalk.update_step = update_step
    if block_any:
        orig_ba = geo.block_allowed

        def block_allowed(level, granule_kb, ds, pamax=48):
            return level < 3

        saved.append((geo, "block_allowed", orig_ba))
        geo.block_allowed = block_allowed
    if s2_strict:
        orig_derive = plans.derive_stage2

        def derive(regs, cpu, notes):
            params, setup = orig_derive(regs, cpu, notes)
            if setup.problem is None:
                why = _qemu72_s2_strict(register(regs, "VTCR_EL2"), cpu)
                if why:
                    rule = FaultRule("qemu72-s2-setup", FaultKind.TRANSLATION, why, "")
                    setup = Stage2Setup(rule.site(level=0))
            return params, setup

        saved.append((plans, "derive_stage2", orig_derive))
        plans.derive_stage2 = derive
    if block_any or s2_strict:
        plans.clear_plans()
    try:
        yield
    finally:
        for obj, name, orig in reversed(saved):
            setattr(obj, name, orig)
        if block_any or s2_strict:
            plans.clear_plans()


# ------------------------------------------------------------------ helpers on walks
def _all_reads(res):
    """Every descriptor read of a walk in order: (stage, level, pa, s1_level), where
    s1_level is the stage-1 level a stage-2 read served (None for the final stage 2)."""
    out = []
    for ref in res.reads():
        r = ref.read
        if ref.role == "nested-s2":
            out.append((2, r.level, r.desc_address, ref.serves.level))
        elif ref.role == "final-s2":
            out.append((2, r.level, r.desc_address, None))
        elif r.desc_address is not None and r.raw is not None:
            out.append((r.stage, r.level, r.desc_address, r.level))
    return out


def _failing_s1_level(res) -> int | None:
    """Stage-1 level whose table read (or whose hardware update's write) faulted in stage 2
    (S1PTW)."""
    for lr in res.levels:
        if lr.s2 is not None and lr.s2.fault is not None:
            return lr.level
    update = res.main.update if res.main is not None else None
    if update is not None and update.fault is not None:
        return update.level
    return None


_EL10_STAGE1 = ("el10", "el10_s12")


def _ptw_without_stage2(res, hcr: int, on: set):
    """QEMU's answer when HCR_EL2.PTW=1 with stage 2 disabled and the EL1&0 stage-1 walk
    reached its first table read (rule ptw-without-stage2), else None."""
    main = res.main
    stage2_on = (hcr & 1 or (hcr >> 12) & 1) and not ((hcr >> 34) & (hcr >> 27) & 1)
    # QEMU's effective HCR_EL2 (arm_hcr_el2_eff) has PTW=0 while TGE=1.
    if not (hcr >> 2) & 1 or (hcr >> 27) & 1 or stage2_on or res.regime not in _EL10_STAGE1:
        return None
    if main is None or main.stage != 1 or not main.records:
        return None
    level = main.records[0][0] if "s1ptw-reports-s1-level" in on else 0
    if level == -1:
        if "level-1-af-perm-abort" in on:
            return ExpectCrash("PTW permission fault on a level -1 table read")
        return None
    fst = fsc_for(FaultKind.PERMISSION, level)
    return PAR_PTW_FAULT | (fst << 1)


# PAR_EL1 of a stage-2 fault on a stage-1 walk (F=1, PTW=1, S=1, RES1 bit 11), FST to add.
PAR_PTW_FAULT = 1 | (1 << 8) | (1 << 9) | (1 << 11)


def _sea_fsc(level: int) -> int:
    return 0x13 if level == -1 else 0x14 + level


def is_device_or_nc(attr: int) -> bool:
    return (attr >> 4) == 0 or attr == 0x44


def _leak_memory(s: Scenario, res) -> dict | None:
    """Memory image for ttbr52-small-start-table, or None if the rule does not apply."""
    new = None
    for key in ("s1", "s2"):
        p = res.params.get(key)
        if p is None or not p.ttbr_52bit or p.start_table_bits >= 6:
            continue
        leak = p.ttbr_value & 0x38 & ~((1 << p.start_table_bits) - 1)
        if not leak:
            continue
        new = dict(s.memory) if new is None else new
        reads = [r for r in _all_reads(res) if r[0] == p.stage and r[1] == p.start_level]
        for _stage, _lvl, pa, _x in reads:
            src = None if pa is None else pa + leak
            if src is not None and (src in s.memory or RAM_BASE <= src < RAM_END):
                new[pa] = s.memory.get(src, 0)
    return new


# ------------------------------------------------------------------ the expectation
def model_walk(s: Scenario, choices: Choices | None = None, regs=None):
    return at_walk(
        s.op.lower(), s.va, regs if regs is not None else s.regs, s.memory, choices=choices
    )


def expected_qemu(s: Scenario, version: tuple, disabled: frozenset = frozenset()):
    """The answer QEMU ``version`` is expected to give, applying every active rule not in
    ``disabled``. Returns an int PAR, ExpectException or ExpectCrash."""
    on = {r.name for r in active_rules(version)} - set(disabled)
    choices = Choices(high_oa_bits="ignore") if "high-oa-bits-ignored" in on else Choices()
    regs = s.regs
    hcr = regs.get("HCR_EL2", 1 << 31)
    if (
        "tge-e2h0-walks-el10" in on
        and (hcr >> 27) & 1
        and not (hcr >> 34) & 1
        and not s.op.upper().startswith("S1E2")
    ):
        # QEMU's effective HCR_EL2 (arm_hcr_el2_eff) also has PTW=0 while TGE=1.
        regs = {**regs, "HCR_EL2": hcr & ~((1 << 27) | (1 << 2))}

    def walk_as_qemu(scenario: Scenario):
        try:
            with _qemu_semantics(
                "block-any-level" in on, "s2-start-level-strict" in on, "at-marks-dirty" in on
            ):
                return model_walk(scenario, choices, regs)
        except ValueError as e:
            # fsc_for refuses AF/permission at level -1: QEMU 7.2 asserts in the same place
            if "level -1" in str(e) and "level-1-af-perm-abort" in on:
                return ExpectCrash("AF/permission fault at level -1")
            raise

    res = walk_as_qemu(s)
    if "ttbr52-small-start-table" in on:
        # The leak changes which start-table entry QEMU reads, so it decides what happens
        # next (even whether a crash is reached). The start-level read addresses do not
        # depend on the semantics patches, so an architectural walk can supply them.
        probe = res if not isinstance(res, ExpectCrash) else model_walk(s, choices, regs)
        mem = _leak_memory(s, probe)
        if mem is not None:
            s = dataclasses.replace(s, memory=mem)
            res = walk_as_qemu(s)
    if isinstance(res, ExpectCrash):
        return res
    if "ptw-without-stage2" in on:
        # QEMU faults before reading the first table: ahead of an external abort there.
        ptw = _ptw_without_stage2(res, s.regs.get("HCR_EL2", 1 << 31), on)
        if ptw is not None:
            return ptw
    if "walk-outside-ram" in on:
        for stage, level, pa, _s1l in _all_reads(res):
            if pa is not None and not (RAM_BASE <= pa < RAM_END) and pa not in s.memory:
                if stage == 2 and _s1l is not None and "s1ptw-reports-s1-level" in on:
                    level = _s1l  # 7.2 reports the stage-1 level here too
                return ExpectException(
                    0x25, _sea_fsc(level), f"stage-{stage} level {level} read at {pa:#x}"
                )
    par = res.par
    f = res.fault
    if f is not None and f.rule == "ptw-device" and "ptw-fault-level-0" in on:
        par = (par & ~(0x3F << 1)) | (fsc_for(FaultKind.PERMISSION, 0) << 1)
    if f is not None and f.s1ptw and "s1ptw-reports-s1-level" in on:
        s1l = _failing_s1_level(res)
        if s1l is not None:
            if s1l == -1 and f.kind in (FaultKind.ACCESS_FLAG, FaultKind.PERMISSION):
                if "level-1-af-perm-abort" in on:
                    return ExpectCrash("stage-2 AF/permission fault on a level -1 table read")
            else:
                par = (par & ~(0x3F << 1)) | (fsc_for(f.kind, s1l) << 1)
    attrs = res.attrs
    if f is None and isinstance(attrs, CombinedAttributes):
        s2 = attrs.stage2
        qa = qemu_two_stage_attr(attrs.stage1.attr, s2.memattr, s2.fwb, s2.cd, on)
        if qa != attrs.attr:
            par = (par & ~((0xFF << 56) | (3 << 7))) | (qa << 56) | (par_sh(qa, attrs.sh) << 7)
    if (
        f is None
        and "par-sh-device-nc" in on
        and res.s2_final is None
        and is_device_or_nc(res.attrs.attr if res.attrs is not None else 0xFF)
    ):
        # stage 1 disabled (flat): QEMU 7.2 reports SH=0b00; walked: the walk's SH
        sh = 0 if not res.levels else res.attrs.sh & 3
        par = (par & ~(3 << 7)) | (sh << 7)
    if (
        f is None
        and "par-sh-device-nc" in on
        and res.flat is not None
        and res.s2_final is not None
        and res.flat.sh == 2
        and not is_device_or_nc((par >> 56) & 0xFF)
    ):
        # QEMU 7.2's disabled stage 1 is Non-shareable: the combination keeps stage 2's SH.
        par = (par & ~(3 << 7)) | (combine_sh(0, res.s2_final.sh & 3) << 7)
    return par


def _same(a, b) -> bool:
    if isinstance(a, int) and isinstance(b, int):
        return pars_equal(a, b)
    return repr(a) == repr(b)


def credit(s: Scenario, version: tuple, expected) -> list[str]:
    """Rules that changed the expectation for this scenario."""
    out = []
    for r in active_rules(version):
        try:
            alt = expected_qemu(s, version, frozenset({r.name}))
        except Exception:  # noqa: BLE001 - disabling a rule may expose a model error
            alt = None
        if not _same(alt, expected):
            out.append(r.name)
    return out


__all__ = [
    "RULES",
    "RULES_BY_NAME",
    "Rule",
    "active_rules",
    "credit",
    "expected_qemu",
    "matches",
    "par_mask",
    "pars_equal",
    "model_walk",
    "ExpectCrash",
    "ExpectException",
    "dataclasses",
    "model",
]
