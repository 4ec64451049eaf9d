"""The fact sheet's worked examples (section 10), with every descriptor address checked."""

import pytest

from model import Access, FaultKind, Regime, walk

from .helpers import TCR_EL1, vtcr

R = Access(1, "read")

EX1_TCR = TCR_EL1.encode(T0SZ=12, TG0=0, IPS=0b110, DS=1, SH0=0b11)
EX1_TTBR = 0x0001_0000_4000_0020
EX1_VA = 0x000F_1234_5678_9ABC
EX1_MEM = {
    0x0008_0000_4000_0078: 0x0000_0001_2345_6303,
    0x000C_0001_2345_6120: 0x0000_0000_00AB_C103,
    0x0004_0000_00AB_C688: 0x0001_0000_0000_F303,
    0x000D_0000_0000_F598: 0x0001_0000_000A_B303,
    0x000D_0000_000A_BC48: 0x0042_DCBA_9876_5F47,
}


def ex1(tcr=EX1_TCR, ttbr=EX1_TTBR, mem=None):
    regs = {"TCR_EL1": tcr, "TTBR0_EL1": ttbr}
    return walk(Regime.EL10, regs, EX1_MEM if mem is None else mem, EX1_VA, R)


def test_example1_4k_ds1_level_minus1_page():
    r = ex1()
    assert r.fault is None
    assert [lv.level for lv in r.levels] == [-1, 0, 1, 2, 3]
    assert [lv.desc_address for lv in r.levels] == list(EX1_MEM)
    assert [(lv.index_hi, lv.index_lo, lv.index) for lv in r.levels] == [
        (51, 48, 0xF),
        (47, 39, 0x024),
        (38, 30, 0x0D1),
        (29, 21, 0x0B3),
        (20, 12, 0x189),
    ]
    assert [lv.next_address for lv in r.levels[:4]] == [
        0x000C_0001_2345_6000,
        0x0004_0000_00AB_C000,
        0x000D_0000_0000_F000,
        0x000D_0000_000A_B000,
    ]
    assert r.levels[4].kind == "page"
    assert r.output_address == 0x000E_DCBA_9876_5ABC
    p = r.params["s1"]
    assert p.start_level == -1 and p.start_table_entries == 16 and p.start_table_bits == 7
    assert p.table_base == 0x0008_0000_4000_0000 and p.ttbr_52bit
    # shareability from TCR_EL1.SH0, not from desc[9:8]
    assert r.attrs.sh == 0b11 and "SH0" in r.attrs.sh_origin
    assert r.attrs.ng == 1 and r.attrs.attr_index == 1
    assert r.perms.by_el["EL0"].exec is False  # UXN=1
    assert r.descriptor_reads == 5


def test_example1a_level_minus1_block_is_translation_fault_0x2b():
    mem = dict(EX1_MEM)
    mem[0x0008_0000_4000_0078] = 0x0000_0001_2345_6301
    r = ex1(mem=mem)
    assert r.fault.kind == FaultKind.TRANSLATION
    assert r.fault.level == -1 and r.fault.fsc == 0x2B
    assert r.fault.rule == "block-level-unsupported"
    assert "set bit 1" in r.fault.fix


def test_example1b_ttbr_high_bits_with_48bit_ips_is_address_size_level0():
    r = ex1(tcr=TCR_EL1.set(EX1_TCR, "IPS", 0b101))
    assert r.fault.kind == FaultKind.ADDRESS_SIZE
    assert r.fault.level == 0 and r.fault.fsc == 0x00
    assert r.fault.rule == "ttbr-oa-out-of-range"
    assert r.descriptor_reads == 0


def test_example1c_level_minus1_table_above_ps_is_address_size_0x29():
    ttbr = 0x0001_0000_4000_0000  # TTBR[5:2] = 0: start table below 2^48
    mem = {0x0000_0000_4000_0078: EX1_MEM[0x0008_0000_4000_0078]}
    r = ex1(tcr=TCR_EL1.set(EX1_TCR, "IPS", 0b101), ttbr=ttbr, mem=mem)
    assert r.fault.kind == FaultKind.ADDRESS_SIZE
    assert r.fault.level == -1 and r.fault.fsc == 0x29
    assert r.fault.rule == "table-oa-out-of-range"


def test_example2_16k_ds1_ttbr1_64gb_block_at_level1():
    tcr = TCR_EL1.encode(T1SZ=12, TG1=0b01, IPS=0b110, DS=1, SH1=0b11)
    regs = {"TCR_EL1": tcr, "TTBR1_EL1": 0x0000_0000_1234_0014}
    mem = {
        0x0005_0000_1234_0080: 0x0002_0000_0BCD_4203,
        0x000A_0000_0BCD_4918: 0x0063_2340_0000_0601,
    }
    r = walk(Regime.EL10, regs, mem, 0xFFF8_1234_5678_9ABC, R)
    assert r.fault is None
    p = r.params["s1"]
    assert p.granule_kb == 16 and p.start_level == 0 and p.start_table_entries == 32
    assert p.ttbr_name == "TTBR1_EL1"
    assert [lv.desc_address for lv in r.levels] == list(mem)
    assert r.levels[0].index == 0x10 and r.levels[1].index == 0x123
    assert r.levels[0].next_address == 0x000A_0000_0BCD_4000
    assert r.levels[1].kind == "block"
    assert r.levels[1].output_address == 0x000B_2340_0000_0000
    assert r.attrs.block_size == 1 << 36
    assert r.output_address == 0x000B_2344_5678_9ABC


EX3_MEM = {
    0x0009_0000_0042_1530: 0x0000_1111_2222_F003,
    0x000F_1111_2222_1D90: 0x0000_3333_4444_2003,
    0x0002_3333_4444_A190: 0x0000_5555_6667_C703,
}


def test_example3_64k_lpa_lva_page():
    tcr = TCR_EL1.encode(T0SZ=12, TG0=0b01, IPS=0b110)
    regs = {"TCR_EL1": tcr, "TTBR0_EL1": 0x0000_0000_0042_0024}
    r = walk(Regime.EL10, regs, EX3_MEM, 0x000A_9876_5432_1ABC, R)
    assert r.fault is None
    p = r.params["s1"]
    assert p.start_level == 1 and p.start_table_entries == 1024 and p.ttbr_52bit
    assert p.table_base == 0x0009_0000_0042_0000
    assert [lv.desc_address for lv in r.levels] == list(EX3_MEM)
    assert [lv.index for lv in r.levels] == [0x2A6, 0x3B2, 0x1432]
    assert r.levels[0].next_address == 0x000F_1111_2222_0000
    assert r.levels[1].next_address == 0x0002_3333_4444_0000
    assert r.output_address == 0x000C_5555_6667_1ABC
    assert r.attrs.sh == 0b11 and "descriptor" in r.attrs.sh_origin


def test_example3_t0sz16_l1_index_is_6_bits():
    tcr = TCR_EL1.encode(T0SZ=16, TG0=0b01, IPS=0b110)
    regs = {"TCR_EL1": tcr, "TTBR0_EL1": 0x0042_0000}
    r = walk(Regime.EL10, regs, {}, 0x0000_9876_5432_1ABC, R)
    p = r.params["s1"]
    assert p.start_level == 1 and p.start_table_entries == 64
    assert (r.levels[0].index_hi, r.levels[0].index_lo) == (47, 42)


EX4_IPA = 0x000F_1234_5678_9ABC


def _ex4_regs(sl0, sl2, ds=1, t0sz=12):
    return {
        "VTCR_EL2": vtcr(T0SZ=t0sz, TG0=0, PS=0b110, DS=ds, SL0=sl0, SL2=sl2),
        "VTTBR_EL2": 0x0000_0000_8000_000C | (5 << 48),
    }


def test_example4_concatenated_level0_16_tables():
    regs = _ex4_regs(sl0=0b10, sl2=0)
    l0 = 0x0003_0000_8000_F120
    mem = {l0: 0x0000_0000_0010_0003}  # level 0 table -> 0x100000
    mem[0x0010_0000 | (((EX4_IPA >> 30) & 0x1FF) << 3)] = 0x0020_0003
    mem[0x0020_0000 | (((EX4_IPA >> 21) & 0x1FF) << 3)] = 0x0030_0003
    mem[0x0030_0000 | (((EX4_IPA >> 12) & 0x1FF) << 3)] = 0x0000_0000_7777_7000 | 0x4C3 | 0xFC
    r = walk(Regime.STAGE2, regs, mem, EX4_IPA, R)
    assert r.fault is None, r.fault
    p = r.params["s2"]
    assert p.start_level == 0 and p.concatenated_tables == 16
    assert p.table_base == 0x0003_0000_8000_0000 and p.start_table_align == 1 << 16
    lv0 = r.levels[0]
    assert (lv0.index_hi, lv0.index_lo, lv0.index) == (51, 39, 0x1E24)
    assert lv0.index >> 9 == 15 and lv0.index & 0x1FF == 36
    assert lv0.desc_address == l0
    assert r.output_address == 0x7777_7ABC


def test_example4_sl2_level_minus1():
    regs = _ex4_regs(sl0=0b00, sl2=1)
    r = walk(Regime.STAGE2, regs, {}, EX4_IPA, R)
    p = r.params["s2"]
    assert p.start_level == -1 and p.start_table_entries == 16
    lv = r.levels[0]
    assert (lv.level, lv.index_hi, lv.index_lo, lv.index) == (-1, 51, 48, 0xF)
    assert lv.desc_address == 0x0003_0000_8000_0078
    assert r.fault.level == -1 and r.fault.fsc == 0x2B  # empty memory: invalid descriptor


@pytest.mark.parametrize("sl0", [1, 2, 3])
def test_example4_sl2_with_nonzero_sl0_is_invalid(sl0):
    r = walk(Regime.STAGE2, _ex4_regs(sl0=sl0, sl2=1), {}, EX4_IPA, R)
    assert r.fault.rule == "s2-invalid-sl" and r.fault.level == 0 and r.fault.stage == 2
    assert r.fault.fsc == 0x04


def test_example4_sl2_ignored_with_ds0():
    r = walk(Regime.STAGE2, _ex4_regs(sl0=0, sl2=1, ds=0), {}, EX4_IPA, R)
    assert r.fault.kind == FaultKind.TRANSLATION and r.fault.level == 0
    assert any(w.code == "sl2-ignored" for w in r.warnings)
    # T0SZ=12 is below the DS=0 minimum (16) on a CPU with FEAT_LPA: mandatory fault
    assert r.fault.rule == "txsz-below-min"
    r2 = walk(Regime.STAGE2, _ex4_regs(sl0=0, sl2=1, ds=0, t0sz=16), {}, EX4_IPA >> 4, R)
    assert r2.fault.rule == "s2-inconsistent-sl" and r2.fault.level == 0
