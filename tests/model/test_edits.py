"""model.edits: registers per regime, layouts, address roles and descriptor quick actions."""

import pytest

from model import fsc_name
from model.arch.fields import HCR_EL2
from model.explore.actions import (
    action_value,
    address_segments,
    apply_action,
    display_layout,
    find_read,
    quick_actions,
    regime_registers,
    register_layout,
    sync_regime,
)
from model.explore.configs import CONFIG_PRESETS, run


def test_registers_follow_the_regime():
    base = CONFIG_PRESETS["4k-48"]
    assert regime_registers("el10", base.registers) == [
        "TCR_EL1",
        "TTBR0_EL1",
        "TTBR1_EL1",
        "MAIR_EL1",
        "SCTLR_EL1",
        "HCR_EL2",
    ]
    assert regime_registers("stage2", base.registers) == ["VTCR_EL2", "VTTBR_EL2", "HCR_EL2"]
    assert "TTBR1_EL2" not in regime_registers("el2", base.registers)
    assert "TTBR1_EL2" in regime_registers("el20", base.registers)
    vm = base.with_registers(HCR_EL2=HCR_EL2.encode(RW=1, VM=1))
    assert "VTCR_EL2" in regime_registers("el10", vm.registers)


def test_layouts_follow_e2h_and_the_52bit_ttbr_format():
    vhe = CONFIG_PRESETS["vhe-el20-16k"]
    assert register_layout("TCR_EL2", vhe.regime, run(vhe).params).name == "TCR_EL2_E2H"
    nvhe = CONFIG_PRESETS["nvhe-hyp-lpa2"]
    params = run(nvhe).params
    assert register_layout("TCR_EL2", nvhe.regime, params).name == "TCR_EL2"
    assert register_layout("TTBR0_EL2", nvhe.regime, params).name == "TTBR0_EL2_52"
    base = CONFIG_PRESETS["4k-48"]
    assert register_layout("TTBR0_EL1", base.regime, run(base).params).name == "TTBR"
    lpa2 = CONFIG_PRESETS["4k-52-lpa2"]
    assert register_layout("TTBR0_EL1", lpa2.regime, run(lpa2).params).name == "TTBR_52"
    s2 = CONFIG_PRESETS["s2-52-concat16"]
    assert register_layout("VTTBR_EL2", s2.regime, run(s2).params).name == "VTTBR_EL2_52"


def test_regime_and_e2h_stay_in_step():
    nvhe = CONFIG_PRESETS["nvhe-hyp-lpa2"]
    from dataclasses import replace

    to_vhe = sync_regime(nvhe, replace(nvhe, regime="el20"))
    assert HCR_EL2.get(to_vhe.registers["HCR_EL2"], "E2H") == 1
    flipped = nvhe.with_registers(HCR_EL2=nvhe.registers["HCR_EL2"] | (1 << 34))
    assert sync_regime(nvhe, flipped).regime == "el20"


def test_address_segments_cover_every_bit_once():
    for config in CONFIG_PRESETS.values():
        result = run(config)
        params = result.params.get("s1") or result.params.get("s2")
        segments = address_segments(params, getattr(result.attrs, "leaf_level", None))
        covered = [b for s in segments for b in range(s.lo, s.hi + 1)]
        assert sorted(covered) == list(range(64)), config.slug


def test_lpa2_address_has_a_level_minus_one_index():
    result = run(CONFIG_PRESETS["4k-52-lpa2"])
    segments = address_segments(result.params["s1"])
    index = [(s.label, s.hi, s.lo) for s in segments if s.role == "index"]
    assert index[0] == ("L-1 index", 51, 48)
    assert index[-1] == ("L3 index", 20, 12)
    assert segments[-1].role == "offset" and (segments[-1].hi, segments[-1].lo) == (11, 0)


def test_block_leaf_turns_lower_indexes_into_offset():
    result = run(CONFIG_PRESETS["4k-l0-block"])
    segments = address_segments(result.params["s1"], result.attrs.leaf_level)
    assert [s.level for s in segments if s.role == "index"] == [-1, 0]
    assert segments[-1].label == "offset in L0 block" and segments[-1].hi == 38


def test_quick_actions_know_where_blocks_are_allowed():
    result = run(CONFIG_PRESETS["4k-52-lpa2"])
    by_level = {r.level: r for r in result.levels}
    params = result.params["s1"]
    l_minus1 = {a.name: a for a in quick_actions(by_level[-1], params, "max")}
    assert not l_minus1["block"].allowed
    assert {a.name: a for a in quick_actions(by_level[0], params, "max")}["block"].allowed
    level3 = {a.name: a for a in quick_actions(by_level[3], params, "max")}
    assert "block" not in level3 and not level3["page"].allowed
    ds0 = run(CONFIG_PRESETS["4k-48"])
    l0 = {a.name: a for a in quick_actions(ds0.levels[0], ds0.params["s1"], "max")}
    assert not l0["block"].allowed and "DS=1" in l0["block"].reason


def test_make_block_then_table_then_invalid():
    config = CONFIG_PRESETS["4k-52-lpa2"]
    result = run(config)
    level0 = next(r for r in result.levels if r.level == 0)
    blocked = apply_action(config, result, level0.desc_address, "block")
    walked = run(blocked)
    assert walked.ok and walked.attrs.leaf_level == 0
    assert walked.output_address == config.address & ((1 << 52) - 1)
    table = apply_action(blocked, walked, level0.desc_address, "table")
    assert run(table).attrs.leaf_level == 3
    invalid = apply_action(config, result, level0.desc_address, "invalid")
    fault = run(invalid).fault
    assert fault.level == 0 and fsc_name(fault.fsc).startswith("Translation fault, level 0")


def test_disallowed_action_raises():
    config = CONFIG_PRESETS["4k-52-lpa2"]
    result = run(config)
    ref = find_read(result, result.levels[0].desc_address)
    with pytest.raises(ValueError, match="block"):
        action_value(ref, "block", "max", result)
    with pytest.raises(ValueError):
        apply_action(config, result, 0x8, "invalid")


def test_two_stage_reads_include_nested_and_final_stage2():
    result = run(CONFIG_PRESETS["s1-48-over-s2-52"])
    wheres = {ref.role for ref in result.reads()}
    assert wheres == {"main", "nested-s2", "final-s2"}
    for ref in result.reads():
        assert display_layout(ref.read, ref.params).name.startswith(f"S{ref.read.stage}_")


def test_invalid_descriptor_is_shown_with_its_level_format():
    result = run(CONFIG_PRESETS["fault-translation-l-1"])
    read = result.levels[0]
    assert display_layout(read, result.params["s1"]).name == "S1_TABLE_DS1"
