"""Every page type in Chromium under the real Content-Security-Policy: no violation
(``securitypolicyviolation`` events or CSP console errors), including after htmx swaps."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from app.state import encode
from model.explore.configs import CONFIG_PRESETS, run
from tests.browser.conftest import reveal

pytestmark = pytest.mark.browser

LPA2 = CONFIG_PRESETS["4k-52-lpa2"]
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(
  `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`
));
"""


@pytest.fixture
def csp_page(page):
    page.add_init_script(RECORD_VIOLATIONS)
    return page


def violations(page) -> list[str]:
    found = page.evaluate("window.__csp || []")
    console = [e for e in page.js_errors if "Content Security Policy" in e or "CSP" in e]
    return found + console


def visit(page, url: str, status: int = 200) -> None:
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == status, (url, response and response.status)
    page.wait_for_timeout(50)  # let deferred scripts run
    assert violations(page) == [], url


def test_every_page_type_runs_without_csp_violations(server_url, csp_page):
    page = csp_page
    query = encode(LPA2)
    visit(page, f"{server_url}/")
    visit(page, f"{server_url}/?{query}")
    visit(page, f"{server_url}/?{encode(CONFIG_PRESETS['s1-48-over-s2-52'])}")
    visit(page, f"{server_url}/?v=2&va=zz", 422)  # a link with problems
    visit(page, f"{server_url}/?" + urlencode({"from": query, "va": "zz"}), 422)  # bad edit
    for path in (
        "/tour",
        "/tour/3",
        "/compare",
        "/geometry",
        "/matrix",
        "/glossary",
        "/decode",
        "/decode?reg=TCR_EL1&value=0x1",
    ):
        visit(page, server_url + path)
    visit(page, f"{server_url}/decode?reg=TCR_EL1&value=zz", 422)
    visit(page, f"{server_url}/tour/999", 404)
    visit(page, f"{server_url}/s/zzzzzzz", 404)
    visit(page, f"{server_url}/walk.txt?{query}")
    visit(page, f"{server_url}/walk.json?{query}")
    visit(page, f"{server_url}/docs")  # FastAPI's docs page loads assets from a CDN: blocked?


def test_htmx_swaps_and_short_link_run_without_csp_violations(server_url, csp_page):
    page = csp_page
    visit(page, f"{server_url}/?{encode(LPA2)}")
    level1 = next(r for r in run(LPA2).levels if r.level == 1)
    for value in ("r.tcr_el1:59", "r.tcr_el1:59", f"m.{level1.desc_address:#x}:0"):
        old = page.locator("#from").input_value()
        reveal(page.locator(f'button[name="flip"][value="{value}"]')).click()
        page.wait_for_function(
            "old => document.getElementById('from').value !== old", arg=old, timeout=5000
        )
    short = page.locator('form[action="/s"] button, form[action="/s"] [type="submit"]')
    if short.count():
        short.first.click()
        page.wait_for_timeout(300)
    assert violations(page) == []
    assert page.js_errors == []
