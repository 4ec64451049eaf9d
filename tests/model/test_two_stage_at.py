"""Two-stage walks (S1PTW) and the AT instructions."""

import pytest

from model import LAYOUTS, Access, Choices, FaultKind, Regime, at, at_walk, walk
from model.arch.fields import HCR_EL2, PAR_EL1_FAULT, TCR_EL1, VTCR_EL2

from .helpers import AF, HCR, TCR_EL2, tcr1, vtcr

PAR = LAYOUTS["PAR_EL1"]
PARF = LAYOUTS["PAR_EL1_FAULT"]
VA = 0x0000_0012_3456_7ABC  # 39-bit VA space (T0SZ=25): levels 1..3
S1_TABLES_IPA = 0x10_0000
S2_BLOCK_PA = 0x4000_0000  # stage 2 maps IPA [0, 1GB) with a level-1 block here
VTTBR = 0x80_0000
S1_LEAF_IPA = 0x2000_0000


def _idx(addr, shift):
    return ((addr >> shift) & 0x1FF) << 3


def scenario(s2_ok=True, mair=0xFF, s2_memattr=0b1111, leaf_ap=0b01):
    s1_mem = {}
    t = [S1_TABLES_IPA + i * 0x1000 for i in range(3)]
    s1_mem[t[0] + _idx(VA, 30)] = t[1] | 0b11
    s1_mem[t[1] + _idx(VA, 21)] = t[2] | 0b11
    s1_mem[t[2] + _idx(VA, 12)] = S1_LEAF_IPA | AF | 0b11 | (leaf_ap << 6) | (0b11 << 8)
    mem = {S2_BLOCK_PA + ipa: v for ipa, v in s1_mem.items()}  # stored at their PAs
    s2_leaf = S2_BLOCK_PA | AF | 0b01 | (0b11 << 6) | (s2_memattr << 2) | (0b11 << 8)
    if s2_ok:
        mem[VTTBR + 0] = s2_leaf
    regs = {
        "TCR_EL1": tcr1(T0SZ=25, IPS=0b101, SH0=0b11),
        "TTBR0_EL1": S1_TABLES_IPA,
        "MAIR_EL1": mair,
        "SCTLR_EL1": 1,
        "VTCR_EL2": vtcr(T0SZ=25, TG0=0, SL0=1, PS=0b101),
        "VTTBR_EL2": VTTBR,
        "HCR_EL2": HCR.encode(VM=1, RW=1),
    }
    return regs, mem


def test_two_stage_walk_translates_every_table_address():
    regs, mem = scenario()
    r = walk(Regime.EL10_S12, regs, mem, VA, Access(1, "read"))
    assert r.fault is None
    assert [lv.desc_ipa for lv in r.levels] == [
        S1_TABLES_IPA + _idx(VA, 30),
        S1_TABLES_IPA + 0x1000 + _idx(VA, 21),
        S1_TABLES_IPA + 0x2000 + _idx(VA, 12),
    ]
    assert all(lv.desc_address == S2_BLOCK_PA + lv.desc_ipa for lv in r.levels)
    assert all(lv.s2 is not None and lv.s2.levels[0].kind == "block" for lv in r.levels)
    assert r.ipa == S1_LEAF_IPA | (VA & 0xFFF)
    assert r.output_address == S2_BLOCK_PA + r.ipa
    assert r.descriptor_reads == 3 * 2 + 1
    assert r.s2_final.output_address == r.output_address
    covered = sorted((s.oa_lo, s.oa_hi) for s in r.oa_sources)
    assert covered[0][0] == 0 and all(
        a[1] + 1 == b[0] for a, b in zip(covered, covered[1:], strict=False)
    )


def test_s1ptw_fault_reports_stage2_level():
    regs, mem = scenario(s2_ok=False)
    r = walk(Regime.EL10_S12, regs, mem, VA, Access(1, "read"))
    f = r.fault
    assert f.stage == 2 and f.s1ptw and f.level == 1 and f.fsc == 0x05
    assert PARF.get(r.par, "S") == 1 and PARF.get(r.par, "PTW") == 1
    assert PARF.get(r.par, "FST") == 0x05
    assert LAYOUTS["ESR_ISS_DA"].get(r.esr_iss, "S1PTW") == 1
    assert r.levels[0].desc_address is None and r.levels[0].raw is None


def test_s1ptw_ipa_out_of_s2_range_is_level0():
    regs, mem = scenario()
    regs["TTBR0_EL1"] = 1 << 40  # table IPA beyond the 39-bit stage-2 input size
    r = walk(Regime.EL10_S12, regs, mem, VA, Access(1, "read"))
    assert r.fault.rule == "ipa-out-of-range" and r.fault.s1ptw and r.fault.level == 0


def test_stage2_fault_on_final_ipa_not_s1ptw():
    regs, mem = scenario()
    regs["VTCR_EL2"] = vtcr(T0SZ=25, TG0=0, SL0=1, PS=0b101)
    mem[VTTBR + 0] |= 0  # keep
    # make stage 2 read-only: the write of the final IPA faults, table reads still work
    mem[VTTBR + 0] &= ~(1 << 7)
    r = walk(Regime.EL10_S12, regs, mem, VA, Access(1, "write"))
    assert r.fault.kind == FaultKind.PERMISSION and r.fault.stage == 2 and not r.fault.s1ptw
    assert r.fault.level == 1 and r.ipa is not None


def test_combined_attributes_more_restrictive():
    regs, mem = scenario(mair=0xFF, s2_memattr=0b0101)  # stage 2 Normal NC
    r = walk(Regime.EL10_S12, regs, mem, VA, Access(1, "read"))
    assert r.attrs.attr == 0x44
    regs, mem = scenario(mair=0xFF, s2_memattr=0b0001)  # stage 2 Device-nGnRE
    r = walk(Regime.EL10_S12, regs, mem, VA, Access(1, "read"))
    assert r.attrs.attr == 0x04
    assert PAR.get(r.par, "SH") == 0b10


def _par_pa(par):
    return PAR.get(par, "PA") << 12


def test_at_s12e1r_full_translation():
    regs, mem = scenario()
    par = at("s12e1r", VA, regs, mem)
    assert PAR.get(par, "F") == 0 and _par_pa(par) == S2_BLOCK_PA + S1_LEAF_IPA
    assert PAR.get(par, "ATTR") == 0xFF and PAR.get(par, "SH") == 0b11
    # NS is UNKNOWN for a Non-secure regime: the Non-secure PA space (1) by default, as QEMU.
    assert PAR.get(par, "RES1_11") == 1 and PAR.get(par, "NS") == 1
    zero = at("s12e1r", VA, regs, mem, choices=Choices(par_ns="zero"))
    assert zero == par & ~(1 << 9)


def test_at_s1e1r_returns_ipa_but_walks_tables_through_stage2():
    regs, mem = scenario()
    par = at("s1e1r", VA, regs, mem)
    assert _par_pa(par) == S1_LEAF_IPA
    regs, mem = scenario(s2_ok=False)
    parf = at("s1e1r", VA, regs, mem)
    assert PARF.get(parf, "F") == 1 and PARF.get(parf, "S") == 1 and PARF.get(parf, "PTW") == 1


def test_at_s1e0r_and_s1e0w_are_el0_accesses():
    regs, mem = scenario(leaf_ap=0b00)  # EL1 only
    assert PARF.get(at("s1e0r", VA, regs, mem), "F") == 1
    assert PARF.get(at("s1e0r", VA, regs, mem), "FST") == 0x0F
    assert PAR.get(at("s1e1r", VA, regs, mem), "F") == 0
    assert PARF.get(at("s1e0w", VA, regs, mem), "F") == 1


def test_at_s1e1w_permission():
    regs, mem = scenario(leaf_ap=0b10)  # EL1 read-only
    assert PAR.get(at("s1e1r", VA, regs, mem), "F") == 0
    par = at("s1e1w", VA, regs, mem)
    assert PARF.get(par, "F") == 1 and PARF.get(par, "FST") == 0x0F and PARF.get(par, "S") == 0


def test_at_s12e0r_s12e0w():
    regs, mem = scenario(leaf_ap=0b11)
    assert _par_pa(at("s12e0r", VA, regs, mem)) == S2_BLOCK_PA + S1_LEAF_IPA
    assert PARF.get(at("s12e0w", VA, regs, mem), "FST") == 0x0F
    assert PARF.get(at("s12e1w", VA, regs, mem), "FST") == 0x0F


def test_at_s12_with_vm0_behaves_as_s1():
    regs, mem = scenario()
    regs["HCR_EL2"] = HCR.encode(RW=1)
    s1_mem = {k - S2_BLOCK_PA: v for k, v in mem.items() if k >= S2_BLOCK_PA}
    assert at("s12e1r", VA, regs, s1_mem) == at("s1e1r", VA, regs, s1_mem)
    assert _par_pa(at("s12e1r", VA, regs, s1_mem)) == S1_LEAF_IPA


def test_at_mmu_off_flat():
    regs, mem = scenario()
    regs["SCTLR_EL1"] = 0
    regs["HCR_EL2"] = 0
    par = at("s1e1r", 0x1234_5000, regs, mem)
    assert _par_pa(par) == 0x1234_5000 and PAR.get(par, "ATTR") == 0
    assert PAR.get(par, "SH") == 0b10
    assert PARF.get(at("s1e1r", 1 << 60, regs, mem), "F") == 1


def test_at_s12_stage1_off_stage2_on():
    regs, mem = scenario()
    regs["SCTLR_EL1"] = 0
    par = at("s12e1r", 0x1234_5000, regs, mem)
    assert _par_pa(par) == S2_BLOCK_PA + 0x1234_5000
    assert PAR.get(par, "ATTR") == 0x00  # Device from the disabled stage 1 wins


def test_at_tge_e2h0_disables_el10_stage1():
    regs, mem = scenario()
    regs["HCR_EL2"] = HCR.encode(TGE=1, RW=1)
    assert _par_pa(at("s1e1r", 0x1234_5000, regs, mem)) == 0x1234_5000


def _el2_scenario():
    va = 0x12_3456_7000
    mem = {}
    t = [0x20_0000 + i * 0x1000 for i in range(3)]
    mem[t[0] + _idx(va, 30)] = t[1] | 0b11
    mem[t[1] + _idx(va, 21)] = t[2] | 0b11
    mem[t[2] + _idx(va, 12)] = 0x7000_0000 | AF | 0b11 | (0b10 << 6)
    regs = {
        "TCR_EL2": TCR_EL2.encode(T0SZ=25, PS=0b101),
        "TTBR0_EL2": 0x20_0000,
        "SCTLR_EL2": 1,
        "MAIR_EL2": 0x04,
    }
    return va, regs, mem


def test_at_s1e2r_s1e2w_el2_regime():
    va, regs, mem = _el2_scenario()
    par = at("s1e2r", va, regs, mem)
    assert _par_pa(par) == 0x7000_0000 and PAR.get(par, "ATTR") == 0x04
    assert PAR.get(par, "SH") == 0b10  # Device
    assert PARF.get(at("s1e2w", va, regs, mem), "FST") == 0x0F


def test_at_s1e2r_vhe_uses_el20():
    va, regs, mem = _el2_scenario()
    regs["HCR_EL2"] = HCR.encode(E2H=1)
    regs["TCR_EL2"] = LAYOUTS["TCR_EL2_E2H"].encode(T0SZ=25, IPS=0b101, EPD1=1)
    res = at_walk("s1e2r", va, regs, mem)
    assert res.regime == "el20" and _par_pa(res.par) == 0x7000_0000


@pytest.mark.parametrize("op,el", [("s1e1r", 2), ("s1e0r", 0), ("s12e1r", 2)])
def test_at_host_e2h_tge(op, el):
    va, regs, mem = _el2_scenario()
    regs["HCR_EL2"] = HCR.encode(E2H=1, TGE=1, VM=1)
    regs["TCR_EL2"] = LAYOUTS["TCR_EL2_E2H"].encode(T0SZ=25, IPS=0b101, EPD1=1)
    res = at_walk(op, va, regs, mem)
    assert res.regime == "el20" and res.access.el == el and res.s2_final is None


def test_two_stage_read_count_bound_with_background_tables():
    from model import tables_for

    regs = {
        "TCR_EL1": tcr1(T0SZ=12, DS=1, IPS=6),
        "VTCR_EL2": vtcr(T0SZ=12, TG0=0, SL0=0, SL2=1, PS=6, DS=1),
        "HCR_EL2": HCR.encode(VM=1),
        "VTTBR_EL2": 0x4000_0000,
        "TTBR0_EL1": 0x1000,
    }
    r = walk(Regime.EL10_S12, regs, tables_for(regs), 0x000F_1234_5678_9ABC, "el1r")
    assert r.fault is None, r.fault
    assert r.descriptor_reads == (5 + 1) * (5 + 1) - 1
    assert all(lv.synthetic for lv in r.levels)


def test_invalid_s2_sl0_faults_at_level_0_instead_of_walking():
    # 16KB with SL0=0b11 (level 0) needs DS=1 (AArch64.S2InvalidSL): stage-2 Translation
    # fault at level 0, here on the IPA of an AT S12E1R with stage 1 off.
    regs = {
        "HCR_EL2": HCR_EL2.encode(RW=1, VM=1),
        "VTCR_EL2": VTCR_EL2.encode(T0SZ=21, SL0=0b11, TG0=0b10, PS=0b101),
        "VTTBR_EL2": 0x6000_0000,
    }
    result = at_walk("s12e1r", 0x1000, regs, {})
    assert result.fault.rule == "s2-invalid-sl"
    assert (result.fault.kind, result.fault.level, result.fault.stage) == ("translation", 0, 2)
    assert result.par == PAR_EL1_FAULT.encode(F=1, FST=0x04, S=1, RES1_11=1)


@pytest.mark.parametrize(("tbi", "faults"), [(1, False), (0, True)])
def test_stage1_off_address_size_check_honours_tbi(tbi, faults):
    # AArch64.S1DisabledOutput checks VA[AddrTop:PAMax]; AddrTop is 55 with TBI.
    va = 0x5400_0000_1234_5678
    regs = {"HCR_EL2": HCR_EL2.encode(RW=1), "TCR_EL1": TCR_EL1.encode(T0SZ=16, TBI0=tbi)}
    result = at_walk("s1e1r", va, regs, {})
    if faults:
        assert result.fault.rule == "flat-oa-out-of-range" and result.fault.fsc == 0x00
    else:
        assert result.fault is None
        assert result.output_address == va & ((1 << 52) - 1) == 0x1234_5678
