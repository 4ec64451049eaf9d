"""Answers are morphed into the page (static/js/morph.js): a click changes the nodes whose
content changed and keeps the others, even in a card that now shows another descriptor."""

import pytest

from app.state import encode
from model.explore.configs import CONFIG_PRESETS

pytestmark = pytest.mark.browser

LPA2 = CONFIG_PRESETS["4k-52-lpa2"]

# Tag every bit button with an expando property: a node that survives a swap keeps it.
TAG = """() => {
  document.querySelectorAll("button[name='flip']").forEach((b, i) => { b.__kept = i; });
}"""
KEPT = """(selector) => {
  const nodes = [...document.querySelectorAll(selector)];
  return [nodes.length, nodes.filter(n => n.__kept !== undefined).length];
}"""


def click_and_wait(page, value: str) -> None:
    old = page.locator("#from").input_value()
    page.locator(f'button[name="flip"][value="{value}"]').first.click()
    page.wait_for_function(
        "old => document.getElementById('from').value !== old", arg=old, timeout=5000
    )


def test_a_descriptor_bit_click_keeps_every_other_node(page, server_url):
    page.goto(f"{server_url}/?{encode(LPA2)}")
    card = page.locator("#cards-main .card").last
    control = card.locator("input.hex").get_attribute("name")
    page.evaluate(TAG)
    bit = page.locator(f'button[name="flip"][value="{control}:56"]')  # a software bit
    assert bit.get_attribute("aria-pressed") == "false"
    click_and_wait(page, f"{control}:56")
    assert bit.get_attribute("aria-pressed") == "true"
    assert page.evaluate(KEPT, f'button[name="flip"][value="{control}:56"]') == [1, 1]
    total, kept = page.evaluate(KEPT, "button[name='flip']")
    assert kept == total  # not one bit button of the page was replaced
    assert page.js_errors == []


def test_a_card_showing_another_descriptor_reuses_its_bit_buttons(page, server_url):
    page.goto(f"{server_url}/?{encode(LPA2)}")
    last = "#cards-main .card"
    before_id = page.locator(last).last.get_attribute("id")
    page.evaluate(TAG)
    click_and_wait(page, "va:12")  # a new last-level index: another descriptor, new card ids
    card = page.locator(last).last
    assert card.get_attribute("id") != before_id
    total, kept = page.evaluate(KEPT, f"#{card.get_attribute('id')} button[name='flip']")
    assert total >= 64 and kept == total
    assert page.js_errors == []


ROW_STOPS = """() => [...document.querySelectorAll('.bitgrid, .strip')].map(row => {
  return [...row.querySelectorAll(".bits > button[name='flip']")];
}).filter(items => items.length).map(items => {
  return [items.filter(b => b.getAttribute('tabindex') === '0').length,
          items.filter(b => b.getAttribute('tabindex') !== '0'
                            && b.getAttribute('tabindex') !== '-1').length];
})"""


def test_morphed_rows_keep_one_tab_stop_each(page, server_url):
    """The server sends bit rows without tabindex; the page makes one Tab stop per row (the
    bit used last). A morph keeps that stop and gives items it adds tabindex=-1; a row it
    builds anew gets its first item as the stop, as a fresh page does."""
    page.goto(f"{server_url}/?{encode(LPA2)}")
    for value in ("va:12", "va:20", "last:0", "last:0"):  # the last descriptor invalid, valid
        if value.startswith("last:"):
            last = page.locator("#cards-main .card input.hex").last.get_attribute("name")
            value = last + value[4:]
        click_and_wait(page, value)
        stops = page.evaluate(ROW_STOPS)
        assert stops and all(row == [1, 0] for row in stops), [r for r in stops if r != [1, 0]]
        if value == "va:20":  # the strip was morphed: its stop is the bit used last
            assert page.locator('button[value="va:20"]').get_attribute("tabindex") == "0"
    assert page.js_errors == []


NESTED = CONFIG_PRESETS["s1-48-over-s2-52"]
OPEN_STATE = """(value) => {
  const button = document.querySelector(`button[name='flip'][value='${value}']`);
  return button.closest("details").open;
}"""


def test_a_disclosure_the_reader_opened_stays_open_through_answers(page, server_url):
    """The server sends a folded nested stage-2 walk (and a register back at its preset's
    value) closed, as a fresh page shows it; one the reader opened stays open while they
    click inside it."""
    page.goto(f"{server_url}/?{encode(NESTED)}")
    nested = page.locator("details.nested").first
    summary = nested.locator(":scope > summary")
    control = nested.locator("input.hex").first.get_attribute("name")
    summary.click()
    assert page.evaluate(OPEN_STATE, f"{control}:52") is True
    click_and_wait(page, f"{control}:52")  # the contiguous hint: the same walk, card redrawn
    assert page.evaluate(OPEN_STATE, f"{control}:52") is True
    click_and_wait(page, f"{control}:52")  # and back: the state a fresh page shows folded
    assert page.evaluate(OPEN_STATE, f"{control}:52") is True
    summary.click()  # closed by the reader: answers leave it closed
    click_and_wait(page, "va:12")
    assert page.locator("details.nested").first.evaluate("d => d.open") is False
    assert page.js_errors == []
