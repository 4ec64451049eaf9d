"""The onboarding pages in a real browser: every tour step and every geometry row's explorer
walk loads without errors, keyboard navigation works, and screenshots at two widths."""

import re

import pytest

from model.teach import tour
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def _visit(page, url):
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == 200, (url, response and response.status)
    assert not page.js_errors, (url, page.js_errors)


def test_every_tour_step_and_keyboard(server_url, page):
    count = len(tour.steps())
    for n in range(1, count + 1):
        _visit(page, f"{server_url}/tour/{n}")
        assert page.locator("h1").inner_text() == tour.step(n).title
    _visit(page, f"{server_url}/tour/3")
    page.keyboard.press("ArrowRight")
    page.wait_for_url(re.compile(r"/tour/4$"))
    page.keyboard.press("p")
    page.wait_for_url(re.compile(r"/tour/3$"))
    page.keyboard.press("n")
    page.wait_for_url(re.compile(r"/tour/4$"))
    assert not page.js_errors


def test_tour_explorer_links_load(server_url, page):
    for n in range(1, len(tour.steps()) + 1):
        _visit(page, f"{server_url}/tour/{n}")
        href = page.locator("a.onb-btn.primary").get_attribute("href")
        _visit(page, server_url + href)


def test_every_geometry_row_loads(server_url, page):
    _visit(page, f"{server_url}/geometry")
    links = page.eval_on_selector_all("a.geo-link", "els => els.map(e => e.getAttribute('href'))")
    assert len(links) > 60
    for href in links:
        _visit(page, server_url + href)


def test_other_pages_load(server_url, page):
    for path in ("/compare", "/decode?reg=ESR_ELx&value=0x9600002b", "/matrix", "/glossary"):
        _visit(page, server_url + path)


def test_screenshots(server_url, browser):
    for width in (1280, 390):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        for n in (1, 3, 11, 13):
            page.goto(f"{server_url}/tour/{n}")
            screenshot(page, f"onb-tour-{n}-{width}")
        page.goto(f"{server_url}/compare")
        screenshot(page, f"onb-compare-{width}")
        page.goto(f"{server_url}/geometry")
        screenshot(page, f"onb-geometry-{width}")
        page.goto(f"{server_url}/decode?reg=S1_DESC&value=0x0042DCBA98765F47&variant=DS1&level=3")
        screenshot(page, f"onb-decode-{width}")
        assert not errors
        context.close()
