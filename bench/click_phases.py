"""Where a bit click's server time goes: the steps of ``GET /`` for a click, timed one by one
in this process (no HTTP, no middleware), over the same click chains as ``bench/service.py``.

Run: python3 bench/click_phases.py [--clicks 60] [--rounds 4] [--browser 30]

Each step is the call the route makes (``app.routes.explorer.explorer``), in its order; the
caches are emptied before each round and every click reaches a state not seen before, as in
the service benchmark. CPU time per click, the best round of ``--rounds`` (the machine is
shared: the best round is the least disturbed one). The last line is ``GET /healthz`` through
the whole application in the same process, for scale.

With ``--browser N`` it then starts the server and Debian's Chromium and traces N bit clicks on
each of ``bench/browser.py``'s presets (``bench/browser_phases.py``): the click's wall time cut
into request, server, transfer, swap (parse and put in place), settle (htmx processing) and
the frame that shows it, and the renderer main thread's time by kind (scripting, HTML parsing,
style, layout, paint and composite, garbage collection).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STEPS = (
    "apply the edit (app.edits.apply_form)",
    "name the new state, find the old view",
    "walk (model, via app.walks.state_of)",
    "build the view (app.views.explorer_view)",
    "compare views (app.fragment.changed_regions)",
    "short-link lookup",
    "render the answer (app.fragment)",
    "compress (Brotli)",
)


def clear_caches() -> None:
    """Forget every state, view and rendered region (not the plans built from the model's
    tables, which a running server builds once)."""
    from app import cache

    cache.clear(tables=False)


def time_clicks(chains, rounds: int) -> list[float]:
    from app.compression import compress
    from app.edits import apply_form
    from app.fragment import changed_regions, render_fragment
    from app.links import Links
    from app.routes import explorer as route
    from app.walks import query_of, state_of

    forms = [
        parse_qsl(urlsplit(target.decode()).query, keep_blank_values=True)
        for chain in chains
        for target, _, _ in chain
    ]
    links = Links("http://127.0.0.1:8000")
    best = [float("inf")] * len(STEPS)
    clock = time.process_time

    for _ in range(rounds):
        clear_caches()
        spent = [0.0] * len(STEPS)
        for pairs in forms:
            t0 = clock()
            outcome = apply_form(pairs)
            t1 = clock()
            query = query_of(outcome.config)
            old = route.state_view(state_of(outcome.before))
            t2 = clock()
            state = state_of(outcome.config, query)
            t3 = clock()
            view = route.state_view(state)
            t4 = clock()
            regions = changed_regions(old, view, everything=outcome.loaded)
            t5 = clock()
            share = links.share(query, links.short_of(query))
            t6 = clock()
            html = render_fragment(view, regions, share_links=share)
            t7 = clock()
            compress("br", html.encode())
            t8 = clock()
            marks = (t0, t1, t2, t3, t4, t5, t6, t7, t8)
            for i in range(len(STEPS)):
                spent[i] += marks[i + 1] - marks[i]
        best = [min(b, s / len(forms)) for b, s in zip(best, spent, strict=True)]
    return best


def time_healthz(rounds: int, requests: int = 2000) -> float:
    from app.main import app

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/healthz",
        "raw_path": b"/healthz",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"accept-encoding", b"gzip, deflate, br")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    async def run() -> float:
        best = float("inf")
        for _ in range(rounds):
            start = time.process_time()
            for _ in range(requests):
                await app(dict(scope), receive, send)
            best = min(best, (time.process_time() - start) / requests)
        return best

    return asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=60, help="clicks per preset chain")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--browser", type=int, default=0, metavar="N", help="also trace N clicks in Chromium"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("LPA2_DATA_DIR", tempfile.mkdtemp(prefix="lpa2-phases-"))
    from bench.service import build_chains

    chains = build_chains(args.clicks)
    steps = time_clicks(chains, args.rounds)
    clicks = sum(len(chain) for chain in chains)
    print(f"{clicks} distinct bit clicks ({len(chains)} presets), CPU time per click, best of "
          f"{args.rounds} rounds:")  # fmt: skip
    for name, seconds in zip(STEPS, steps, strict=True):
        print(f"  {name:42s} {seconds * 1e6:7.0f} us")
    print(f"  {'total':42s} {sum(steps) * 1e6:7.0f} us")
    healthz = time_healthz(args.rounds)
    print(f"GET /healthz through the whole app, same process: {healthz * 1e6:.0f} us")
    if args.browser:
        browser_phases(args.browser)
    return 0


def browser_phases(clicks: int) -> None:
    from playwright.sync_api import sync_playwright

    from bench.browser import CHROMIUM_ARGS, PRESETS, chromium
    from bench.browser_phases import trace_clicks
    from tests.servers import start_server

    with tempfile.TemporaryDirectory() as data:
        server = start_server(Path(data))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
                for preset in PRESETS:
                    print()
                    print(trace_clicks(browser, server.url, preset, clicks).summary(preset))
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
