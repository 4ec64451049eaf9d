"""An access from an exception level the regime does not serve still gets a walk (the
permission check falls back to the regime's own level), and the walk says so."""

import dataclasses

import pytest

from model.explore.configs import CONFIG_PRESETS, run

# The exception levels each regime serves (EL2&0 serves EL0 with HCR_EL2.TGE=1).
SERVED = {"el10": {0, 1}, "el10_s12": {0, 1}, "el2": {2}, "el20": {0, 2}, "stage2": {0, 1}}
PRESET_OF_REGIME = {}
for slug, config in CONFIG_PRESETS.items():
    PRESET_OF_REGIME.setdefault(config.regime, slug)


@pytest.mark.parametrize("regime", sorted(SERVED))
@pytest.mark.parametrize("el", [0, 1, 2])
def test_access_outside_the_regime_is_named(regime, el):
    config = CONFIG_PRESETS[PRESET_OF_REGIME[regime]]
    result = run(dataclasses.replace(config, access=f"el{el}r"))
    codes = [w.code for w in result.warnings]
    assert ("access-regime" in codes) == (el not in SERVED[regime])


def test_el2_access_under_el10_is_checked_as_el1():
    config = dataclasses.replace(CONFIG_PRESETS["4k-52-lpa2"], access="el2w")
    result = run(config)
    el1 = run(dataclasses.replace(config, access="el1w"))
    assert result.par == el1.par and result.fault == el1.fault
