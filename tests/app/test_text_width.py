"""Every line of every ``/walk.txt`` fits 72 columns, always: every preset, states reached by
clicks, and random states with register, address, access and memory edits (so long links),
served with their full link (no short link made). The text stays readable: every descriptor
read is one row ``tests/links/facts.py`` reads back, and the wrapped link rejoins to the
state's link."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.state import encode
from model.arch.fields import VTCR_EL2
from model.explore.configs import CONFIG_PRESETS, run
from model.explore.text import text_link
from tests.app.test_click_views import random_states
from tests.links.facts import walk_facts
from tests.model.test_text import check_mail_safe

BASE = "http://testserver"


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LPA2_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LPA2_PUBLIC_URL", raising=False)


def check_txt(client, config, base: str = BASE) -> str:
    query = encode(config)
    answer = client.get(f"/walk.txt?{query}")
    assert answer.status_code == 200
    text = answer.text
    check_mail_safe(text, f"{base}/?{query}")
    facts = walk_facts(text)
    assert len(facts["rows"]) == len(run(config).reads()), text
    assert text_link(text) == f"{base}/?{query}"
    return text


def test_every_preset_and_clicked_state(client):
    long_links = 0
    for slug in CONFIG_PRESETS:
        for config in random_states(slug, 6, seed=len(slug)):
            text = check_txt(client, config)
            long_links += "Link: <" in text
    assert long_links > 20  # the wrapped form is exercised, not only one-line links


def test_a_long_public_url(client, monkeypatch):
    base = "https://lpa2-explorer.kernel-engineering.example.org/team/arm64/tools/explorer"
    monkeypatch.setenv("LPA2_PUBLIC_URL", base)
    for slug in ("s1-48-over-s2-52", "s2-52-concat16", "64k-52-lpa"):
        check_txt(client, CONFIG_PRESETS[slug], base)


REGISTERS = ("TCR_EL1", "TTBR0_EL1", "MAIR_EL1", "TCR_EL2", "VTCR_EL2", "VTTBR_EL2", "HCR_EL2")


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    slug=st.sampled_from(sorted(CONFIG_PRESETS)),
    regime=st.sampled_from(["el10", "el2", "el20", "stage2", "el10_s12"]),
    access=st.sampled_from([f"el{e}{k}" for e in range(3) for k in "rwx"]),
    flips=st.lists(st.tuples(st.sampled_from(REGISTERS), st.integers(0, 63)), max_size=6),
    address=st.one_of(st.none(), st.integers(0, (1 << 64) - 1)),
    writes=st.lists(st.tuples(st.integers(0, 31), st.integers(0, (1 << 64) - 1)), max_size=8),
)
def test_random_states_with_edits(client, slug, regime, access, flips, address, writes):
    config = replace(CONFIG_PRESETS[slug], regime=regime, access=access)
    for register, bit in flips:
        config = config.with_registers(**{register: config.registers.get(register, 0) ^ 1 << bit})
    if address is not None:
        config = replace(config, address=address)
    reads = [r.read.desc_address for r in run(config).reads() if r.read.desc_address is not None]
    if reads:
        config = config.with_memory({reads[i % len(reads)]: value for i, value in writes})
    check_txt(client, config)


def test_the_widest_read_table(client):
    """A two-stage walk over a 64KB stage 2 with 16 concatenated level-2 tables: stage-2 rows
    labelled "s2 L2" with 17 index bits ("[45:29]=0x1ffff"). The columns stay aligned: the
    indent gives way instead of the 72-column limit."""
    config = CONFIG_PRESETS["s1-48-over-s2-52"]
    vtcr = VTCR_EL2.encode(T0SZ=18, SL0=1, TG0=0b01, PS=0b110, IRGN0=1, ORGN0=1, SH0=3)
    config = replace(config.with_registers(VTCR_EL2=vtcr).refilled(), address=0x3FFF_FFFF_F000)
    text = check_txt(client, config)
    rows = [line for line in text.splitlines() if "[45:29]=0x" in line]
    assert any("[45:29]=0x1ffff " in row for row in rows)
    starts = {line.index("0x000", 10) for line in text.splitlines() if "]=0x" in line}
    assert len(starts) == 1  # one address column for every row
