"""HCR_EL2.DC, FWB, CD and PTW, hardware Access flag and dirty state updates at both stages,
and PAR_EL1.NS: each rule from the architecture's text (Arm ARM DDI0487, the pseudocode
functions named in each test), with hand-written tables, independent of QEMU.

The set-up: a 4KB stage 1 of three levels (T0SZ=25, start level 1) whose tables are at
0x4000_0000.. and whose page maps VA 0x1234_5000 to IPA 0x8000_0000; a 4KB stage 2 of one
level (T0SZ=25, SL0=1: start level 1) mapping gigabyte 1 (the tables) and gigabyte 2 (the
output) flat with blocks whose attributes each test chooses.
"""

from __future__ import annotations

import pytest

from model import Choices, at, at_walk, walk
from model.arch.attrs import fwb_combine, two_stage_attr

from .helpers import AF, HCR, tcr1, vtcr

VA = 0x1234_5000
T = 0x4000_0000
OUT = 0x8000_0000
S2 = 0x7000_0000
MAIR = 0x44_0C_04_FF  # Attr0 Normal WB, Attr1 Device-nGnRE, Attr2 Device-GRE, Attr3 Normal NC
DBM, AP2 = 1 << 51, 1 << 7
S2AP_RW, S2AP_RO = 0b11 << 6, 0b01 << 6
S2_WB, S2_DEVICE = 0b1111 << 2, 0b0000 << 2
TABLES_RW = AF | S2AP_RW | S2_WB
PAR_F, PAR_PTW, PAR_S = 1, 1 << 8, 1 << 9


def hcr(**f) -> int:
    return HCR.encode(RW=1, **f)


def setup(
    hcr_value: int,
    tcr_extra: dict | None = None,
    vtcr_extra: dict | None = None,
    leaf: int = AF,
    tables: int = TABLES_RW,
    output: int = AF | S2AP_RW | S2_WB,
) -> tuple[dict, dict]:
    regs = {
        "HCR_EL2": hcr_value,
        "TCR_EL1": tcr1(T0SZ=25, IPS=0b101, SH0=0b11, EPD1=1, **(tcr_extra or {})),
        "TTBR0_EL1": T,
        "MAIR_EL1": MAIR,
        "SCTLR_EL1": 1,
        "VTCR_EL2": vtcr(T0SZ=25, SL0=1, PS=0b101, SH0=0b11, **(vtcr_extra or {})),
        "VTTBR_EL2": S2,
    }
    mem = {
        T + ((VA >> 30) & 0x1FF) * 8: (T + 0x1000) | 0b11,
        T + 0x1000 + ((VA >> 21) & 0x1FF) * 8: (T + 0x2000) | 0b11,
        T + 0x2000 + ((VA >> 12) & 0x1FF) * 8: OUT | 0b11 | (0b11 << 8) | leaf,
        S2 + 8: (1 << 30) | 0b01 | (0b11 << 8) | tables,
        S2 + 16: (2 << 30) | 0b01 | (0b10 << 8) | output,
    }
    return regs, mem


def fst(par: int) -> int:
    return (par >> 1) & 0x3F


# -- HCR_EL2.DC ------------------------------------------------------------------------------


def test_dc_disables_el10_stage1_whatever_sctlr_m():
    """AArch64.S1Enabled: EL1&0 stage 1 is off while HCR_EL2.DC=1; AArch64.S1DisabledOutput:
    the output is Normal Write-Back RW-allocate, Non-shareable (PAR.SH 0b00, ATTR 0xFF)."""
    regs, _ = setup(hcr(DC=1))
    par = at("s1e1r", 0x9000_1234, regs, {})  # no tables at all: stage 1 is not walked
    assert not par & PAR_F and par & 0x000F_FFFF_FFFF_F000 == 0x9000_1000
    assert par >> 56 == 0xFF and (par >> 7) & 3 == 0b00
    # The same AT without DC walks the (absent) tables and faults.
    regs_nodc, _ = setup(hcr())
    assert at("s1e1r", 0x9000_1234, regs_nodc, {}) & PAR_F


def test_dc_makes_stage2_behave_as_enabled_without_vm():
    """AArch64.GetS2TTWParams: walkparams.vm = HCR_EL2.VM OR HCR_EL2.DC."""
    regs, mem = setup(hcr(DC=1))
    res = at_walk("s12e1r", OUT | 0x234, regs, mem)
    assert res.fault is None and res.output_address == OUT | 0x234 and res.s2_final is not None
    unmapped = at("s12e1r", 0xC000_0000, regs, mem)  # gigabyte 3: no stage-2 entry
    assert unmapped & PAR_F and unmapped & PAR_S and fst(unmapped) == 0x05
    # AT S1E1R has no stage 2: the flat output is the PA.
    assert at_walk("s1e1r", 0xC000_0000, regs, mem).s2_final is None


def test_dc_does_not_touch_el2_regimes():
    regs, mem = setup(hcr(DC=1))
    regs.update({"TCR_EL2": regs["TCR_EL1"] & 0xFFFF_FFFF, "TTBR0_EL2": T, "SCTLR_EL2": 1})
    assert at_walk("s1e2r", VA, regs, mem).flat is None


def test_dc_walk_warns_and_reads_tables_through_stage2():
    regs, mem = setup(hcr(DC=1))
    res = walk("el10", regs, mem, VA)
    assert any(w.code == "dc" for w in res.warnings)
    assert all(read.s2 is not None for read in res.levels)


# -- HCR_EL2.FWB and CD ----------------------------------------------------------------------

# (stage-1 MAIR byte, stage-2 MemAttr, combined) from AArch64.S2ApplyFWBMemAttrs.
FWB_CASES = [
    (0xFF, 0b0111, 0xFF),  # 0b111: stage 1's attributes
    (0x44, 0b0111, 0x44),
    (0x00, 0b0111, 0x00),
    (0x44, 0b0110, 0xFF),  # 0b110: Write-Back; NC stage 1 -> RW-allocate non-transient
    (0xBB, 0b0110, 0xFF),  # Write-Through RW-allocate -> Write-Back, same hints
    (0x77, 0b0110, 0x77),  # Write-Back transient keeps its hints
    (0x04, 0b0110, 0xFF),  # stage 1 Device -> Normal Write-Back RW-allocate
    (0xFF, 0b0101, 0x44),  # 0b101: Non-cacheable ...
    (0x0C, 0b0101, 0x0C),  # ... unless stage 1 is Device
    (0xFF, 0b0001, 0x04),  # MemAttr[2]=0: Device of type MemAttr[1:0]
    (0x00, 0b0011, 0x00),  # the more restrictive Device type (S2CombineS1Device)
    (0x0C, 0b0001, 0x04),
    (0xFF, 0b1111, 0xFF),  # MemAttr[3] is RES0, not looked at
]


@pytest.mark.parametrize("s1,memattr,want", FWB_CASES)
def test_fwb_combination(s1, memattr, want):
    assert fwb_combine(s1, memattr) == want
    assert two_stage_attr(s1, memattr, True, False) == want


def test_fwb_in_a_two_stage_at():
    regs, mem = setup(hcr(VM=1, FWB=1), leaf=AF | (1 << 2), output=AF | S2AP_RW | (0b0110 << 2))
    res = at_walk("s12e1r", VA, regs, mem)
    assert res.par >> 56 == 0xFF  # stage 1 Device-nGnRE, FWB forces Write-Back
    assert res.attrs.stage2.fwb and "FWB=1" in res.attrs.combine_note
    # FWB=0: the same descriptor bits are Normal inner/outer Write-Back; Device wins.
    regs["HCR_EL2"] = hcr(VM=1)
    assert at("s12e1r", VA, regs, mem) >> 56 == 0x04


@pytest.mark.parametrize(
    "s1,memattr,fwb,want",
    [
        (0xFF, 0b1111, False, 0x44),  # FWB=0: stage 2 Normal made Non-cacheable first
        (0x04, 0b1111, False, 0x04),  # Device stays Device
        (0xFF, 0b0001, False, 0x04),  # stage-2 Device is not affected
        (0xFF, 0b0111, True, 0x44),  # FWB=1: the FWB result made Non-cacheable
        (0x0C, 0b0111, True, 0x0C),
    ],
)
def test_cd_makes_stage2_normal_memory_non_cacheable(s1, memattr, fwb, want):
    """AArch64.S2Translate: !S2DCacheEnabled() (HCR_EL2.CD=1) treats Normal memory as
    Non-cacheable for data accesses."""
    assert two_stage_attr(s1, memattr, fwb, True) == want


def test_cd_in_a_two_stage_at_and_its_explanation():
    regs, mem = setup(hcr(VM=1, CD=1))
    res = at_walk("s12e1r", VA, regs, mem)
    assert res.par >> 56 == 0x44 and (res.par >> 7) & 3 == 0b10
    assert any("CD=1" in step for step in res.attrs.steps)


# -- HCR_EL2.PTW -----------------------------------------------------------------------------


def test_ptw_device_tables_are_a_stage2_permission_fault():
    """AArch64.S2CheckPermissions: a stage-1 table walk (TTW) to stage-2 Device memory with
    HCR_EL2.PTW=1 is a stage-2 Permission fault, at the stage-2 leaf's level, S1PTW=1."""
    regs, mem = setup(hcr(VM=1, PTW=1), tables=AF | S2AP_RW | S2_DEVICE)
    res = at_walk("s1e1r", VA, regs, mem)
    f = res.fault
    assert f.rule == "ptw-device" and f.stage == 2 and f.s1ptw and f.level == 1
    assert res.par & (PAR_F | PAR_PTW | PAR_S) == PAR_F | PAR_PTW | PAR_S and fst(res.par) == 0x0D
    assert f.ipa == T  # the first table read, at the start of gigabyte 1


def test_ptw_needs_device_memory_ptw_and_stage2():
    regs, mem = setup(hcr(VM=1), tables=AF | S2AP_RW | S2_DEVICE)
    assert at_walk("s1e1r", VA, regs, mem).fault is None  # PTW=0
    regs, mem = setup(hcr(VM=1, PTW=1))
    assert at_walk("s1e1r", VA, regs, mem).fault is None  # Normal tables
    regs, mem = setup(hcr(PTW=1), tables=AF | S2AP_RW | S2_DEVICE)
    assert at_walk("s1e1r", VA, regs, mem).fault is None  # stage 2 disabled


def test_ptw_device_test_follows_fwb():
    """With FWB=1 MemAttr[2]=0 is Device whatever MemAttr[3]; with FWB=0 0b1011 is Normal."""
    tables = AF | S2AP_RW | (0b1011 << 2)
    regs, mem = setup(hcr(VM=1, PTW=1, FWB=1), tables=tables)
    assert at_walk("s1e1r", VA, regs, mem).fault.rule == "ptw-device"
    regs["HCR_EL2"] = hcr(VM=1, PTW=1)
    assert at_walk("s1e1r", VA, regs, mem).fault is None


# -- FEAT_HAFDBS: the hardware update step ----------------------------------------------------


def test_af_update_is_recorded_and_memory_is_unchanged():
    regs, mem = setup(hcr(VM=1), tcr_extra={"HA": 1}, leaf=0)
    before = dict(mem)
    res = at_walk("s1e1r", VA, regs, mem)
    assert res.fault is None and mem == before
    (update,) = res.updates()
    leaf_read = res.levels[-1]
    assert leaf_read.update is update and update.old == leaf_read.raw
    assert update.new == update.old | AF and update.sets_af and not update.marks_dirty
    assert update.ipa == leaf_read.desc_ipa and update.via is not None and update.written
    assert f"{update.new:#018x}" in update.explanation


def test_af_update_through_read_only_stage2_faults_even_for_at():
    """AArch64.S1Translate: the AF update is a write of the descriptor's IPA, translated by
    AArch64.S2Translate with CreateAccDescTTEUpdate (a TTW write): stage 2 must allow it."""
    regs, mem = setup(hcr(VM=1), tcr_extra={"HA": 1}, leaf=0, tables=AF | S2AP_RO | S2_WB)
    res = at_walk("s1e1w", VA, regs, mem)
    f = res.fault
    assert f.rule == "update-denied-by-stage2" and f.stage == 2 and f.s1ptw and f.level == 1
    assert f.wnr and f.ipa == res.levels[-1].desc_ipa
    assert res.par & (PAR_PTW | PAR_S) == PAR_PTW | PAR_S and fst(res.par) == 0x0D
    assert not res.updates()[-1].written


def test_stage2_dbm_on_the_table_page_lets_the_update_through():
    regs, mem = setup(
        hcr(VM=1),
        tcr_extra={"HA": 1},
        vtcr_extra={"HA": 1, "HD": 1},
        leaf=0,
        tables=AF | S2AP_RO | S2_WB | DBM,
    )
    res = at_walk("s1e1r", VA, regs, mem)
    assert res.fault is None
    s2_update, s1_update = res.updates()
    # The stage-1 descriptor's write marks its table page dirty at stage 2 (a TTW, not AT).
    assert s2_update.stage == 2 and s2_update.marks_dirty and s1_update.via.update is s2_update


def test_dirty_state_for_a_store_but_not_for_at():
    """AArch64.S1Translate: DBM=1 with HA=HD=1 clears AP[2] for a write, but not for an AT
    instruction (AccessType_AT); the AT's write permission is granted all the same
    (AArch64.S1ApplyOutputPerms)."""
    regs, mem = setup(hcr(), tcr_extra={"HA": 1, "HD": 1}, leaf=AF | DBM | AP2)
    store = walk("el10", regs, mem, VA, "el1w")
    (update,) = store.updates()
    assert update.marks_dirty and update.new == update.old & ~AP2 and store.fault is None
    at_res = at_walk("s1e1w", VA, regs, mem)
    assert at_res.fault is None and at_res.updates() == []


def test_dirty_state_of_a_store_through_read_only_stage2_faults():
    regs, mem = setup(
        hcr(VM=1), tcr_extra={"HA": 1, "HD": 1}, leaf=AF | DBM | AP2, tables=AF | S2AP_RO | S2_WB
    )
    assert walk("el10", regs, mem, VA, "el1w").fault.rule == "update-denied-by-stage2"
    assert at_walk("s1e1w", VA, regs, mem).fault is None


def test_stage2_dirty_state_of_the_final_translation():
    regs, mem = setup(hcr(VM=1), vtcr_extra={"HA": 1, "HD": 1}, output=AF | S2AP_RO | S2_WB | DBM)
    store = walk("el10_s12", regs, mem, VA, "el1w")
    (update,) = store.updates()
    assert update.stage == 2 and update.new == update.old | (1 << 7) and update.ipa is None
    at_res = at_walk("s12e1w", VA, regs, mem)
    assert at_res.fault is None and at_res.updates() == []
    regs["VTCR_EL2"] = vtcr(T0SZ=25, SL0=1, PS=0b101, SH0=0b11)  # no HA/HD: read-only
    assert at_walk("s12e1w", VA, regs, mem).fault.stage == 2


def test_stage2_access_flag_of_a_table_page():
    regs, mem = setup(hcr(VM=1), tables=S2AP_RW | S2_WB)
    f = at_walk("s1e1r", VA, regs, mem).fault
    assert f.kind.value == "access_flag" and f.stage == 2 and f.s1ptw
    regs["VTCR_EL2"] = vtcr(T0SZ=25, SL0=1, PS=0b101, SH0=0b11, HA=1)
    res = at_walk("s1e1r", VA, regs, mem)
    assert res.fault is None and res.levels[0].s2.update.sets_af


def test_no_update_after_a_permission_fault_and_none_without_ha():
    """AArch64.SettingAccessFlagPermitted: after a Permission fault the update is
    CONSTRAINED UNPREDICTABLE; the model does not make it. HD without HA does nothing."""
    regs, mem = setup(hcr(), tcr_extra={"HA": 1}, leaf=AP2)  # read-only, AF=0
    res = at_walk("s1e1w", VA, regs, mem)
    assert res.fault.kind.value == "permission" and res.updates() == []
    regs, mem = setup(hcr(), tcr_extra={"HD": 1}, leaf=0)
    assert at_walk("s1e1r", VA, regs, mem).fault.rule == "af-zero"


def test_updates_appear_in_the_json():
    regs, mem = setup(hcr(VM=1), tcr_extra={"HA": 1}, leaf=0)
    data = at_walk("s1e1r", VA, regs, mem).to_dict()
    (update,) = data["hardware_updates"]
    assert update["sets_af"] and data["levels"][-1]["update"]["new"] == update["new"]


# -- PAR_EL1.NS ------------------------------------------------------------------------------


def test_par_ns_is_a_choice_defaulting_to_the_non_secure_pa_space():
    regs, mem = setup(hcr(VM=1))
    res = at_walk("s12e1r", VA, regs, mem)
    assert (res.par >> 9) & 1 == 1 and res.choices_used["par_ns"] == "pa_space"
    zero = at("s12e1r", VA, regs, mem, choices=Choices(par_ns="zero"))
    assert zero == res.par & ~(1 << 9)
    flat = at("s1e1r", VA, {"HCR_EL2": hcr()}, {}, choices=Choices(par_ns="zero"))
    assert not flat & PAR_F and not (flat >> 9) & 1


def test_stage2_dbm_grants_write_even_without_read():
    """AArch64.S2ApplyOutputPerms: with VTCR_EL2.HA=HD=1 a DBM=1 leaf has S2AP[1]=1 in
    effect, so S2AP=0b00 behaves as write-only: a write passes, a read still faults."""
    regs, mem = setup(hcr(VM=1), vtcr_extra={"HA": 1, "HD": 1}, output=AF | S2_WB | DBM)
    assert at_walk("s12e1w", VA, regs, mem).fault is None
    assert at_walk("s12e1r", VA, regs, mem).fault.kind.value == "permission"
    regs["VTCR_EL2"] = vtcr(T0SZ=25, SL0=1, PS=0b101, SH0=0b11, HA=1)  # HD=0: no effect
    assert at_walk("s12e1w", VA, regs, mem).fault.kind.value == "permission"
