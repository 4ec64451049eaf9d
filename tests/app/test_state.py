"""The permalink codec: round trips, one canonical link per state, precise problems."""

from __future__ import annotations

import random
from dataclasses import replace
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.state import (
    CHOICE_PARAMS,
    MAX_MEMORY_ENTRIES,
    build_config,
    canonical,
    decode,
    decode_params,
    encode,
    parse_number,
    problems_message,
)
from model import CPU_PRESETS, Regime
from model.explore.configs import CONFIG_PRESETS, DEFAULT_PRESET, REGISTER_NAMES

U64 = st.integers(min_value=0, max_value=(1 << 64) - 1)
ALIGNED = st.integers(min_value=0, max_value=(1 << 61) - 1).map(lambda a: a << 3)


def _choice_values(name: str) -> list[str]:
    from app.state import _choice_values as values

    return list(values(name))


@st.composite
def configurations(draw):
    config = CONFIG_PRESETS[draw(st.sampled_from(sorted(CONFIG_PRESETS)))]
    changes: dict = {}
    if draw(st.booleans()):
        changes["regime"] = draw(st.sampled_from([r.value for r in Regime]))
    if draw(st.booleans()):
        changes["cpu"] = draw(st.sampled_from(sorted(CPU_PRESETS)))
    if draw(st.booleans()):
        changes["access"] = draw(st.sampled_from([f"el{e}{k}" for e in "012" for k in "rwx"]))
    if draw(st.booleans()):
        changes["address"] = draw(U64)
    registers = dict(config.registers)
    for name in draw(st.lists(st.sampled_from(REGISTER_NAMES), unique=True, max_size=5)):
        registers[name] = draw(U64)
    changes["registers"] = registers
    memory = dict(config.memory)
    memory.update(draw(st.dictionaries(ALIGNED, U64, max_size=6)))
    changes["memory"] = memory
    choice_changes = {}
    for name in draw(st.lists(st.sampled_from(list(CHOICE_PARAMS.values())), unique=True)):
        choice_changes[name] = draw(st.sampled_from(_choice_values(name)))
    changes["choices"] = replace(config.choices, **choice_changes)
    return replace(config, **changes)


@pytest.mark.parametrize("slug", sorted(CONFIG_PRESETS))
def test_every_preset_round_trips(slug):
    config = CONFIG_PRESETS[slug]
    query = encode(config)
    assert query == "v=2" if slug == DEFAULT_PRESET else query == f"v=2&preset={slug}"
    decoded = decode(query)
    assert decoded.ok
    assert decoded.config == config


@settings(max_examples=300, deadline=None)
@given(configurations())
def test_state_link_state_is_identity(config):
    query = encode(config)
    decoded = decode(query)
    assert decoded.problems == []
    assert decoded.config == config
    assert encode(decoded.config) == query


def _noncanonical(query: str, config, rnd: random.Random) -> str:
    """The same state written differently: shuffled order, upper-case hex and names, leading
    zeros, decimal numbers, values equal to the preset written out, a leading '?'."""
    params = parse_qsl(query)
    version, rest = params[0], params[1:]
    out = []
    for key, value in rest:
        if value.startswith("0x") and ":" not in value:
            number = int(value, 16)
            value = rnd.choice([f"0X{number:020X}", str(number), f"0x{number:_x}"])
        if key in {r.lower() for r in REGISTER_NAMES} and rnd.random() < 0.5:
            key = key.upper()
        out.append((key, value))
    preset = CONFIG_PRESETS[config.slug]
    out.append(("tcr_el1", hex(config.registers["TCR_EL1"])))  # may equal the preset
    out.append(("access", config.access))
    for address, value in preset.memory.items():  # the preset's own entries, written out
        if config.memory.get(address) == value:
            out.append(("mem", f"{address:#X}:{value}"))
    rnd.shuffle(out)
    return "?" + urlencode([version, *out], safe=":")


@settings(max_examples=200, deadline=None)
@given(configurations(), st.randoms(use_true_random=False))
def test_canonical_form_is_unique(config, rnd):
    query = encode(config)
    other = _noncanonical(query, config, rnd)
    decoded = decode(other)
    assert decoded.problems == [], other
    assert decoded.config == config
    assert encode(decoded.config) == query
    assert canonical(other) == query


def test_canonical_details():
    config = build_config(
        preset="4k-52-lpa2",
        address="0x0000_1234",
        registers={"TTBR1_EL1": 0xFFFF_0000_0000_0000, "TCR_EL1": "0x08000006b510350c"},
        memory={"0x2000": 0x1, "0x1000": "0xABC"},
        choices={"ds_validity": "feat_lpa2"},
    )
    assert encode(config) == (
        "v=2&va=0x1234&ttbr1_el1=0xffff000000000000"
        "&mem=0x1000:0xabc&mem=0x2000:0x1&c.ds_validity=feat_lpa2"
    )


def test_values_are_masked_to_their_widths():
    config = replace(
        CONFIG_PRESETS[DEFAULT_PRESET],
        address=(1 << 64) + 5,
        memory={0x1007: 1 << 64 | 7},
    )
    assert encode(config) == "v=2&va=0x5&mem=0x1000:0x7"


@pytest.mark.parametrize(
    ("query", "param", "words"),
    [
        ("v=2&tcr_el1=0x", "tcr_el1", "no digits after 0x (truncated?)"),
        ("v=2&tcr_el1=", "tcr_el1", "empty value (truncated?)"),
        ("v=2&mem=0x1000:", "mem", "descriptor value missing after '0x1000:' (truncated?)"),
        ("v=2&mem=0x1000", "mem", "expected address:value (truncated?)"),
        ("v=2&mem=:0x3", "mem", "address missing"),
        ("v=2&mem=0x1004:0x3", "mem", "not 8-byte aligned"),
        ("v=2&mem=0x1000:0x1_0000_0000_0000_0000", "mem", "wider than 64 bits"),
        ("v=2&va=0xzz", "va", "is not a number"),
        ("v=2&va=-1", "va", "negative"),
        ("v=99", "v", "unknown link version"),
        ("v=one", "v", "unknown link version"),
        ("preset=4k-52-lpa2", "v", "no version given"),
        ("v=2&preset=4k-99", "preset", "no such preset"),
        ("v=2&regime=el3", "regime", "not a known translation regime"),
        ("v=2&cpu=m1", "cpu", "not a known CPU preset"),
        ("v=2&access=el3r", "access", "expected el0/el1/el2"),
        ("v=2&c.ds_validity=maybe", "c.ds_validity", "expected one of"),
        ("v=2&colour=red", "colour", "unknown parameter"),
    ],
)
def test_problems_say_what_was_dropped_and_why(query, param, words):
    decoded = decode(query)
    assert not decoded.ok
    [problem] = decoded.problems
    assert problem.param == param
    assert words in problem.reason
    assert param in problems_message(decoded.problems)


def test_what_can_be_read_is_kept():
    decoded = decode("v=2&preset=4k-52-lpa2&va=0x1000&tcr_el1=0x&mem=0x2000:0x3&mem=0x3000:")
    assert [p.param for p in decoded.problems] == ["tcr_el1", "mem"]
    preset = CONFIG_PRESETS["4k-52-lpa2"]
    assert decoded.config.slug == "4k-52-lpa2"
    assert decoded.config.address == 0x1000
    assert decoded.config.registers["TCR_EL1"] == preset.registers["TCR_EL1"]
    assert decoded.config.memory[0x2000] == 3
    assert 0x3000 not in decoded.config.memory


def test_too_many_memory_entries_are_reported():
    params = [("v", "2")] + [("mem", f"{8 * i:#x}:0x1") for i in range(MAX_MEMORY_ENTRIES + 3)]
    decoded = decode_params(params)
    assert len(decoded.config.memory) == MAX_MEMORY_ENTRIES
    assert "the last 3 dropped" in decoded.problems[-1].reason


def test_parse_number_forms():
    assert parse_number("0x_41_23") == 0x4123
    assert parse_number("0B101") == 5
    assert parse_number(" 42 ") == 42
    with pytest.raises(ValueError, match="truncated"):
        parse_number("0b")


def test_build_config_errors_are_one_line():
    for kwargs in (
        {"preset": "nope"},
        {"registers": {"TCR_EL3": 1}},
        {"memory": {"0x1001": 1}},
        {"choices": {"ds_validity": "x"}},
        {"access": "el1q"},
        {"address": "0x"},
    ):
        with pytest.raises(ValueError) as info:
            build_config(**kwargs)
        assert "\n" not in str(info.value)


def test_old_versions_go_through_the_migration_chain(monkeypatch):
    """A future version 3 that renames ``va`` to ``ia``: version-1 and version-2 links keep
    working through every step of the chain."""
    import app.state as state

    def v2_to_v3(params):
        return [("ia" if key == "va" else key, value) for key, value in params]

    def read_ia(params):
        return [("va" if key == "ia" else key, value) for key, value in params]

    monkeypatch.setattr(state, "LINK_VERSION", 3)
    monkeypatch.setitem(state.MIGRATIONS, 2, lambda params, problems: read_ia(v2_to_v3(params)))
    decoded = state.decode("v=1&preset=4k-52-lpa2&va=0x1000")
    assert decoded.ok and decoded.config.address == 0x1000
    assert state.decode("v=2&va=0x2000").config.address == 0x2000
    assert state.decode("v=3&va=0x3000").config.address == 0x3000
    assert "versions 1 to 3" in state.decode("v=4").problems[0].reason
