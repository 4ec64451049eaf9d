"""Memory that stays put, in a real browser: every descriptor of a two-stage walk is editable
(the stage-2 reads of stage-1 table addresses too), a fault reads out in full, and Fill and
the fault's remedies are one click; the address bar's link reproduces the page."""

import pytest

from app.state import encode
from model.arch.fields import TCR_EL1
from model.explore.configs import CONFIG_PRESETS, run
from tests.browser.conftest import reveal, screenshot
from tests.browser.test_explorer import wait_for_state

pytestmark = pytest.mark.browser


def test_s2ap_of_a_stage2_page_under_a_stage1_table_faults_with_s1ptw(page, server_url):
    config = CONFIG_PRESETS["s1-48-over-s2-52"]
    result = run(config)
    table_read = result.levels[1]  # the level-1 table entry, read through stage 2
    leaf = table_read.s2.levels[-1]  # the stage-2 page that maps it
    page.goto(f"{server_url}/?{encode(config)}")
    card = page.locator(f"#card-1-1-{table_read.desc_address:#x}")
    card.locator("details.nested > summary").click()
    nested = card.locator(f"#card-n1-2-3-{leaf.desc_address:#x}")
    # S2AP is bits [7:6]; 0b11 -> 0b10 leaves write only: the table read is refused.
    s2ap_read = nested.locator(f'button[name="flip"][value="m.{leaf.desc_address:#x}:6"]')
    assert s2ap_read.get_attribute("aria-pressed") == "true"
    state = page.locator("#from").input_value()
    s2ap_read.click()
    wait_for_state(page, state)
    title = page.locator("#fault-title").inner_text()
    assert "Permission fault, level 3, stage 2 (on a stage-1 table walk)" in title
    info = page.locator(".faultinfo").inner_text()
    assert "S1PTW" in info and f"{table_read.desc_ipa:#018x}" in info
    assert "ESR_EL2" in info and "HPFAR_EL2" in info and "FAR_EL2" in info
    screenshot(page, "memory-s1ptw-fault-1280")
    # The remedy sets S2AP[0] again, in one click.
    page.locator('button[name="fix"]', has_text="S2AP[0]").click()
    page.locator("#walk-title .badge.ok").wait_for()
    assert page.js_errors == []


def test_fill_this_entry_completes_a_walk_over_empty_memory(page, server_url):
    lpa2 = CONFIG_PRESETS["4k-52-lpa2"]
    tcr = TCR_EL1.set(lpa2.registers["TCR_EL1"], "IPS", 0b101)
    empty = lpa2.with_registers(TCR_EL1=tcr, TTBR0_EL1=0x4123_4000)
    page.goto(f"{server_url}/?{encode(empty)}")
    assert "Translation fault, level -1" in page.locator("#fault-title").inner_text()
    start = run(empty).levels[0]
    card = page.locator(f"#card-1--1-{start.desc_address:#x}")
    assert "nothing stored here" in card.inner_text()
    state = page.locator("#from").input_value()
    card.locator('button[name="act"]', has_text="Fill this entry").click()
    state = wait_for_state(page, state)
    page.locator("#walk-title .badge.ok").wait_for()
    assert page.locator(".card").count() == 5  # levels -1 to 3, all set by the link now
    assert page.locator(".card .badge.changed").count() == 5
    walk = page.locator("#walk").inner_text()
    screenshot(page, "memory-filled-1280")
    page.reload()
    assert page.locator("#from").input_value() == state
    assert page.locator("#walk").inner_text() == walk
    assert page.js_errors == []


def test_a_register_edit_keeps_memory_and_refill_rebuilds_it(page, server_url):
    base = CONFIG_PRESETS["4k-48"]
    page.goto(f"{server_url}/?{encode(base)}")
    values = page.locator(".card").evaluate_all("cards => cards.map(c => c.dataset.value)")
    ds = reveal(page.locator('button[name="flip"][value="r.tcr_el1:59"]'))
    state = page.locator("#from").input_value()
    ds.click()
    state = wait_for_state(page, state)
    # The same descriptors, read with DS=1: the page's SH bits are now OA[51:50].
    after = page.locator(".card").evaluate_all("cards => cards.map(c => c.dataset.value)")
    assert after == values
    assert "Address size fault, level 3" in page.locator("#fault-title").inner_text()
    page.locator('button[name="refill"]').click()
    state = wait_for_state(page, state)
    assert "fill=tcr_el1" in state
    page.locator("#walk-title .badge.ok").wait_for()
    assert page.js_errors == []
