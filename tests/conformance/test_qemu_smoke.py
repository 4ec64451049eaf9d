"""Smoke tests that boot QEMU and run hand-built AT scenarios.

Descriptors are assembled by hand here (no model code) so that these tests
check the runner and QEMU, independently of the model under test.
"""

import time

import pytest
import qemu_runner as q
from qemu_runner import Scenario

pytestmark = pytest.mark.usefixtures("qemu_tools")

T = q.TABLE_REGION[0]  # tables of the hand-built walks live here
PAGE = 0x1000

# Stage-1 descriptor bits
VALID_TABLE = 0b11
PAGE_DESC = 0b11
AF = 1 << 10
SH_INNER = 3 << 8
HCR_RW = 1 << 31
HCR_VM = 1 << 0
MAIR_NORMAL_WB = 0xFF  # Attr0 = Normal, inner/outer write-back


def idx(va: int, level: int) -> int:
    """4KB granule table index of va at level (-1..3)."""
    shift = 12 + 9 * (3 - level)
    width = 4 if level == -1 else 9
    return (va >> shift) & ((1 << width) - 1)


def fst(par: int) -> int:
    return (par >> 1) & 0x3F


def pa_of(par: int) -> int:
    return par & 0x000F_FFFF_FFFF_F000


def tcr_el1_4k_48() -> int:
    # T0SZ=16, IRGN0=ORGN0=WB (01), SH0=inner, TG0=4KB, EPD1=1, IPS=48 bits
    return 16 | (1 << 8) | (1 << 10) | (3 << 12) | (0 << 14) | (1 << 23) | (5 << 32)


def walk_4k_48(va: int, pa: int, base: int, leaf_valid: bool = True, ap: int = 0) -> dict[int, int]:
    """Level 0..3 tables at base, base+4K, base+8K, base+12K mapping va -> pa
    (leaf AP[2:1] = ap)."""
    mem = {}
    for level in range(3):
        tbl = base + level * PAGE
        mem[tbl + 8 * idx(va, level)] = (tbl + PAGE) | VALID_TABLE
    leaf = (pa & ~0xFFF) | (ap << 6) | AF | SH_INNER | PAGE_DESC
    mem[base + 3 * PAGE + 8 * idx(va, 3)] = leaf if leaf_valid else leaf & ~1
    return mem


def el1_scenario(va, mem, op="S1E1R", name=""):
    regs = {
        "TCR_EL1": tcr_el1_4k_48(),
        "TTBR0_EL1": T,
        "MAIR_EL1": MAIR_NORMAL_WB,
        "SCTLR_EL1": 1,
        "HCR_EL2": HCR_RW,
    }
    return Scenario(op=op, va=va, regs=regs, memory=mem, name=name)


# ------------------------------------------------------------------ (1)
def test_id_registers_match_notes():
    r = q.run_batch([Scenario("S1E1R", 0, {}, {})])
    mmfr0 = r.id_regs["ID_AA64MMFR0_EL1"]
    mmfr1 = r.id_regs["ID_AA64MMFR1_EL1"]
    mmfr2 = r.id_regs["ID_AA64MMFR2_EL1"]

    def f(v, lo):
        return (v >> lo) & 0xF

    assert r.id_regs["CurrentEL"] == 3 << 2  # guest runs at EL3
    assert f(mmfr0, 0) == 0b0110, "PARange 52 bits"
    assert f(mmfr0, 28) == 0b0001, "TGran4 with LPA2"
    assert f(mmfr0, 20) == 0b0010, "TGran16 with LPA2"
    assert f(mmfr0, 24) == 0b0000, "TGran64 supported"
    assert f(mmfr0, 40) == 0b0011, "TGran4_2 with LPA2"
    assert f(mmfr0, 32) == 0b0011, "TGran16_2 with LPA2"
    assert f(mmfr0, 36) == 0b0010, "TGran64_2 supported"
    assert f(mmfr1, 0) == 2, "HAFDBS"
    assert f(mmfr1, 12) in (1, 2), "HPDS (1 in QEMU 7.2, 2 in 10.0)"
    assert f(mmfr2, 16) == 1, "VARange 52 (FEAT_LVA)"
    assert f(mmfr2, 28) == 1, "ST (FEAT_TTST)"


# ------------------------------------------------------------------ (2), (3)
def test_el1_4k_48bit_walk_translates():
    va, pa = 0x0000_1234_5678_9ABC, 0x0000_0009_8765_4000
    r = q.run_batch([el1_scenario(va, walk_4k_48(va, pa, T))])
    par = r.pars[0]
    assert isinstance(par, int), par
    assert par & 1 == 0, q.format_par(par)
    assert pa_of(par) == pa
    assert par >> 56 == MAIR_NORMAL_WB
    assert (par >> 7) & 3 == 3


def test_el1_4k_invalid_level3_gives_translation_fault_l3():
    va, pa = 0x0000_1234_5678_9000, 0x0000_0009_8765_4000
    r = q.run_batch([el1_scenario(va, walk_4k_48(va, pa, T, leaf_valid=False))])
    par = r.pars[0]
    assert par & 1 == 1, q.format_par(par)
    assert fst(par) == 0x07


# ------------------------------------------------------------------ (4)
def ds_scenario(va, pa, lm1_valid=True):
    ds_tcr = (
        12 | (1 << 8) | (1 << 10) | (3 << 12) | (0 << 14) | (1 << 23) | (6 << 32) | (1 << 59)
    )  # T0SZ 12, IPS 52, DS
    base = T + 0x10_0000
    mem = {}
    tables = [base + i * PAGE for i in range(5)]  # levels -1, 0, 1, 2, 3
    for i, level in enumerate(range(-1, 3)):
        d = tables[i + 1] | VALID_TABLE
        if level == -1 and not lm1_valid:
            d &= ~1
        mem[tables[i] + 8 * idx(va, level)] = d
    # DS=1 leaf: OA[49:12] in place, OA[51:50] in desc[9:8]; SH comes from TCR
    leaf = (pa & 0x0003_FFFF_FFFF_F000) | (((pa >> 50) & 3) << 8) | AF | PAGE_DESC
    mem[tables[4] + 8 * idx(va, 3)] = leaf
    regs = {
        "TCR_EL1": ds_tcr,
        "TTBR0_EL1": base,
        "MAIR_EL1": MAIR_NORMAL_WB,
        "SCTLR_EL1": 1,
        "HCR_EL2": HCR_RW,
    }
    return Scenario("S1E1R", va, regs, mem, name="ds52")


def test_4k_ds1_52bit_walk_from_level_minus1():
    va, pa = 0x000A_BCDE_F012_3000, 0x000F_0123_4567_8000
    r = q.run_batch([ds_scenario(va, pa), ds_scenario(va, pa, lm1_valid=False)])
    ok, bad = r.pars
    assert ok & 1 == 0, q.format_par(ok)
    assert pa_of(ok) == pa
    assert (ok >> 7) & 3 == 3  # SH from TCR_EL1.SH0
    assert bad & 1 == 1, q.format_par(bad)
    assert fst(bad) == 0x2B  # translation fault, level -1


# ------------------------------------------------------------------ (5)
def test_s1e2r_e2h0():
    va, pa = 0x0000_7654_3210_F000, 0x0000_00AB_CDEF_0000
    tcr_el2 = 16 | (1 << 8) | (1 << 10) | (3 << 12) | (0 << 14) | (5 << 16) | (1 << 23) | (1 << 31)
    base = T + 0x20_0000
    regs = {
        "TCR_EL2": tcr_el2,
        "TTBR0_EL2": base,
        "MAIR_EL2": MAIR_NORMAL_WB,
        "SCTLR_EL2": 1,
        "HCR_EL2": HCR_RW,
        # EL1&0 left with a broken setup to show it is not used
        "TCR_EL1": 0,
        "SCTLR_EL1": 1,
    }
    r = q.run_batch(
        [
            Scenario("S1E2R", va, regs, walk_4k_48(va, pa, base)),
            Scenario("S1E2W", va, regs, walk_4k_48(va, pa, base, leaf_valid=False)),
        ]
    )
    ok, bad = r.pars
    assert ok & 1 == 0, q.format_par(ok)
    assert pa_of(ok) == pa
    assert bad & 1 and fst(bad) == 0x07, q.format_par(bad)


# ------------------------------------------------------------------ (6)
def test_stage2_only_s12e1r():
    ipa, pa = 0x0000_0012_3456_7000, 0x0000_0076_5432_1000
    # VTCR: T0SZ 25 (39-bit IPA), SL0=1 (start level 1), WB walks, 4KB, PS 48, RES1 bit 31
    vtcr = 25 | (1 << 6) | (1 << 8) | (1 << 10) | (3 << 12) | (0 << 14) | (5 << 16) | (1 << 31)
    base = T + 0x30_0000
    mem = {
        base + 8 * idx(ipa, 1): (base + PAGE) | VALID_TABLE,
        base + PAGE + 8 * idx(ipa, 2): (base + 2 * PAGE) | VALID_TABLE,
    }
    # stage-2 page: MemAttr 0b1111 (Normal WB), S2AP 0b11 (RW), SH inner, AF
    s2leaf = pa | (0xF << 2) | (3 << 6) | SH_INNER | AF | PAGE_DESC
    mem[base + 2 * PAGE + 8 * idx(ipa, 3)] = s2leaf
    regs = {"SCTLR_EL1": 0, "HCR_EL2": HCR_RW | HCR_VM, "VTCR_EL2": vtcr, "VTTBR_EL2": base}
    fault_mem = dict(mem)
    fault_mem[base + 2 * PAGE + 8 * idx(ipa, 3)] = 0
    r = q.run_batch(
        [
            Scenario("S12E1R", ipa, regs, mem),
            Scenario("S12E1R", ipa, regs, fault_mem),
            Scenario("S1E1R", ipa, regs, mem),
        ]
    )
    ok, bad, s1only = r.pars
    assert ok & 1 == 0, q.format_par(ok)
    assert pa_of(ok) == pa
    assert bad & 1 and fst(bad) == 0x07, q.format_par(bad)
    assert (bad >> 9) & 1 == 1  # PAR.S: stage-2 fault
    assert s1only & 1 == 0 and pa_of(s1only) == ipa  # S1E1R stops at the IPA


# ------------------------------------------------------------------ robustness
def test_walk_outside_ram_is_recorded_and_batch_continues():
    va, pa = 0x0000_1234_5678_9000, 0x0000_0009_8765_4000
    good = el1_scenario(va, walk_4k_48(va, pa, T), name="good")
    # Level-0 entry points to a level-1 table far outside RAM and devices
    outside = el1_scenario(
        va, {T + 8 * idx(va, 0): 0x0000_8000_0000_0000 | VALID_TABLE}, name="outside"
    )
    r = q.run_batch([good, outside, good])
    assert r.boots == 1
    assert isinstance(r.pars[1], q.GuestException), r.pars[1]
    assert r.pars[1].ec == 0x25  # data abort, same EL
    assert pa_of(r.pars[0]) == pa and pa_of(r.pars[2]) == pa


def test_memory_outside_ram_rejected():
    with pytest.raises(ValueError, match="outside guest RAM"):
        q.run_batch([Scenario("S1E1R", 0, {}, {0x2000_0000: 1})])
    with pytest.raises(ValueError, match="reserved"):
        q.run_batch([Scenario("S1E1R", 0, {}, {q.GUEST_BASE: 1})])
    with pytest.raises(ValueError, match="unsupported register"):
        q.run_batch([Scenario("S1E1R", 0, {"TCR_EL3": 0}, {})])


def test_scenarios_are_independent():
    """A descriptor left behind by one scenario must not serve the next."""
    va, pa = 0x0000_1234_5678_9000, 0x0000_0009_8765_4000
    full = el1_scenario(va, walk_4k_48(va, pa, T))
    no_leaf = el1_scenario(va, {k: v for k, v in walk_4k_48(va, pa, T).items() if k < T + 3 * PAGE})
    r = q.run_batch([full, no_leaf])
    assert r.pars[0] & 1 == 0
    assert r.pars[1] & 1 == 1 and fst(r.pars[1]) == 0x07


# ------------------------------------------------------------------ (7)
def test_thousand_scenarios_one_boot():
    n = 1000
    scen = []
    for i in range(n):
        va = 0x0000_1234_5600_0000 + i * PAGE
        pa = 0x0000_0009_0000_0000 + i * 0x10_0000
        base = T + (i % 64) * 0x10_0000
        scen.append(
            el1_scenario(va, walk_4k_48(va, pa, base, ap=0b01) if i % 7 else {}, op=q.OPS[i % 4])
        )
        scen[-1].regs["TTBR0_EL1"] = base
    t0 = time.monotonic()
    r = q.run_batch(scen)
    dt = time.monotonic() - t0
    print(f"\n1000 scenarios in one boot: {dt:.3f}s ({dt / n * 1e6:.0f} us/scenario)")
    assert r.boots == 1 and len(r.pars) == n
    for i, par in enumerate(r.pars):
        if i % 7:
            assert par & 1 == 0 and pa_of(par) == 0x0000_0009_0000_0000 + i * 0x10_0000, i
        else:
            assert par & 1 == 1 and fst(par) == 0x04, (i, q.format_par(par))


def test_run_many_parallel():
    va, pa = 0x0000_1234_5678_9000, 0x0000_0009_8765_4000
    scen = [el1_scenario(va, walk_4k_48(va, pa, T)) for _ in range(600)]
    r = q.run_many(scen, batch_size=150, workers=2)
    assert len(r.pars) == 600 and r.boots == 4
    assert all(pa_of(p) == pa for p in r.pars)


# ------------------------------------------------------------------ hardware updates
def test_hardware_updates_do_not_leak_into_the_next_scenario():
    """An AT with TCR_EL1.HA=1 writes AF=1 into the guest's leaf descriptor. The guest writes
    every descriptor of a scenario before its AT and zeroes it afterwards, so the next
    scenario, the same tables with HA=0, still finds AF=0: an Access flag fault."""
    va, pa = 0x0000_1234_5678_9000, 0x0000_0009_8765_4000
    mem = walk_4k_48(va, pa, T)
    leaf_at = T + 3 * PAGE + 8 * idx(va, 3)
    mem[leaf_at] &= ~AF
    with_ha = el1_scenario(va, mem, name="ha")
    with_ha.regs["TCR_EL1"] |= 1 << 39  # HA
    without_ha = el1_scenario(va, dict(mem), name="no-ha")
    r = q.run_batch([with_ha, without_ha, with_ha, without_ha])
    for par in r.pars[0::2]:
        assert isinstance(par, int) and not par & 1 and pa_of(par) == pa, q.format_par(par)
    for par in r.pars[1::2]:
        assert isinstance(par, int) and par & 1 and fst(par) == 0x0B, q.format_par(par)
