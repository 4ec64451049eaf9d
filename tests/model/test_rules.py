"""One test per rule of the fact sheet (sections 1-7)."""

import pytest

from model import CPU_PRESETS, Access, Choices, FaultKind, Regime, geometry, walk

from .helpers import AF, HCR, TCR_EL1, TCR_EL2, TCR_EL2_E2H, chain_4k, tcr1, vtcr

MAX = CPU_PRESETS["max"]
V8 = CPU_PRESETS["v8-48bit"]
R1 = Access(1, "read")
VA = 0x0000_1234_5678_9000


def s1(tcr, mem, va=VA, access=R1, cpu=MAX, choices=None, ttbr0=0, ttbr1=0, **regs):
    r = {"TCR_EL1": tcr, "TTBR0_EL1": ttbr0, "TTBR1_EL1": ttbr1, **regs}
    return walk(Regime.EL10, r, mem, va, access, cpu=cpu, choices=choices or Choices())


def leaf_walk(tcr, leaf, va=VA, levels=(0, 1, 2, 3), **kw):
    mem = chain_4k(va, 0x10_0000, list(levels), leaf)
    return s1(tcr, mem, va=va, ttbr0=0x10_0000, **kw)


# ---- TxSZ limits (section 2) ---------------------------------------------------------------


def test_txsz_below_min_faults_level0():
    r = s1(tcr1(T0SZ=12), {})  # DS=0: min 16
    assert r.fault.rule == "txsz-below-min" and r.fault.level == 0 and r.fault.fsc == 0x04


def test_txsz_above_max_faults_or_clamps():
    r = s1(tcr1(T0SZ=49), {}, va=0x1000)
    assert r.fault.rule == "txsz-above-max"
    r2 = s1(tcr1(T0SZ=49), {}, va=0x1000, choices=Choices(txsz_out_of_range="clamp"))
    assert r2.params["s1"].txsz == 48 and r2.choices_used["txsz_out_of_range"] == "clamp"
    assert r2.fault.rule == "invalid-descriptor"


def test_txsz_max_without_ttst_is_39():
    r = s1(tcr1(T0SZ=40), {}, va=0x1000, cpu=V8)
    assert r.fault.rule == "txsz-above-max"
    assert geometry.max_txsz(64, True) == 47 and geometry.max_txsz(4, True) == 48


def test_txsz_below_min_clamps_only_without_lva():
    clamp = Choices(txsz_out_of_range="clamp")
    r = s1(tcr1(T0SZ=12), {}, choices=clamp)  # max CPU has FEAT_LVA: fault mandatory
    assert r.fault.rule == "txsz-below-min"
    r2 = s1(tcr1(T0SZ=12), {}, choices=clamp, cpu=V8)
    assert r2.params["s1"].txsz == 16 and r2.fault.rule == "invalid-descriptor"


def test_min_txsz_ds1_is_12_and_level_minus1():
    r = s1(tcr1(T0SZ=12, DS=1, IPS=6), {})
    assert r.params["s1"].start_level == -1 and r.fault.level == -1


def test_t0sz_11_faults_even_with_ds1():
    assert s1(tcr1(T0SZ=11, DS=1, IPS=6), {}).fault.rule == "txsz-below-min"


def test_64k_t0sz12_needs_lva():
    r = s1(tcr1(T0SZ=12, TG0=1, IPS=6), {})
    assert r.params["s1"].start_level == 1
    assert s1(tcr1(T0SZ=12, TG0=1), {}, cpu=V8).fault.rule == "txsz-below-min"


def test_setup_fault_level_choice_start_level():
    ch = Choices(setup_fault_level="start_level")
    r = s1(tcr1(T0SZ=12, DS=1, IPS=6), {}, va=1 << 53, choices=ch)
    assert r.fault.rule == "va-out-of-range" and r.fault.level == -1 and r.fault.fsc == 0x2B
    assert r.choices_used["setup_fault_level"] == "start_level"
    r0 = s1(tcr1(T0SZ=12, DS=1, IPS=6), {}, va=1 << 53)
    assert r0.fault.level == 0 and r0.choices_used["setup_fault_level"] == "level0"


# ---- start level and index fields (section 3) ---------------------------------------------


@pytest.mark.parametrize(
    "granule,iasize,level",
    [
        (4, 52, -1),
        (4, 49, -1),
        (4, 48, 0),
        (4, 40, 0),
        (4, 39, 1),
        (4, 31, 1),
        (4, 30, 2),
        (4, 22, 2),
        (4, 21, 3),
        (16, 52, 0),
        (16, 48, 0),
        (16, 47, 1),
        (16, 37, 1),
        (16, 36, 2),
        (16, 26, 2),
        (16, 25, 3),
        (64, 52, 1),
        (64, 43, 1),
        (64, 42, 2),
        (64, 30, 2),
        (64, 29, 3),
    ],
)
def test_start_level_from_txsz(granule, iasize, level):
    assert geometry.s1_start_level(iasize, granule) == level


def test_start_table_sizes():
    assert geometry.start_table_entries(52, 4, -1) == 16
    assert geometry.start_table_entries(49, 4, -1) == 2
    assert geometry.start_table_entries(52, 16, 0) == 32
    assert geometry.start_table_entries(52, 64, 1) == 1024


def test_52bit_ttbr_min_alignment_64_bytes():
    # 4KB T0SZ=15 -> 2-entry (16-byte) start table, but 64-byte alignment in the 52-bit format
    r = s1(tcr1(T0SZ=15, DS=1, IPS=6), {}, ttbr0=0x4000_0030, va=0x1_0000_0000_0000)
    p = r.params["s1"]
    assert p.start_table_bits == 4 and p.start_table_align == 64
    assert p.table_base == 0x000C_0000_4000_0000  # TTBR[5:2]=0b1100 -> base[51:48]
    assert r.levels[0].desc_address == 0x000C_0000_4000_0008


def test_ttbr_normal_format_aligned_to_table_size():
    r = s1(tcr1(T0SZ=27), {}, ttbr0=0x4000_0FF8, va=0x1000)
    p = r.params["s1"]
    assert p.start_level == 1 and p.start_table_entries == 128
    assert p.table_base == 0x4000_0C00 and not p.ttbr_52bit
    assert any(w.code == "ttbr-misaligned" for w in r.warnings)


def test_64k_ttbr_52bit_format_needs_ips_110():
    tcr = tcr1(T0SZ=16, TG0=1, IPS=0b101)
    r = s1(tcr, {}, ttbr0=0x4001_0004, va=0x1000)
    assert not r.params["s1"].ttbr_52bit
    r2 = s1(TCR_EL1.set(tcr, "IPS", 0b110), {}, ttbr0=0x4001_0004, va=0x1000)
    assert r2.params["s1"].ttbr_52bit and r2.params["s1"].table_base == 0x1_0000_4001_0000


# ---- TG1 encoding, TBI, EPD, E0PD ------------------------------------------------------------


@pytest.mark.parametrize("tg1,granule", [(0b01, 16), (0b10, 4), (0b11, 64)])
def test_tg1_encoding(tg1, granule):
    r = s1(tcr1(T1SZ=25, TG1=tg1), {}, va=0xFFFF_FFFF_8000_0000)
    assert r.params["s1"].granule_kb == granule and r.params["s1"].ttbr_name == "TTBR1_EL1"


def test_tg_reserved_uses_smallest_implemented():
    r = s1(tcr1(T1SZ=25, TG1=0), {}, va=0xFFFF_FFFF_8000_0000)
    assert r.params["s1"].granule_kb == 4
    assert r.choices_used["unimplemented_granule"] == "smallest"
    r2 = s1(tcr1(T0SZ=25, TG0=3), {}, va=0x1000, choices=Choices(unimplemented_granule="largest"))
    assert r2.params["s1"].granule_kb == 64


def test_ttbr_selected_by_va55_not_va63():
    tcr = tcr1(T0SZ=16, T1SZ=16, TBI0=1, TBI1=1)
    r = s1(tcr, {}, va=0x0080_1234_5678_9000)  # VA[55]=1, top byte 0
    assert r.params["s1"].ttbr_name == "TTBR1_EL1"


def test_tbi_range_check_uses_bits_55():
    tagged = 0xAB00_1234_5678_9000
    r = s1(tcr1(T0SZ=16), {}, va=tagged)
    assert r.fault.rule == "va-out-of-range" and r.fault.level == 0
    r2 = s1(tcr1(T0SZ=16, TBI0=1), {}, va=tagged)
    assert r2.fault.rule == "invalid-descriptor"


def test_tbid_does_not_apply_to_instruction_fetch():
    tagged = 0xAB00_1234_5678_9000
    r = s1(tcr1(T0SZ=16, TBI0=1, TBID0=1), {}, va=tagged, access=Access(1, "exec"))
    assert r.fault.rule == "va-out-of-range"


def test_va_out_of_range_ttbr1():
    r = s1(tcr1(T1SZ=16), {}, va=0xFFF0_0000_0000_0000 | (1 << 55))
    assert r.fault.rule == "va-out-of-range"


@pytest.mark.parametrize("n,va", [(0, 0x1000), (1, 0xFFFF_FFFF_FFFF_F000)])
def test_epd(n, va):
    r = s1(tcr1(T0SZ=16, T1SZ=16, **{f"EPD{n}": 1}), {}, va=va)
    assert r.fault.rule == "epd" and r.fault.level == 0 and r.descriptor_reads == 0


def test_e0pd_only_for_el0():
    tcr = tcr1(T0SZ=16, E0PD0=1)
    assert s1(tcr, {}, va=0x1000, access=Access(0, "read")).fault.rule == "e0pd"
    assert s1(tcr, {}, va=0x1000, access=R1).fault.rule == "invalid-descriptor"


def test_check_order_va_range_before_epd():
    r = s1(tcr1(T0SZ=16, EPD0=1), {}, va=0x0001_0000_0000_0000)
    assert r.fault.rule == "va-out-of-range"


# ---- descriptors (section 5) ----------------------------------------------------------------


def test_invalid_descriptor_translation_fault_at_level():
    mem = {0x10_0000 | (((VA >> 39) & 0x1FF) << 3): 0x20_0003}
    r = s1(tcr1(T0SZ=16), mem, ttbr0=0x10_0000)
    assert r.fault.rule == "invalid-descriptor" and r.fault.level == 1 and r.fault.fsc == 0x05


def test_reserved_level3_encoding():
    r = leaf_walk(tcr1(T0SZ=16), 0x4000_0000 | AF | 0b01)
    assert r.fault.rule == "reserved-l3" and r.fault.level == 3 and r.fault.fsc == 0x07


def _block_case(granule, level, ds, cpu, iasize):
    """Walk where the descriptor at ``level`` is a block (tables before it)."""
    gb = geometry.granule_bits(granule)
    txsz = 64 - iasize
    tg0 = {4: 0, 16: 2, 64: 1}[granule]
    tcr = tcr1(T0SZ=txsz, TG0=tg0, DS=int(ds), IPS=6 if cpu.pamax == 52 else 5)
    start = geometry.s1_start_level(iasize, granule)
    va = 0
    mem = {}
    table = 1 << 30
    for _lvl in range(start, level):
        nxt = table + (1 << gb)
        mem[table] = nxt | 0b11
        table = nxt
    mem[table] = AF | 0b01
    return s1(tcr, mem, va=va, ttbr0=1 << 30, cpu=cpu)


def _block_matrix():
    """Every (granule, DS, level, CPU) whose walk reaches ``level`` (level -1 only exists for
    4KB with effective DS=1)."""
    for cpu_id, cpu in (("max", MAX), ("v8", V8)):
        for granule in (4, 16, 64):
            for ds in (False, True):
                iasize = 52 if ((ds and cpu.has_lpa2) or (granule == 64 and cpu.has_lva)) else 48
                start = geometry.s1_start_level(iasize, granule)
                for level in range(start, 3):
                    yield pytest.param(
                        granule,
                        ds,
                        level,
                        cpu,
                        iasize,
                        id=f"{granule}k-ds{int(ds)}-l{level}-{cpu_id}",
                    )


@pytest.mark.parametrize(("granule", "ds", "level", "cpu", "iasize"), list(_block_matrix()))
def test_block_level_granule_ds_matrix(granule, ds, level, cpu, iasize):
    r = _block_case(granule, level, ds, cpu, iasize)
    ds_eff = ds and granule != 64 and cpu.granule_lpa2(granule)
    allowed = {
        4: level in (1, 2) or (level == 0 and ds_eff),
        16: level == 2 or (level == 1 and ds_eff),
        64: level == 2 or (level == 1 and cpu.pamax >= 52),
    }[granule]
    if allowed:
        assert r.fault is None, r.fault
        assert r.levels[-1].kind == "block"
    else:
        assert r.fault.kind == FaultKind.TRANSLATION and r.fault.level == level
        assert r.fault.rule == "block-level-unsupported"
        assert r.levels[-1].kind == "block-not-allowed"


def test_ds1_desc_bits_9_8_are_oa_not_sh():
    leaf = 0x4000_0000 | AF | 0b11 | (0b10 << 8)
    mem = chain_4k(VA, 0x10_0000, [0, 1, 2, 3], leaf)
    r = s1(tcr1(T0SZ=16, DS=1, IPS=6, SH0=0b11), mem, ttbr0=0x10_0000)
    assert r.output_address == (0b10 << 50) | 0x4000_0000
    assert r.attrs.sh == 0b11
    assert r.oa_sources[0].oa_hi == 51 and r.oa_sources[0].src_hi == 9
    assert any("OA[51:50]" in w.message for w in r.warnings)


def test_ds0_desc_bits_49_48_not_address():
    leaf = (0b11 << 48) | 0x4000_0000 | AF | 0b11 | (0b10 << 8)
    r = leaf_walk(tcr1(T0SZ=16, IPS=6), leaf)
    assert r.output_address == 0x4000_0000 | (VA & 0xFFF)
    assert r.attrs.sh == 0b10
    assert any(w.code == "res0" for w in r.warnings)


def test_leaf_oa_above_ps_is_address_size_fault():
    leaf = (1 << 45) | AF | 0b11
    r = leaf_walk(tcr1(T0SZ=16, IPS=0b010), leaf)  # 40-bit PS
    assert r.fault.rule == "leaf-oa-out-of-range" and r.fault.level == 3 and r.fault.fsc == 3


def test_high_oa_bits_ignored_choice_like_qemu():
    leaf = (0b01 << 8) | 0x4000_0000 | AF | 0b11
    tcr = tcr1(T0SZ=16, DS=1, IPS=0b101)
    assert leaf_walk(tcr, leaf).fault.rule == "leaf-oa-out-of-range"
    r = leaf_walk(tcr, leaf, choices=Choices(high_oa_bits="ignore"))
    assert r.fault is None and r.choices_used["high_oa_bits"] == "ignore"


def test_effective_ps_capped_at_48_without_52bit_granule():
    r = s1(tcr1(T0SZ=16, IPS=6), {}, va=0x1000, cpu=CPU_PRESETS["lpa-lva"])
    assert r.params["s1"].ps_bits == 52 and r.params["s1"].oa_bits == 48
    r64 = s1(tcr1(T0SZ=16, TG0=1, IPS=6), {}, va=0x1000, cpu=CPU_PRESETS["lpa-lva"])
    assert r64.params["s1"].oa_bits == 52


def test_ds_forced_to_0_without_lpa2_for_that_granule():
    r = s1(tcr1(T0SZ=16, DS=1, IPS=6), {}, va=0x1000, cpu=CPU_PRESETS["lpa-lva"])
    assert not r.params["s1"].ds
    assert any(w.code == "ds-forced-0" for w in r.warnings)
    assert r.choices_used["ds_validity"] == "per_granule"
    cpu = MAX.replace(tgran4=0)  # LPA2 only for 16KB
    assert not s1(tcr1(T0SZ=16, DS=1), {}, va=0x1000, cpu=cpu).params["s1"].ds
    r2 = s1(tcr1(T0SZ=16, DS=1), {}, va=0x1000, cpu=cpu, choices=Choices(ds_validity="feat_lpa2"))
    assert r2.params["s1"].ds


def test_ds_ignored_for_64k():
    r = s1(tcr1(T0SZ=16, TG0=1, DS=1, IPS=6), {}, va=0x1000)
    assert not r.params["s1"].ds and r.params["s1"].desc_variant == "LPA"


def test_contiguous_ignored_at_4k_level0_block():
    va = 0
    mem = {1 << 30: AF | 0b01 | (1 << 52)}
    r = s1(tcr1(T0SZ=16, DS=1, IPS=6), mem, va=va, ttbr0=1 << 30)
    assert r.levels[0].kind == "block" and not r.attrs.contiguous
    assert any(w.code == "contiguous-ignored" for w in r.warnings)


# ---- access flag and permissions ------------------------------------------------------------


def test_af_zero_access_flag_fault():
    r = leaf_walk(tcr1(T0SZ=16), 0x4000_0000 | 0b11)
    assert r.fault.rule == "af-zero" and r.fault.fsc == 0x0B


def test_af_level0_block_fsc_0x08():
    r = s1(tcr1(T0SZ=16, DS=1, IPS=6), {1 << 30: 0b01}, va=0, ttbr0=1 << 30)
    assert r.fault.kind == FaultKind.ACCESS_FLAG and r.fault.fsc == 0x08


def test_af_zero_with_ha_no_fault():
    leaf = 0x4000_0000 | 0b11
    r = leaf_walk(tcr1(T0SZ=16, HA=1), leaf)
    assert r.fault is None
    (update,) = r.updates()
    assert (update.old, update.new) == (leaf, leaf | AF) and update.sets_af
    assert r.levels[-1].update is update


AP = {"rw_el1": 0b00, "rw_all": 0b01, "ro_el1": 0b10, "ro_all": 0b11}


@pytest.mark.parametrize(
    "ap,el,kind,ok",
    [
        ("rw_el1", 1, "write", True),
        ("rw_el1", 0, "read", False),
        ("rw_all", 0, "write", True),
        ("ro_el1", 1, "write", False),
        ("ro_el1", 1, "read", True),
        ("ro_all", 0, "read", True),
        ("ro_all", 0, "write", False),
        ("rw_all", 1, "exec", False),  # EL0-writable is PXN for EL1
        ("ro_all", 1, "exec", True),
        ("ro_all", 0, "exec", True),
    ],
)
def test_permissions_el0_el1(ap, el, kind, ok):
    leaf = 0x4000_0000 | AF | 0b11 | (AP[ap] << 6)
    r = leaf_walk(tcr1(T0SZ=16), leaf, access=Access(el, kind))
    if ok:
        assert r.fault is None
    else:
        assert r.fault.kind == FaultKind.PERMISSION and r.fault.level == 3
        assert r.fault.fsc == 0x0F


def test_pxn_uxn():
    leaf = 0x4000_0000 | AF | 0b11 | (0b11 << 6) | (1 << 53)
    assert leaf_walk(tcr1(T0SZ=16), leaf, access=Access(1, "exec")).fault.rule == "permission"
    assert leaf_walk(tcr1(T0SZ=16), leaf, access=Access(0, "exec")).fault is None
    leaf2 = 0x4000_0000 | AF | 0b11 | (0b11 << 6) | (1 << 54)
    assert leaf_walk(tcr1(T0SZ=16), leaf2, access=Access(0, "exec")).fault.rule == "permission"


def test_wxn():
    leaf = 0x4000_0000 | AF | 0b11
    r = leaf_walk(tcr1(T0SZ=16), leaf, access=Access(1, "exec"), SCTLR_EL1=1 | (1 << 19))
    assert r.fault.rule == "permission"


def _table_attr_walk(table_bits, hpd=0, access=R1, leaf_ap=0b01):
    mem = chain_4k(VA, 0x10_0000, [0, 1, 2, 3], 0x4000_0000 | AF | 0b11 | (leaf_ap << 6))
    l1 = 0x10_0000 | (((VA >> 39) & 0x1FF) << 3)
    mem[l1] |= table_bits
    return s1(tcr1(T0SZ=16, HPD0=hpd), mem, ttbr0=0x10_0000, access=access)


def test_aptable_accumulation():
    assert _table_attr_walk(1 << 61, access=Access(0, "read")).fault.rule == "permission"
    assert _table_attr_walk(1 << 61, access=Access(1, "write")).fault is None
    assert _table_attr_walk(1 << 62, access=Access(1, "write")).fault.rule == "permission"
    r = _table_attr_walk(3 << 61)
    assert r.perms.by_el["EL0"].read is False and r.perms.by_el["EL1"].write is False


def test_xntable_accumulation():
    r = _table_attr_walk(1 << 59, leaf_ap=0b11)
    assert r.perms.by_el["EL1"].exec is False and r.perms.by_el["EL0"].exec is True
    r2 = _table_attr_walk(1 << 60, leaf_ap=0b11)
    assert r2.perms.by_el["EL0"].exec is False and r2.perms.by_el["EL1"].exec is True


def test_hpd_disables_table_permissions():
    r = _table_attr_walk((1 << 62) | (1 << 59), hpd=1, access=Access(1, "write"), leaf_ap=0)
    assert r.fault is None and r.perms.by_el["EL1"].exec is True
    assert any(w.code == "hpd" for w in r.warnings)


def test_dbm_write_with_ha_hd():
    leaf = 0x4000_0000 | AF | 0b11 | (0b10 << 6) | (1 << 51)
    w = Access(1, "write")
    assert leaf_walk(tcr1(T0SZ=16), leaf, access=w).fault.rule == "permission"
    assert leaf_walk(tcr1(T0SZ=16, HA=1, HD=1), leaf, access=w).fault is None


# ---- EL2 regimes ---------------------------------------------------------------------------


def test_el2_single_range_tcr_layout_ds_bit32():
    tcr = TCR_EL2.encode(T0SZ=12, DS=1, PS=6)
    regs = {"TCR_EL2": tcr, "TTBR0_EL2": 0x4000_0000}
    r = walk(Regime.EL2, regs, {}, 0x000F_0000_0000_0000, Access(2, "read"))
    p = r.params["s1"]
    assert p.ds and p.start_level == -1 and p.ps_field == "TCR_EL2.PS"
    # bit 59 does nothing in this layout
    r2 = walk(Regime.EL2, {"TCR_EL2": (1 << 59) | 16}, {}, 0x1000, Access(2, "read"))
    assert not r2.params["s1"].ds


def test_el2_single_range_high_va_out_of_range():
    r = walk(
        Regime.EL2,
        {"TCR_EL2": TCR_EL2.encode(T0SZ=16)},
        {},
        0xFFFF_0000_0000_0000,
        Access(2, "read"),
    )
    assert r.fault.rule == "va-out-of-range"


def test_el2_ap1_ignored_aptable1_and_xntable():
    va = 0x1234_5678_9000
    leaf = 0x4000_0000 | AF | 0b11  # AP[1]=0 would deny EL0 in a two-range regime
    mem = chain_4k(va, 0x10_0000, [0, 1, 2, 3], leaf)
    regs = {"TCR_EL2": TCR_EL2.encode(T0SZ=16), "TTBR0_EL2": 0x10_0000}
    r = walk(Regime.EL2, regs, mem, va, Access(2, "write"))
    assert r.fault is None and set(r.perms.by_el) >= {"EL2"}
    l0 = 0x10_0000 | (((va >> 39) & 0x1FF) << 3)
    mem[l0] |= (1 << 62) | (1 << 60) | (1 << 61)
    r2 = walk(Regime.EL2, regs, mem, va, Access(2, "write"))
    assert r2.fault.rule == "permission"
    assert walk(Regime.EL2, regs, mem, va, Access(2, "read")).fault is None
    assert r2.perms.by_el["EL2"].exec is False


def test_el20_vhe_two_ranges_tcr_el1_layout():
    tcr = TCR_EL2_E2H.encode(T0SZ=16, T1SZ=12, TG1=0b10, DS=1, IPS=6)
    regs = {"TCR_EL2": tcr, "TTBR1_EL2": 0x4000_0000, "HCR_EL2": HCR.encode(E2H=1, TGE=1)}
    r = walk(Regime.EL20, regs, {}, 0xFFF0_0000_0000_0000, Access(2, "read"))
    p = r.params["s1"]
    assert p.ttbr_name == "TTBR1_EL2" and p.ds and p.start_level == -1


# ---- stage 2 --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "granule,start",
    [(4, 0), (4, 1), (4, 2), (4, 3), (16, 1), (16, 2), (16, 3), (64, 2), (64, 3)],
)
def test_s2_concatenation_at_every_start_level(granule, start):
    lo, hi = geometry.s2_iasize_range(granule, start)
    sl0 = {4: {2: 0, 1: 1, 0: 2, 3: 3}, 16: {3: 0, 2: 1, 1: 2, 0: 3}, 64: {3: 0, 2: 1, 1: 2}}[
        granule
    ][start]
    tg0 = {4: 0, 16: 2, 64: 1}[granule]
    ds = int(granule != 64 and hi > 48)
    regs = {"VTCR_EL2": vtcr(T0SZ=64 - hi, TG0=tg0, SL0=sl0, PS=6, DS=ds), "VTTBR_EL2": 0}
    ipa = (1 << hi) - (1 << geometry.granule_bits(granule))
    r = walk(Regime.STAGE2, regs, {}, ipa, R1)
    p = r.params["s2"]
    assert r.fault.rule == "invalid-descriptor" and r.fault.level == start
    assert p.start_level == start
    assert p.concatenated_tables == geometry.s2_max_concatenation(granule, start)
    assert p.concatenated_tables == (
        16 if hi - lo == geometry.stride(granule) + 3 else p.concatenated_tables
    )
    lv = r.levels[0]
    assert lv.index == (1 << (hi - lv.index_lo)) - 1
    # one fewer bit is inconsistent with this start level
    regs2 = {"VTCR_EL2": vtcr(T0SZ=65 - lo, TG0=tg0, SL0=sl0, PS=6, DS=ds)}
    r2 = walk(Regime.STAGE2, regs2, {}, 0, R1)
    if 65 - lo <= geometry.max_txsz(granule, True):
        assert r2.fault.rule == "s2-inconsistent-sl" and r2.fault.level == 0


def test_s2_16k_level0_needs_ds():
    regs = {"VTCR_EL2": vtcr(T0SZ=12, TG0=2, SL0=3, PS=6, DS=0)}
    assert walk(Regime.STAGE2, regs, {}, 0, R1).fault.rule in ("s2-invalid-sl", "txsz-below-min")
    regs = {"VTCR_EL2": vtcr(T0SZ=16, TG0=2, SL0=3, PS=6, DS=0)}
    assert walk(Regime.STAGE2, regs, {}, 0, R1).fault.rule == "s2-invalid-sl"
    regs = {"VTCR_EL2": vtcr(T0SZ=12, TG0=2, SL0=3, PS=6, DS=1)}
    assert walk(Regime.STAGE2, regs, {}, 0, R1).params["s2"].start_level == 0


def test_s2_sl0_level0_needs_pamax_44():
    cpu = MAX.replace(parange=2)  # 40 bits
    regs = {"VTCR_EL2": vtcr(T0SZ=24, TG0=0, SL0=2, PS=2)}
    assert walk(Regime.STAGE2, regs, {}, 0, R1, cpu=cpu).fault.rule == "s2-invalid-sl"


def test_s2_min_t0sz_from_pamax():
    cpu = MAX.replace(parange=4)  # 44 bits
    regs = {"VTCR_EL2": vtcr(T0SZ=16, TG0=0, SL0=2, PS=4)}
    r = walk(Regime.STAGE2, regs, {}, 0, R1, cpu=cpu)
    assert r.params["s2"].txsz_min == 20 and r.fault.rule == "txsz-below-min"


def test_s2_ipa_out_of_range():
    regs = {"VTCR_EL2": vtcr(T0SZ=24, TG0=0, SL0=1, PS=5)}
    r = walk(Regime.STAGE2, regs, {}, 1 << 40, R1)
    assert r.fault.rule == "ipa-out-of-range" and r.fault.level == 0 and r.fault.stage == 2


def test_s2_ds_only_with_stage2_lpa2_field():
    regs = {"VTCR_EL2": vtcr(T0SZ=12, TG0=0, SL0=2, PS=6, DS=1)}
    r = walk(Regime.STAGE2, regs, {}, 0, R1, cpu=CPU_PRESETS["lpa2-s1-only"])
    assert not r.params["s2"].ds and r.fault.rule == "txsz-below-min"
    r2 = walk(Regime.STAGE2, regs, {}, 0, R1, cpu=CPU_PRESETS["lpa2-s2-only"])
    assert r2.params["s2"].ds


def _s2_leaf(s2ap=0b11, xn=0, xnx=0, af=1, memattr=0b1111):
    return 0b11 | (memattr << 2) | (s2ap << 6) | (af << 10) | (xnx << 53) | (xn << 54)


@pytest.mark.parametrize(
    "xn,xnx,el1,el0",
    [(0, 0, True, True), (0, 1, False, True), (1, 0, False, False), (1, 1, True, False)],
)
def test_s2_xn_xnx(xn, xnx, el1, el0):
    regs = {"VTCR_EL2": vtcr(T0SZ=25, TG0=0, SL0=1, PS=5), "VTTBR_EL2": 0x10_0000}
    ipa = 0x4000_1000
    mem = chain_4k(ipa, 0x10_0000, [1, 2, 3], 0x8000_0000 | _s2_leaf(xn=xn, xnx=xnx))
    r = walk(Regime.STAGE2, regs, mem, ipa, Access(1, "exec"))
    assert r.perms.by_el["EL1"].exec is el1 and r.perms.by_el["EL0"].exec is el0


def test_s2_permission_read_write():
    regs = {"VTCR_EL2": vtcr(T0SZ=25, TG0=0, SL0=1, PS=5), "VTTBR_EL2": 0x10_0000}
    ipa = 0x4000_1000
    mem = chain_4k(ipa, 0x10_0000, [1, 2, 3], 0x8000_0000 | _s2_leaf(s2ap=0b01))
    assert walk(Regime.STAGE2, regs, mem, ipa, R1).fault is None
    r = walk(Regime.STAGE2, regs, mem, ipa, Access(1, "write"))
    assert r.fault.kind == FaultKind.PERMISSION and r.fault.stage == 2


def test_s2_tables_have_no_hierarchical_attributes():
    regs = {"VTCR_EL2": vtcr(T0SZ=25, TG0=0, SL0=1, PS=5), "VTTBR_EL2": 0x10_0000}
    ipa = 0x4000_1000
    mem = chain_4k(ipa, 0x10_0000, [1, 2, 3], 0x8000_0000 | _s2_leaf())
    mem[0x10_0000 | (((ipa >> 30) & 0x1FF) << 3)] |= 1 << 62
    r = walk(Regime.STAGE2, regs, mem, ipa, Access(1, "write"))
    assert r.fault is None and any(w.code == "res0" for w in r.warnings)


@pytest.mark.parametrize(
    "granule,start,ia_lo,ia_hi,t_lo,t_hi,concat",
    [
        (4, -1, 49, 52, 12, 15, 1),
        (4, 0, 40, 52, 12, 24, 16),
        (4, 1, 31, 43, 21, 33, 16),
        (4, 2, 22, 34, 30, 42, 16),
        (4, 3, 13, 25, 39, 51, 16),
        (16, 0, 48, 52, 12, 16, 1),
        (16, 1, 37, 51, 13, 27, 16),
        (16, 2, 26, 40, 24, 38, 16),
        (16, 3, 15, 29, 35, 49, 16),
        (64, 1, 43, 52, 12, 21, 1),
        (64, 2, 30, 46, 18, 34, 16),
        (64, 3, 17, 33, 31, 47, 16),
    ],
)
def test_s2_legal_ipa_sizes_table(granule, start, ia_lo, ia_hi, t_lo, t_hi, concat):
    assert geometry.s2_iasize_range(granule, start) == (ia_lo, ia_hi)
    assert geometry.s2_t0sz_range(granule, start) == (t_lo, t_hi)
    assert geometry.s2_max_concatenation(granule, start) == concat
