"""First contact, navigation and sharing in a real browser, on a laptop (1280×800) and a phone
(390×844): where things are on the first screens (measured), history and undo (history.length,
Back and Forward checked), compare from anywhere, legibility (label sizes, tap targets,
overflow), the keyboard (Tab presses counted, focus followed) and screenshots of each."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from app.state import encode
from model.explore.configs import CONFIG_PRESETS, run
from tests.browser.conftest import ARTIFACTS, reveal, screenshot

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SIZES = {"1280": LAPTOP, "390": PHONE}
LPA2 = CONFIG_PRESETS["4k-52-lpa2"]


@pytest.fixture(params=list(SIZES))
def sized(request, browser):
    """A page at one of the two sizes, JavaScript errors collected."""
    context = browser.new_context(viewport=SIZES[request.param])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.js_errors = errors
    page.size_name = request.param
    yield page
    context.close()


def state(page) -> str:
    return page.locator("#from").input_value()


def wait_for_state(page, old: str) -> str:
    page.wait_for_function(
        "old => document.getElementById('from').value !== old", arg=old, timeout=5000
    )
    return state(page)


def click_bit(page, value: str) -> str:
    old = state(page)
    reveal(page.locator(f'button[name="flip"][value="{value}"]').first).click()
    return wait_for_state(page, old)


def no_overflow(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page is {width} px wide"


def box(page, selector: str) -> dict:
    """Where an element is on the page (document coordinates, px)."""
    return page.evaluate(
        """sel => { const b = document.querySelector(sel).getBoundingClientRect();
                    return {top: b.top + scrollY, bottom: b.bottom + scrollY,
                            left: b.left, right: b.right}; }""",
        selector,
    )


# -- 1. open on the story ------------------------------------------------------------------------


def test_the_first_screen_tells_the_story(sized, server_url):
    page = sized
    page.goto(f"{server_url}/")
    height = page.viewport_size["height"]
    walk = run(LPA2)
    levels = [r.level for r in walk.levels]
    assert levels[0] == -1  # `/` opens on the LPA2 walk from level -1
    # Every level read, each a link to its card, and the output address by source with
    # OA[51:50] from the descriptor.
    glance = page.locator("#glance")
    labels = glance.locator(".gv-levels > li > a .lv").all_inner_texts()
    assert labels == [f"L{n}" for n in levels]
    for link in glance.locator(".gv-levels > li > a").all():
        assert page.locator(link.get_attribute("href")).count() == 1
    oa = glance.locator(".gv-oa").inner_text()
    assert "OA[51:50] = 0x3" in oa and "desc[9:8]" in oa, oa
    invite = page.locator("#tour-invite")
    assert invite.is_visible() and invite.locator("a[href='/tour']").is_visible()
    positions = {
        sel: box(page, sel)
        for sel in ("#summary", "#tour-invite", "#glance", ".gv-oa", "#walk", "#cards-main .card")
    }
    # The registers show one line each (value and key fields) until opened.
    registers = page.locator("details.register")
    assert registers.count() >= 3
    assert page.locator("details.register[open]").count() == 0
    for i in range(registers.count()):
        assert registers.nth(i).locator("summary .kf").count() >= 1
    if page.size_name == "1280":
        # Summary, invitation, every level and the output split in the first screen.
        for sel in ("#summary", "#tour-invite", "#glance", ".gv-oa"):
            assert positions[sel]["bottom"] <= height, (sel, positions)
        for item in glance.locator(".gv-levels > li").all():
            assert item.bounding_box()["y"] + item.bounding_box()["height"] <= height
    else:
        # On a phone: the outcome in the first screen, the first card's head in the second.
        assert positions["#summary"]["bottom"] <= height, positions
        assert positions["#cards-main .card"]["top"] + 60 <= 2 * height, positions
    no_overflow(page)
    screenshot(page, f"ux-first-screen-{page.size_name}")
    first = ARTIFACTS / f"ux-first-screen-{page.size_name}-viewport.png"
    page.screenshot(path=str(first), caret="initial")  # the first screen alone
    # "Not now" hides the invitation for good (a fresh load does not bring it back); focus
    # stays on the page.
    page.click("#tour-dismiss")
    assert not invite.is_visible()
    assert page.evaluate("document.activeElement.id") == "glance"
    page.reload()
    assert not page.locator("#tour-invite").is_visible()
    assert page.js_errors == []
    print(page.size_name, {k: (round(v["top"]), round(v["bottom"])) for k, v in positions.items()})


def test_a_glance_link_opens_its_card_and_the_glance_follows_edits(sized, server_url):
    page = sized
    page.goto(f"{server_url}/?{encode(LPA2)}")
    leaf = page.locator("#glance .gv-levels > li").last
    leaf.locator("a").click()
    card = page.locator(leaf.locator("a").get_attribute("href"))
    top = card.bounding_box()["y"]
    assert 0 <= top < page.viewport_size["height"] / 2
    # Invalidating the leaf: the glance says the walk faults at that level.
    address = card.get_attribute("data-address")
    old = state(page)
    page.locator(f'button[name="flip"][value="m.{address}:0"]').click()
    wait_for_state(page, old)
    assert "faults" in page.locator("#glance .gv-outcome").inner_text()
    assert page.locator("#glance .gv-levels > li").last.get_attribute("class").count("k-invalid")
    assert page.locator("#glance .gv-oa").count() == 0
    assert page.js_errors == []


# -- 2. history and undo -------------------------------------------------------------------------

# Each region's text whether folded or not (a disclosure the reader opened stays open).
PAGE_STATE_JS = """() => ({
  text: ['#summary', '#registers', '#walk']
    .map(sel => document.querySelector(sel).textContent.replace(/\\s+/g, ' ')),
  bits: [...document.querySelectorAll('button[name="flip"]')]
    .map(b => b.value + '=' + b.getAttribute('aria-pressed')),
  values: [...document.querySelectorAll('#explorer input, #explorer select')]
    .map(i => i.name + '=' + i.value),
})"""


def test_each_edit_is_a_history_entry_and_undo_walks_back(sized, server_url):
    page = sized
    page.goto(f"{server_url}/?{encode(LPA2)}")
    start, length = state(page), page.evaluate("history.length")
    assert page.locator("#history").is_visible()
    assert page.get_attribute("#undo", "aria-disabled") == "true"
    states = [start]
    for bit in ("va:13", "va:14", "r.tcr_el1:40"):
        states.append(click_bit(page, bit))
    assert page.evaluate("history.length") == length + 3
    assert page.url.endswith("/?" + states[3])
    assert page.get_attribute("#undo", "aria-disabled") == "false"
    assert page.get_attribute("#redo", "aria-disabled") == "true"
    # Back: the state before the last edit, swapped in; the page equals a fresh load of it.
    page.go_back()
    wait_for_state(page, states[3])
    assert state(page) == states[2] and page.url.endswith("/?" + states[2])
    shown = page.evaluate(PAGE_STATE_JS)
    # Undo (Ctrl+Z) and Redo (the button) move along the same entries.
    page.locator("#walk-title").click()  # focus out of any text box: Ctrl+Z is the page's
    page.keyboard.press("Control+z")
    wait_for_state(page, states[2])
    assert state(page) == states[1]
    page.click("#redo")
    wait_for_state(page, states[1])
    assert state(page) == states[2]
    page.go_forward()
    wait_for_state(page, states[2])
    assert state(page) == states[3]
    assert page.get_attribute("#redo", "aria-disabled") == "true"
    # A new edit after going back starts a new branch: Redo has nothing to redo.
    page.go_back()
    wait_for_state(page, states[3])
    click_bit(page, "va:15")
    assert page.get_attribute("#redo", "aria-disabled") == "true"
    assert page.evaluate("history.length") == length + 3
    # What Back showed is what its link shows.
    page.goto(f"{server_url}/?{states[2]}")
    assert page.evaluate(PAGE_STATE_JS) == shown
    assert page.js_errors == []


def test_undo_reaches_the_first_state_and_stops(sized, server_url):
    page = sized
    page.goto(f"{server_url}/tour/3")
    page.goto(f"{server_url}/?{encode(LPA2)}")
    first = state(page)
    second = click_bit(page, "va:13")
    page.click("#undo")
    wait_for_state(page, second)
    assert state(page) == first
    assert page.get_attribute("#undo", "aria-disabled") == "true"
    focused = page.evaluate("document.activeElement.id")
    page.keyboard.press("Enter")  # nothing before the first state: the tour stays behind
    page.wait_for_timeout(300)
    assert page.url.endswith("/?" + first) and "/tour" not in page.url
    assert page.evaluate("document.activeElement.id") == focused == "undo"
    assert page.js_errors == []


def test_without_javascript_a_bit_click_returns_to_the_place_clicked(browser, server_url):
    for size in (LAPTOP, PHONE):
        context = browser.new_context(java_script_enabled=False, viewport=size)
        page = context.new_page()
        page.goto(f"{server_url}/?{encode(LPA2)}")
        length = page.evaluate("history.length")
        leaf = run(LPA2).levels[-1]
        card = f"card-1-3-{leaf.desc_address:#x}"
        page.locator(f'button[name="flip"][value="m.{leaf.desc_address:#x}:56"]').click()
        page.wait_for_load_state()
        assert page.url.endswith(f"#{card}")
        top = page.locator(f"#{card}").bounding_box()["y"]
        assert page.evaluate("window.scrollY") > 0
        assert 0 <= top < size["height"] / 2, f"the card is at {top} px after the click"
        assert page.evaluate("history.length") == length + 1  # an entry, Back returns
        context.close()


# -- 3. keyboard and assistive technology ------------------------------------------------------

ACTIVE_JS = """() => { const a = document.activeElement;
  return {tag: a.tagName, id: a.id, cls: a.className, value: a.value || '',
          label: a.getAttribute('aria-label') || '', disabled: !!a.disabled,
          card: a.closest('article.card') ? a.closest('article.card').id : ''}; }"""


def tabs_to_quick_action(page, url: str, k: int) -> tuple[int, dict, str]:
    """From the top of a fresh page: Tab to the first skip link ("Skip to the walk at a
    glance"), Enter, Tab into the glance, k arrow presses to its k-th level, Enter (to the
    card), then Tab to the card's first quick action. Returns the Tab presses, where focus is
    and the card the glance link leads to."""
    page.goto(url)
    page.keyboard.press("Tab")
    assert page.evaluate(ACTIVE_JS)["cls"] == "skip"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    tabs = 2
    for _ in range(k):
        page.keyboard.press("ArrowRight")
    card = page.evaluate("document.activeElement.getAttribute('href')")[1:]
    page.keyboard.press("Enter")
    page.wait_for_function("id => document.activeElement.id === id", arg=card, timeout=3000)
    while tabs < 40:
        page.keyboard.press("Tab")
        tabs += 1
        active = page.evaluate(ACTIVE_JS)
        assert active["tag"] != "BODY"
        if active["cls"] == "act":
            return tabs, active, card
    raise AssertionError(f"no quick action reached from {card}")


@pytest.mark.parametrize("slug", ["4k-52-lpa2", "s1-48-over-s2-52"])
def test_every_cards_quick_action_within_15_tab_presses(sized, server_url, slug):
    page = sized
    url = f"{server_url}/?{encode(CONFIG_PRESETS[slug])}"
    page.goto(url)
    links = page.locator("#glance [data-roving] a[href]").count()
    cards = page.locator("article.card[data-address]").count()
    assert links == page.locator("article.card").count() and cards > 0
    # Every card at the laptop size; on a phone the last main card and the last card read.
    ks = (
        range(links)
        if page.size_name == "1280"
        else sorted({links - 1, len(run(CONFIG_PRESETS[slug]).levels) - 1})
    )
    counts = []
    for k in ks:
        tabs, active, card = tabs_to_quick_action(page, url, k)
        assert active["card"] == card and not active["disabled"], (k, active)
        assert tabs <= 15, (k, tabs)
        counts.append(tabs)
    print(slug, page.size_name, "Tab presses per card:", counts)
    assert page.js_errors == []


def test_one_tab_stop_per_bit_row_arrows_within_it(sized, server_url):
    page = sized
    page.goto(f"{server_url}/?{encode(LPA2)}")
    reveal(page.locator("#reg-tcr_el1 button[name=flip]").first)
    rows = page.locator(".bitgrid, .strip").filter(has=page.locator("button[name=flip]"))
    stops = page.evaluate(
        """() => [...document.querySelectorAll('.bitgrid, .strip')]
             .map(row => [...row.querySelectorAll('button[name=flip]')])
             .filter(bits => bits.length).map(bits => bits.filter(b => b.tabIndex === 0).length)"""
    )
    assert len(stops) == rows.count() > 5 and set(stops) == {1}, stops
    total = page.evaluate(
        """() => [...document.querySelectorAll('a[href], button, input, select, summary')]
             .filter(e => !e.disabled && e.tabIndex >= 0 && e.getClientRects().length).length"""
    )
    bits = page.locator("button[name=flip]").count()
    print(page.size_name, "Tab stops on the page:", total, "bit buttons:", bits)
    assert total < 200 < bits
    # Tab reaches a grid once; arrows move along it; Tab leaves it; Shift+Tab comes back to
    # the bit last focused.
    ds = page.locator('button[value="r.tcr_el1:59"]')
    ds.focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.value") == "r.tcr_el1:58"
    tip = page.locator(".bit-tip")
    assert tip.is_visible() and tip.inner_text() == "TCMA1 bit 58"
    label = page.evaluate("document.activeElement.getAttribute('aria-label')")
    shown = page.evaluate("document.activeElement.textContent")
    assert label == f"{shown}, TCMA1 bit 58"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#reg-tcr_el1 .bitgrid')") is None
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.value") == "r.tcr_el1:58"
    # Hovering a descriptor bit shows its field and number too.
    leaf = run(LPA2).levels[-1].desc_address
    page.locator(f'button[value="m.{leaf:#x}:10"]').hover()
    assert tip.inner_text() == "AF bit 10"
    screenshot(page, f"ux-keyboard-{page.size_name}")
    assert page.js_errors == []


def test_focus_stays_on_the_page_after_actions(sized, server_url):
    page = sized
    page.goto(f"{server_url}/?{encode(LPA2)}")
    leaf = run(LPA2).levels[-1].desc_address
    card = f"card-1-3-{leaf:#x}"
    invalid = page.locator(f'#{card} button.act[value="{leaf:#x}:invalid"]')
    invalid.focus()
    old = state(page)
    page.keyboard.press("Enter")  # "Make invalid": the button is disabled afterwards
    wait_for_state(page, old)
    page.wait_for_function("document.activeElement !== document.body", timeout=3000)
    active = page.evaluate(ACTIVE_JS)
    assert active["card"] == card or active["id"] == card, active
    # A bit toggled from the keyboard keeps focus; so do Undo and the tour invitation.
    bit = page.locator(f'#{card} button[value="m.{leaf:#x}:0"]')
    bit.focus()
    old = state(page)
    page.keyboard.press("Space")
    wait_for_state(page, old)
    page.wait_for_function(
        "v => document.activeElement.value === v", arg=f"m.{leaf:#x}:0", timeout=3000
    )
    page.focus("#undo")
    old = state(page)
    page.keyboard.press("Enter")
    wait_for_state(page, old)
    assert page.evaluate("document.activeElement.id") == "undo"
    page.focus("#tour-dismiss")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "glance"
    assert page.js_errors == []


# -- 4. legible on every screen -----------------------------------------------------------------

# Every disclosure opened, then: text smaller than 11 px; on a phone, controls (buttons,
# boxes, selects, summaries, links that are not words in a sentence) smaller than 24×24 px;
# the page's width.
LEGIBILITY_JS = """() => {
  document.querySelectorAll('details:not([open])').forEach(d => { d.open = true; });
  const shown = e => { const b = e.getBoundingClientRect();
    return b.width > 0 && b.height > 0 && getComputedStyle(e).visibility !== 'hidden'; };
  const texted = e => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  const said = (e, n) => `"${(e.textContent || '').trim().slice(0, n)}"`;
  const small = [], targets = [];
  for (const e of document.querySelectorAll('body *')) {
    if (!shown(e) || !texted(e)) continue;
    const size = parseFloat(getComputedStyle(e).fontSize);
    if (size < 11) small.push(`${e.tagName}.${e.className} ${size}px ${said(e, 20)}`);
  }
  const controls = 'button, input:not([type=hidden]), select, summary, a[href]';
  if (innerWidth <= 600) {
    for (const e of document.querySelectorAll(controls)) {
      if (!shown(e) || e.classList.contains('skip')) continue;
      if (e.tagName === 'A' && getComputedStyle(e).display === 'inline'
          && !e.parentElement.matches('nav, .sum-links, .share-row, .onb-toc')) continue;
      const b = e.getBoundingClientRect();
      const size = `${Math.round(b.width)}x${Math.round(b.height)}`;
      if (b.width < 24 || b.height < 24)
        targets.push(`${e.tagName}.${e.className} ${size} ${said(e, 15)}`);
    }
  }
  return {width: document.documentElement.scrollWidth, small, targets};
}"""


def test_legible_on_every_screen(browser, server_url):
    lpa2 = encode(LPA2)
    paths = [f"/?{encode(config)}" for config in CONFIG_PRESETS.values()]
    paths += [
        f"/?{lpa2}&r.tcr_el1=0xnothex&apply=1", "/tour/1", "/tour/3", "/compare", "/geometry",
        "/decode?reg=S1_DESC&variant=DS1&granule=4&level=3&value=0x0060000f12345743",
        "/matrix", "/glossary",
    ]  # fmt: skip
    for size in (LAPTOP, PHONE):
        context = browser.new_context(viewport=size)
        page = context.new_page()
        problems = {}
        for path in paths:
            page.goto(server_url + path)
            found = page.evaluate(LEGIBILITY_JS)
            if found["width"] > size["width"] or found["small"] or found["targets"]:
                problems[path] = found
        if size is PHONE:
            # The bit buttons themselves: 24 px wide at least.
            page.goto(f"{server_url}/?{lpa2}")
            bit = page.locator("#cards-main button[name=flip]").first.bounding_box()
            assert bit["width"] >= 24 and bit["height"] >= 24, bit
        context.close()
        assert problems == {}, problems


# -- 5. compare from anywhere -------------------------------------------------------------------


def compare_sides(page) -> tuple[dict, dict]:
    return tuple(
        page.locator(f"section[aria-labelledby='w{side}-title']").bounding_box() for side in "ab"
    )


def test_compare_with_from_the_explorer(sized, server_url):
    page = sized
    page.goto(f"{server_url}/?{encode(CONFIG_PRESETS['4k-48'])}")
    edited = click_bit(page, "va:13")  # "Compare with…" starts from the state shown
    page.locator("#compare-with > summary").click()
    page.select_option("#compare-b", "with:ds")
    page.locator("#compare-with button[type=submit]").click()
    page.wait_for_url(re.compile(r"/compare\?"))
    query = parse_qs(urlsplit(page.url).query)
    assert query["a"] == [edited]
    assert "tcr_el1=" in query["b"][0]
    a, b = compare_sides(page)
    if page.size_name == "1280":
        assert a["y"] == b["y"] and a["x"] + a["width"] <= b["x"], (a, b)  # side by side
    else:
        assert b["y"] >= a["y"] + a["height"], (a, b)  # stacked
    no_overflow(page)
    screenshot(page, f"ux-compare-ds-{page.size_name}")
    # The pickers: another preset as B, then a link pasted as a mail client wraps it.
    page.select_option("#cmp-b", encode(CONFIG_PRESETS["16k-52-lpa2"]).replace("&", "&"))
    page.locator("form.cmp-pick button[type=submit]").click()
    page.wait_for_url(re.compile(r"preset%3D16k-52-lpa2"))
    wrapped = f"<{server_url}/?v=2&preset=64k-52-lpa\n  &va=0xfff0123456789abc>"
    page.fill("#cmp-b-link", wrapped)
    page.locator("form.cmp-pick button[type=submit]").click()
    page.wait_for_url(re.compile(r"va%3D0xfff0123456789abc"))
    assert parse_qs(urlsplit(page.url).query)["a"] == [edited]
    assert page.js_errors == []
