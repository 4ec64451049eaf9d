"""axe-core (installed from npm, package-lock.json pins it) on every page type and every preset,
in one browser session: no violation of the WCAG 2.1 A and AA rules, with every disclosure
opened so that the registers, nested walks, decoded fields and help are checked too, and
"label-content-name-mismatch" (WCAG 2.5.3, off by default in axe) switched on."""

from __future__ import annotations

import urllib.request

import pytest

from app.state import encode
from model.explore.configs import CONFIG_PRESETS
from model.teach.tour import steps
from tests.browser.conftest import ROOT

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG21 = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN_AXE = """async tags => {
  document.querySelectorAll('details:not([open])').forEach(d => { d.open = true; });
  const result = await axe.run(document, {
    runOnly: {type: 'tag', values: tags},
    rules: {'label-content-name-mismatch': {enabled: true}},
  });
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, count: v.nodes.length,
    first: v.nodes[0].html.slice(0, 200), why: v.nodes[0].failureSummary,
  }));
}"""


def short_link(server_url: str) -> str:
    """The /s/<id>/info page of a stored state."""
    data = f"query={encode(CONFIG_PRESETS['4k-52-lpa2']).replace('&', '%26')}".encode()
    request = urllib.request.Request(f"{server_url}/s", data=data, method="POST")
    with urllib.request.urlopen(request) as answer:  # 303 to /s/<id>/info
        assert "/info" in answer.url
        return answer.url


def page_paths(server_url: str) -> list[str]:
    lpa2 = encode(CONFIG_PRESETS["4k-52-lpa2"])
    paths = ["/"] + [f"/?{encode(config)}" for config in CONFIG_PRESETS.values()]
    paths += [
        f"/?{lpa2}&r.tcr_el1=0xnothex&apply=1",  # a refused edit: fields marked, 422
        "/?v=2&preset=no-such-preset",  # a link that cannot be used in part
        "/tour",
        *(f"/tour/{n}" for n in range(1, len(steps()) + 1)),
        "/compare",
        f"/compare?a={lpa2.replace('&', '%26')}&b=with:ds",
        "/geometry",
        "/decode",
        "/decode?reg=S1_DESC&variant=DS1&granule=4&level=3&value=0x0060000f12345743",
        "/decode?reg=TCR_EL1&value=0x8000006b510350c",
        "/decode?reg=ESR_ELx&value=0x96000007",
        "/decode?reg=TCR_EL1&value=0xnothex",  # refused: the field marked
        "/matrix",
        "/glossary",
        "/ptdump",
        "/s/zzzzzzzzzz",  # an unknown short link: the message page
    ]
    paths.append(short_link(server_url)[len(server_url) :])
    return paths


def test_no_wcag21_violations_on_any_page(browser, server_url):
    assert AXE.exists(), "axe-core is installed by `make setup-test` (npm ci)"
    source = AXE.read_text()
    # The axe script is evaluated as a page script, which the pages' CSP (rightly) refuses.
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = context.new_page()
    found: dict[str, list] = {}
    checked = 0
    for path in page_paths(server_url):
        page.goto(server_url + path)
        page.evaluate(source)
        violations = page.evaluate(RUN_AXE, WCAG21)
        checked += 1
        if violations:
            found[path] = violations
    # A page after an htmx edit (regions swapped in, a fault shown) is checked too.
    page.goto(f"{server_url}/?{encode(CONFIG_PRESETS['s1-48-over-s2-52'])}")
    old = page.locator("#from").input_value()
    leaf = page.locator("#cards-main .card[data-address]").last.get_attribute("data-address")
    page.evaluate("v => document.querySelector(`button[value='${v}']`).click()", f"m.{leaf}:0")
    page.wait_for_function("o => document.getElementById('from').value !== o", arg=old)
    page.evaluate(source)
    violations = page.evaluate(RUN_AXE, WCAG21)
    if violations:
        found["after an edit"] = violations
    context.close()
    assert checked > len(CONFIG_PRESETS) + 10
    assert found == {}, "\n".join(f"{p}: {v}" for p, v in found.items())
