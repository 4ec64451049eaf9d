"""Field tables, CPU presets, fault codes, JSON output."""

import json

import pytest

from model import CPU, CPU_PRESETS, LAYOUTS, Choices, FaultKind, Regime, fsc_for, fsc_name, walk

from .helpers import tcr1


def test_max_preset_round_trips_qemu_id_registers():
    regs = (0x0000032310201126, 0x0000011010211122, 0x1021011010011011)
    cpu = CPU.from_id_regs(*regs)
    assert cpu.id_regs() == regs
    assert CPU_PRESETS["max"].id_regs() == regs
    assert cpu.pamax == 52 and cpu.granule_lpa2(4, 1) and cpu.granule_lpa2(16, 2)
    assert cpu.has_lva and cpu.has_ttst and cpu.has_hd and cpu.has_xnx


@pytest.mark.parametrize("slug", list(CPU_PRESETS))
def test_presets_have_title_description_and_round_trip(slug):
    cpu = CPU_PRESETS[slug]
    assert cpu.title and len(cpu.description) > 80
    assert CPU.from_id_regs(*cpu.id_regs()) == cpu


def test_preset_features():
    p = CPU_PRESETS
    assert not p["v8-48bit"].has_lpa2 and p["v8-48bit"].pamax == 48
    assert not p["lpa-lva"].has_lpa2 and p["lpa-lva"].has_lva
    assert p["lpa2-s1-only"].granule_lpa2(4, 1) and not p["lpa2-s1-only"].granule_lpa2(4, 2)
    assert p["lpa2-s2-only"].granule_lpa2(4, 2) and not p["lpa2-s2-only"].granule_lpa2(4, 1)


def test_cpu_is_frozen():
    with pytest.raises(AttributeError):
        CPU_PRESETS["max"].parange = 5  # type: ignore[misc]


FSC_TABLE = {
    FaultKind.ADDRESS_SIZE: [0x29, 0x00, 0x01, 0x02, 0x03],
    FaultKind.TRANSLATION: [0x2B, 0x04, 0x05, 0x06, 0x07],
    FaultKind.SEA_WALK: [0x13, 0x14, 0x15, 0x16, 0x17],
}


@pytest.mark.parametrize("kind", list(FSC_TABLE))
def test_fsc_values_levels_minus1_to_3(kind):
    assert [fsc_for(kind, lvl) for lvl in range(-1, 4)] == FSC_TABLE[kind]


def test_af_and_permission_have_no_level_minus1_code():
    assert [fsc_for(FaultKind.ACCESS_FLAG, lv) for lv in range(4)] == [8, 9, 10, 11]
    assert [fsc_for(FaultKind.PERMISSION, lv) for lv in range(4)] == [12, 13, 14, 15]
    for k in (FaultKind.ACCESS_FLAG, FaultKind.PERMISSION):
        with pytest.raises(ValueError):
            fsc_for(k, -1)


@pytest.mark.parametrize(
    "code,words",
    [
        (0x29, "Address size fault, level -1"),
        (0x2B, "Translation fault, level -1"),
        (0x2C, "level -2"),
        (0x2A, "level -2"),
        (0x10, "not on translation table walk"),
        (0x21, "Alignment"),
        (0x28, "Granule Protection Fault, not"),
        (0x30, "TLB conflict"),
        (0x31, "atomic hardware update"),
        (0x13, "level -1"),
        (0x1B, "parity"),
        (0x23, "Granule Protection"),
        (0x00, "TTBR"),
        (0x0C, "Permission fault, level 0"),
        (0x08, "Access flag fault, level 0"),
    ],
)
def test_fsc_name(code, words):
    assert words in fsc_name(code)


def test_fsc_name_every_code():
    assert all(fsc_name(c) for c in range(64))
    with pytest.raises(ValueError):
        fsc_name(64)


def test_layout_get_set_encode_and_errors():
    tcr = LAYOUTS["TCR_EL1"]
    v = tcr.encode(T0SZ=16, DS=1, TG1=0b10)
    assert tcr.get(v, "T0SZ") == 16 and tcr.get(v, "DS") == 1 and v >> 59 & 1
    assert tcr.set(v, "T0SZ", 12) & 0x3F == 12
    with pytest.raises(ValueError):
        tcr.set(v, "T0SZ", 64)
    assert tcr.field_at(59).name == "DS" and tcr.field_at(32).name == "IPS"
    assert LAYOUTS["TCR_EL2"].field_at(32).name == "DS"
    assert LAYOUTS["VTCR_EL2"].field_at(33).name == "SL2"
    assert tcr.res0_mask & (1 << 6)
    rows = tcr.decode(v)
    assert any(f.name == "TG1" and m == "4KB" for f, _, m in rows)
    assert LAYOUTS["TCR_EL2"].encode() == (1 << 31) | (1 << 23)  # RES1 bits


def test_every_field_has_help_and_descriptors_cover_64_bits():
    for lay in LAYOUTS.values():
        for f in lay.fields:
            assert f.help and f.summary, (lay.name, f.name)
        if lay.name.startswith(("S1_", "S2_")):
            assert sum(f.width for f in lay.fields) == 64, lay.name
    for name in ("S1_PAGE_DS1", "S1_BLOCK_DS1", "S1_TABLE_DS1", "S2_PAGE_DS1", "S2_TABLE_DS1"):
        assert LAYOUTS[name].field_at(8).name.endswith("_51_50")
    assert LAYOUTS["S1_PAGE"].field_at(8).name == "SH"
    assert LAYOUTS["S1_PAGE_LPA"].field_at(12).name == "OA_51_48"
    assert LAYOUTS["TTBR_52"].field_at(2).name == "BADDR_51_48"


def test_walk_result_is_json_serialisable():
    regs = {"TCR_EL1": tcr1(T0SZ=12, DS=1, IPS=6)}
    from model import tables_for

    r = walk(Regime.EL10, regs, tables_for(regs), 0x000F_0000_1234_5000, "el0r", choices=Choices())
    d = json.loads(json.dumps(r.to_dict()))
    assert d["output_address"] == r.output_address and d["fault"] is None
    assert len(d["levels"]) == 5 and d["levels"][0]["synthetic"] is True
    assert d["params"]["s1"]["start_level"] == -1
