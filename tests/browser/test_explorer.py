"""The explorer in a real browser: presets, bit clicks, faults, bad input, reloads, keyboard."""

import re

import pytest

from app.state import encode
from model.explore.configs import CONFIG_PRESETS, run
from tests.browser.conftest import reveal, screenshot

pytestmark = pytest.mark.browser

LPA2 = CONFIG_PRESETS["4k-52-lpa2"]


def wait_for_state(page, old: str) -> str:
    """Wait until the hidden "from" input (the shown state) differs from ``old``."""
    page.wait_for_function(
        "old => document.getElementById('from').value !== old", arg=old, timeout=5000
    )
    return page.locator("#from").input_value()


@pytest.mark.parametrize("slug", list(CONFIG_PRESETS))
def test_preset_pages_desktop_and_phone(page, server_url, slug):
    config = CONFIG_PRESETS[slug]
    page.goto(f"{server_url}/?{encode(config)}")
    assert page.locator("#walk").is_visible()
    screenshot(page, f"explorer-{slug}-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"{slug}: page is {width}px wide on a phone"
    screenshot(page, f"explorer-{slug}-390")
    assert page.js_errors == []


def test_load_preset_from_menu(page, server_url):
    page.goto(server_url)
    old = page.locator("#from").input_value()
    page.locator("#presets summary").click()
    # The explorer opens on the default preset (4KB LPA2, five levels); load the 48-bit one.
    assert page.locator("h3", has_text="Stage 1, level -1").count() == 1
    page.locator('button[name="load"][value="4k-48"]').click()
    state = wait_for_state(page, old)
    assert "preset=4k-48" in state
    assert page.url.endswith("/?v=2&preset=4k-48")
    page.locator("h3", has_text="Stage 1, level 0").wait_for()
    assert page.locator("h3", has_text="Stage 1, level -1").count() == 0
    assert page.js_errors == []


def test_ds_click_changes_levels_and_oa_split(page, server_url):
    page.goto(f"{server_url}/?{encode(LPA2)}")
    ds = reveal(page.locator('button[name="flip"][value="r.tcr_el1:59"]'))
    assert ds.get_attribute("aria-pressed") == "true"
    assert page.locator(".oa", has_text="OA[51:50] ← L3 desc[9:8]").count() == 1
    state = page.locator("#from").input_value()
    ds.click()
    state = wait_for_state(page, state)
    # DS=0 with T0SZ=12 is out of range: a set-up fault, no levels, no output address.
    assert page.locator(".fault h2").inner_text().startswith("✗ Translation fault, level 0")
    assert page.locator(".card").count() == 0 and page.locator(".oa").count() == 0
    assert ds.get_attribute("aria-pressed") == "false"
    ds.click()
    wait_for_state(page, state)
    page.locator("h3", has_text="Stage 1, level -1").wait_for()
    assert page.locator(".oa", has_text="OA[51:50] ← L3 desc[9:8]").count() == 1
    assert "Walk complete" in page.locator("#status").inner_text()
    assert page.js_errors == []


def test_descriptor_bit0_gives_translation_fault(page, server_url):
    page.goto(f"{server_url}/?{encode(LPA2)}")
    level1 = next(r for r in run(LPA2).levels if r.level == 1)
    state = page.locator("#from").input_value()
    page.locator(f'button[name="flip"][value="m.{level1.desc_address:#x}:0"]').click()
    wait_for_state(page, state)
    fault = page.locator(".fault")
    assert "Translation fault, level 1" in fault.inner_text()
    assert "0x05" in fault.inner_text()
    assert "set by this link" in page.locator(".card.changed").inner_text()
    assert re.search(r"Translation fault, level 1", page.locator("#status").inner_text())
    assert page.js_errors == []


def test_bad_hex_shows_inline_error_and_keeps_the_walk(page, server_url):
    page.goto(f"{server_url}/?{encode(LPA2)}")
    walk_before = page.locator("#walk").inner_text()
    field = reveal(page.locator("#r-tcr_el1"))
    field.fill("0xnothex")
    field.press("Tab")
    page.locator("#r-tcr_el1-err").wait_for()
    field = page.locator("#r-tcr_el1")
    assert field.get_attribute("aria-invalid") == "true"
    assert field.get_attribute("aria-describedby") == "r-tcr_el1-err"
    assert field.input_value() == "0xnothex"
    assert "is not a number" in page.locator("#r-tcr_el1-err").inner_text()
    assert page.locator("#walk").inner_text() == walk_before
    assert page.url.endswith(f"/?{encode(LPA2)}")
    # Chromium logs every non-2xx fetch to the console; the 422 is the protocol, not a bug.
    assert [e for e in page.js_errors if "status of 422" not in e] == []


def test_reload_of_the_address_bar_gives_the_same_view(page, server_url):
    page.goto(f"{server_url}/?{encode(LPA2)}")
    state = page.locator("#from").input_value()
    page.locator('button[name="flip"][value="va:13"]').click()
    state = wait_for_state(page, state)
    # MAIR_EL1 is collapsed while it equals the preset; an edited register stays open.
    page.locator("#reg-mair_el1 > summary").click()
    page.locator('button[name="flip"][value="r.mair_el1:1"]').click()
    state = wait_for_state(page, state)
    assert page.locator("#reg-mair_el1").get_attribute("open") is not None
    assert page.url.endswith("/?" + state)
    walk = page.locator("#walk").inner_text()
    registers = page.locator("#registers").inner_text()
    page.reload()
    assert page.locator("#from").input_value() == state
    assert page.locator("#walk").inner_text() == walk
    assert page.locator("#registers").inner_text() == registers
    assert page.js_errors == []


# What the page shows, as a user and a screen reader meet it: the text of each region (folded
# or not: a disclosure the reader opened stays open through answers, static/js/morph.js), every
# bit button's pressed state, every control's value and which card slots are in use.
PAGE_STATE_JS = """() => ({
  text: ['#summary', '#setup', '#registers', '#walk', '#choices', '#linux-region']
    .map(sel => document.querySelector(sel).textContent.replace(/\\s+/g, ' ')),
  bits: [...document.querySelectorAll('button[name="flip"]')]
    .map(b => b.value + '=' + b.getAttribute('aria-pressed') + ':' + b.textContent),
  values: [...document.querySelectorAll('#explorer input, #explorer select')]
    .map(i => i.name + '=' + i.value),
  slots: [...document.querySelectorAll('li[id^="slot-"]')]
    .map(li => li.id + (li.hidden ? ':empty' : ':' + li.firstElementChild.id)),
})"""


@pytest.mark.parametrize("slug", ["4k-52-lpa2", "s1-48-over-s2-52"])
def test_clicked_page_equals_a_fresh_load_of_its_link(page, server_url, slug):
    """A run of clicks (register, address and descriptor bits, levels coming and going) is
    answered with out-of-band fragments; the page they leave must be the page its link
    gives when loaded afresh."""
    page.goto(f"{server_url}/?{encode(CONFIG_PRESETS[slug])}")
    state = page.locator("#from").input_value()
    tcr = "r.vtcr_el2" if slug.startswith("s2") else "r.tcr_el1"
    clicks = [
        "va:21",  # a new index at the last levels: new synthetic tables
        f"{tcr}:59",  # DS off: levels go (or the walk faults at set-up)
        f"{tcr}:59",  # and back: levels come again
        "va:40",
        "last:0",  # the last descriptor made invalid: a translation fault, a level less
        "last:0",
        "last:56",  # a software bit: only the value changes
        "va:12",
    ]
    for control in clicks:
        if control.startswith("last:"):
            cards = page.locator("#cards-main .card input.hex")
            name = cards.nth(cards.count() - 1).get_attribute("name")
            control = name + control[4:]
        button = page.locator(f'button[name="flip"][value="{control}"]')
        if button.count() == 0:
            continue  # the walk no longer shows that control
        reveal(button.first).click()
        state = wait_for_state(page, state)
    clicked = page.evaluate(PAGE_STATE_JS)
    assert page.url.endswith("/?" + state)
    page.goto(page.url)
    assert page.evaluate(PAGE_STATE_JS) == clicked
    assert page.js_errors == []


def test_keyboard_only_toggling_keeps_focus(page, server_url):
    page.goto(f"{server_url}/?{encode(LPA2)}")
    reveal(page.locator('button[name="flip"][value="r.tcr_el1:59"]')).focus()
    page.keyboard.press("ArrowRight")
    focused = page.evaluate("document.activeElement.value")
    assert focused == "r.tcr_el1:58"
    state = page.locator("#from").input_value()
    page.keyboard.press("Space")
    wait_for_state(page, state)
    page.wait_for_function("document.activeElement.value === 'r.tcr_el1:58'", timeout=3000)
    assert page.locator('button[value="r.tcr_el1:58"]').get_attribute("aria-pressed") == "true"
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("document.activeElement.value") == "r.tcr_el1:59"
    state = page.locator("#from").input_value()
    page.keyboard.press("Enter")
    wait_for_state(page, state)
    page.wait_for_function("document.activeElement.value === 'r.tcr_el1:59'", timeout=3000)
    assert page.js_errors == []


def test_works_without_javascript(browser, server_url):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{server_url}/?{encode(LPA2)}")
    page.locator("#reg-tcr_el1 > summary").click()
    page.locator('button[name="flip"][value="r.tcr_el1:59"]').click()
    page.wait_for_load_state()
    assert "tcr_el1=" in page.url
    assert page.locator(".fault").count() == 1
    context.close()
