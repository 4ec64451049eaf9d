"""Browser timing in headless Chromium (Debian's, through Playwright) against a real server:

* first page: bytes transferred for the explorer page and everything it loads (compressed,
  htmx included; CDP ``Network.loadingFinished`` encodedDataLength, with the browser cache
  off), target under 100 KB;
* bit click: time from the click to the settled htmx swap (the last ``htmx:afterSettle`` of
  the answer), median and spread over ``--clicks`` clicks (default 50) on address, register and
  descriptor bits, each clicked on then off; on a one-stage preset and on the two-stage
  ``s1-48-over-s2-52``, whose stage-1 cards hold the stage-2 walks of their table addresses
  (folded cards of their own) and whose clicks include those nested cards' bits.

Run: .venv/bin/python bench/browser.py [--clicks 50]
``bench/click_phases.py --browser`` splits a click's time into its phases (Chromium trace).
``tests/browser/test_timing.py`` runs a reduced form in CI.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.state import encode  # noqa: E402
from model.explore.configs import CONFIG_PRESETS, run  # noqa: E402
from tests.servers import start_server  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FIRST_PAGE_BUDGET = 100 * 1024
PRESET = "4k-52-lpa2"
NESTED_PRESET = "s1-48-over-s2-52"
PRESETS = (PRESET, NESTED_PRESET)

CLICK = """
async (selector) => {
  const from = document.getElementById('from');
  const old = from.value;
  let last = null;
  const settled = () => { last = performance.now(); };
  document.body.addEventListener('htmx:afterSettle', settled);
  const started = performance.now();
  document.querySelector(selector).click();
  const deadline = started + 10000;
  while ((from.isConnected ? from : document.getElementById('from')).value === old
         || last === null) {
    if (performance.now() > deadline) throw new Error('no swap for ' + selector);
    await new Promise(r => setTimeout(r, 0));
  }
  // every out-of-band region settles in the same task; two frames let any stragglers in
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  document.body.removeEventListener('htmx:afterSettle', settled);
  return last - started;
}
"""


@dataclass
class BrowserFigures:
    first_page_bytes: int
    first_page_requests: list[tuple[str, int]]
    click_ms: list[float]

    def summary(self) -> str:
        clicks = sorted(self.click_ms)
        lines = [
            f"first page: {self.first_page_bytes / 1024:.1f} KB transferred in "
            f"{len(self.first_page_requests)} requests (budget {FIRST_PAGE_BUDGET // 1024} KB)",
            *(f"  {size / 1024:7.1f} KB  {url}" for url, size in self.first_page_requests),
        ]
        if clicks:
            lines.append(
                f"bit click -> settled swap, {len(clicks)} clicks: median "
                f"{statistics.median(clicks):.1f} ms, min {clicks[0]:.1f}, "
                f"p90 {clicks[len(clicks) * 9 // 10]:.1f}, max {clicks[-1]:.1f}"
            )
        return "\n".join(lines)


def click_targets(preset: str = PRESET) -> list[str]:
    """Bits to click: VA bits, TCR and TTBR bits, and a bit of each descriptor read (stage-1,
    nested stage-2 and final stage-2 cards alike)."""
    config = CONFIG_PRESETS[preset]
    reads = [r.read.desc_address for r in run(config).reads()]
    bits = ["va:12", "va:13", "r.tcr_el1:7", "r.ttbr0_el1:12", "va:20"]
    # the contiguous hint: no fault, the same walk
    bits += [f"m.{pa:#x}:52" for pa in dict.fromkeys(reads) if pa is not None]
    return bits


def open_page(browser, url: str, preset: str = PRESET):
    """A new page on the preset's link, every request's transferred size recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    urls: dict[str, str] = {}
    sizes: dict[str, int] = {}
    cdp.on(
        "Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"])
    )
    cdp.on(
        "Network.loadingFinished",
        lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])),
    )
    page.goto(f"{url}/?{encode(CONFIG_PRESETS[preset])}", wait_until="networkidle")
    first = [(urls.get(rid, rid).replace(url, ""), size) for rid, size in sizes.items()]
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
    return context, page, first


def click_selector(bit: str) -> str:
    return f'button[name="flip"][value="{bit}"]'


def measure(browser, url: str, clicks: int, preset: str = PRESET) -> BrowserFigures:
    context, page, first = open_page(browser, url, preset)
    total = sum(size for _, size in first)
    targets = click_targets(preset)
    times: list[float] = []
    for i in range(clicks):
        bit = targets[(i // 2) % len(targets)]  # on, then off again
        times.append(page.evaluate(CLICK, click_selector(bit)))
    context.close()
    return BrowserFigures(total, sorted(first, key=lambda x: -x[1]), times)


def chromium() -> str:
    path = shutil.which("chromium")
    if not path:
        raise SystemExit("chromium is not installed: apt-get install chromium")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=50)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as data:
        server = start_server(Path(data))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
                figures = [measure(browser, server.url, args.clicks, p) for p in PRESETS]
                browser.close()
        finally:
            server.stop()
    for preset, figure in zip(PRESETS, figures, strict=True):
        print(f"== {preset}")
        print(figure.summary())
    return 0 if figures[0].first_page_bytes < FIRST_PAGE_BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
