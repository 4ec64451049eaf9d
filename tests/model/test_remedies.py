"""Every fault's "what to change" as edits the explorer applies in one click."""

from __future__ import annotations

import pytest

from model.arch.fields import TCR_EL1, VTCR_EL2, descriptor_layout
from model.explore.configs import CONFIG_PRESETS, Configuration, run
from model.explore.remedies import Remedy, apply_remedy, remedies

LPA2 = CONFIG_PRESETS["4k-52-lpa2"]
BASE = CONFIG_PRESETS["4k-48"]


def _tcr(config: Configuration, **fields: int) -> Configuration:
    value = config.registers["TCR_EL1"]
    for name, v in fields.items():
        value = TCR_EL1.set(value, name, v)
    return config.with_registers(TCR_EL1=value)


def _nested_no_access() -> Configuration:
    config = CONFIG_PRESETS["s1-48-over-s2-52"]
    leaf = run(config).levels[1].s2.levels[-1]
    value = descriptor_layout(2, "page", "DS1").set(leaf.raw, "S2AP", 0)
    return config.with_memory({leaf.desc_address: value})


FAULTING = {
    "ds flipped (leaf OA above 48 bits)": _tcr(BASE, DS=1),
    "48-bit PA under a 52-bit TTBR": _tcr(LPA2, IPS=0b101),
    "empty memory below 2^48": _tcr(LPA2, IPS=0b101).with_registers(TTBR0_EL1=0x4123_4000),
    "an address outside a 24-bit VA range": _tcr(BASE, T0SZ=40),
    "EPD0": _tcr(BASE, EPD0=1),
    "stage-2 start level inconsistent": CONFIG_PRESETS["s2-52-concat16"].with_registers(
        VTCR_EL2=VTCR_EL2.set(CONFIG_PRESETS["s2-52-concat16"].registers["VTCR_EL2"], "SL0", 0)
    ),
    "stage-2 no access under a stage-1 table": _nested_no_access(),
    **{slug: c for slug, c in CONFIG_PRESETS.items() if run(c).fault is not None},
}


@pytest.mark.parametrize("name", sorted(FAULTING))
def test_every_fault_offers_a_remedy_and_each_remedy_changes_the_outcome(name):
    config = FAULTING[name]
    result = run(config)
    assert result.fault is not None
    offered = remedies(config, result)
    assert offered, f"{name}: no remedy for {result.fault.rule}"
    for remedy in offered:
        assert remedy.label
        if remedy.kind == "focus":
            continue
        after = run(apply_remedy(config, remedy))
        assert _outcome(after) != _outcome(result), remedy


def _outcome(result):
    f = result.fault
    return result.output_address, None if f is None else (f.rule, f.level, f.stage, f.fsc)


@pytest.mark.parametrize("name", sorted(FAULTING))
def test_some_remedy_makes_the_walk_translate(name):
    """Except where only the user can choose (another input address), one click is enough."""
    config = FAULTING[name]
    fixes = [r for r in remedies(config) if r.kind != "focus"]
    if not fixes:
        assert {r.kind for r in remedies(config)} == {"focus"}
        return
    assert any(run(apply_remedy(config, r)).fault is None for r in fixes), fixes


def test_the_lpa2_lesson_is_fixed_by_a_52_bit_pa_size_or_by_clearing_the_bits():
    config = FAULTING["ds flipped (leaf OA above 48 bits)"]
    offered = {(r.kind, r.field) for r in remedies(config)}
    assert ("register", "IPS") in offered and ("descriptor", "OA_51_50") in offered
    fixed = apply_remedy(config, Remedy("", "register", "TCR_EL1", "IPS", 0b110))
    # OA[51:50] = 0b11 from the SH bits: the output moves up by 3 * 2^50.
    assert run(fixed).output_address == run(BASE).output_address + (3 << 50)


def test_empty_memory_offers_fill_and_refill():
    config = FAULTING["empty memory below 2^48"]
    kinds = {r.kind for r in remedies(config)}
    assert {"action", "refill"} <= kinds
    refilled = apply_remedy(config, Remedy("", "refill"))
    assert run(refilled).fault is None and "fill" not in repr(config.tables)


def test_a_stage2_permission_fault_on_a_table_read_is_fixed_in_the_stage2_descriptor():
    config = FAULTING["stage-2 no access under a stage-1 table"]
    (remedy,) = remedies(config)
    assert (remedy.kind, remedy.field, remedy.value) == ("descriptor", "S2AP", 0b01)
    assert run(apply_remedy(config, remedy)).fault is None
