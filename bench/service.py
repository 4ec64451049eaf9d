"""Benchmark the service: bit clicks on the explorer against a trivial route, same server, same run.

Run: python3 bench/service.py            (about 40 s)
     python3 bench/service.py --quick    (a few seconds, for CI)

What it does:

1. Builds click chains in this process, before any timing: for a few presets, a sequence of
   bit clicks (register, descriptor and address bits, seeded random choice) where each click
   starts from the state the previous one produced, exactly as the page does it: the request
   carries what a bit click sends from the browser (static/js/explorer.js submits the small
   ``flip-form``: ``flip=<control>:<bit>`` and ``from=<canonical query>``, in that order and
   encoding, as captured from Chromium with Playwright) and the htmx headers (``HX-Request``,
   ``HX-Trigger``/``HX-Target: flip-form``, ``HX-Current-URL`` = the page's current link).
   The bits offered are read from the real page of each state (rendered in-process, parsed).
   Clicks are chosen so that almost every click leads to a state not seen before in its chain,
   so the server computes a new walk for (nearly) every request; only the state the click
   starts from can be in the server's small cache, as it is for a real user.
2. Starts uvicorn as ``make run`` does (one worker, ``app.main:app``) on a free loopback port.
3. Runs the load generator in a separate process (pinned to the other core when the machine
   has two): an asyncio HTTP/1.1 keep-alive client over raw sockets, ``--concurrency``
   connections, closed loop. Per round: warm-up, then ``GET /healthz`` (the trivial FastAPI
   route), then the click chains (``GET /?...``), same concurrency and duration.
4. Prints requests/s and p50/p95/p99 latency for both routes and their ratios, and PASS/FAIL
   against the targets: clicks reach >= 50% of /healthz throughput and their p95 stays < 2x
   the p95 of /healthz. Exit status 1 on FAIL or on any unexpected response.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PRESETS = ("4k-52-lpa2", "s1-48-over-s2-52", "16k-52-lpa2", "4k-48", "fault-access-flag")
TARGET_THROUGHPUT = 0.5  # click req/s >= 50% of /healthz req/s
TARGET_P95 = 2.0  # click p95 < 2x /healthz p95
COMMON_HEADERS = (
    "User-Agent: lpa2-bench/1\r\n"
    "Accept: */*\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en\r\n"
)


# -- 1. click chains (built in this process, not timed) ---------------------------------------


class _FormFields(HTMLParser):
    """The name/value pairs a browser submits for the explorer form (buttons excluded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pairs: list[tuple[str, str]] = []
        self.flips: list[str] = []
        self._in_form = False
        self._select: str | None = None
        self._first_option: str | None = None
        self._selected: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == "explorer":
            self._in_form = True
        if not self._in_form:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            self.pairs.append((a["name"], a.get("value") or ""))
        elif tag == "select" and a.get("name"):
            self._select, self._first_option, self._selected = a["name"], None, None
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._first_option is None:
                self._first_option = value
            if "selected" in a:
                self._selected = value
        elif tag == "button" and a.get("name") == "flip" and "disabled" not in a:
            self.flips.append(a.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            chosen = self._selected if self._selected is not None else self._first_option
            self.pairs.append((self._select, chosen or ""))
            self._select = None
        elif tag == "form" and self._in_form:
            self._in_form = False


def build_chains(clicks: int, seed: int = 1) -> list[list[tuple[bytes, bytes, bytes]]]:
    """One chain per preset: a list of (request path+query, expected HX-Push-Url, the page's
    current URL path+query for HX-Current-URL)."""
    from fastapi.testclient import TestClient

    from app.edits import apply_form
    from app.main import create_app
    from app.state import encode
    from model.explore.configs import CONFIG_PRESETS, run

    client = TestClient(create_app())
    rng = random.Random(seed)
    chains = []
    for slug in PRESETS:
        query = encode(CONFIG_PRESETS[slug])
        seen = {query}
        chain: list[tuple[bytes, bytes]] = []
        undo: str | None = None
        while len(chain) < clicks:
            page = client.get(f"/?{query}")
            form = _FormFields()
            form.feed(page.text)
            if undo is not None:
                choice = undo  # the walk faulted on the last click: the user clicks it back
            else:
                # Address bits, register bits and descriptor bits, each about a third.
                groups = [[f for f in form.flips if f.startswith(p)] for p in ("va:", "r.", "m.")]
                groups = [g for g in groups if g]
                choice = None
                for _ in range(50):
                    candidate = rng.choice(rng.choice(groups))
                    outcome = apply_form([("flip", candidate), ("from", query)])
                    if outcome.ok and encode(outcome.config) not in seen:
                        choice = candidate
                        break
                if choice is None:
                    break
            # What the browser sends for a bit click (see the module docstring).
            pairs = [("flip", choice), ("from", query)]
            outcome = apply_form(pairs)
            assert outcome.ok, outcome.errors
            new_query = encode(outcome.config)
            target = "/?" + urlencode(pairs)
            chain.append((target.encode(), f"/?{new_query}".encode(), f"/?{query}".encode()))
            faulted = run(outcome.config).fault is not None
            undo = choice if faulted and undo is None else None
            seen.add(new_query)
            query = new_query
        chains.append(chain)
    return chains


# -- 2. the server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, data_dir: str) -> subprocess.Popen:
    # no per-client rate limit: every request here comes from one address, on purpose
    env = dict(os.environ, LPA2_DATA_DIR=data_dir, LPA2_RATE_LIMITS="off")
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    if hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() >= 2:
        os.sched_setaffinity(process.pid, {0})
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("uvicorn did not start") from None
            time.sleep(0.1)


# -- 3. the load generator (its own process) ------------------------------------------------------


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, int]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at >= 0:
        end = lower.index(b"\r\n", at + 2)
        length = int(head[at + 17 : end])
        await reader.readexactly(length)
        return status, head, length
    body = 0
    while True:  # chunked
        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
        await reader.readexactly(size + 2)
        body += size
        if size == 0:
            return status, head, body


async def _connection(port, requests, offset, deadline, host, out, expect_header):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = offset
    try:
        while time.perf_counter() < deadline:
            raw, expected = requests[i % len(requests)]
            i += 1
            start = time.perf_counter()
            writer.write(raw)
            status, head, size = await _read_response(reader)
            elapsed = time.perf_counter() - start
            ok = status == 200 and (expected is None or expected_in(head, expected, expect_header))
            out.append((elapsed, ok, size))
    finally:
        writer.close()


def expected_in(head: bytes, expected: bytes, header: bytes) -> bool:
    at = head.lower().find(header)
    if at < 0:
        return False
    end = head.index(b"\r\n", at)
    return head[at + len(header) : end].strip() == expected


async def _run_phase(port, jobs, concurrency, seconds):
    """jobs: list of request lists; connection k works through jobs[k % len(jobs)]."""
    out: list = []
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    tasks = [
        _connection(
            port,
            jobs[k % len(jobs)],
            (k // len(jobs)) * 7,
            deadline,
            "127.0.0.1",
            out,
            b"hx-push-url:",
        )
        for k in range(concurrency)
    ]
    await asyncio.gather(*tasks)
    return out, time.perf_counter() - started


def _client_main(port, health_jobs, click_jobs, concurrency, seconds, warmup, rounds, queue):
    if hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() >= 2:
        os.sched_setaffinity(0, {1})
    results = []
    for _ in range(rounds):
        for name, jobs in (("healthz", health_jobs), ("click", click_jobs)):
            asyncio.run(_run_phase(port, jobs, concurrency, warmup))
            out, wall = asyncio.run(_run_phase(port, jobs, concurrency, seconds))
            results.append((name, out, wall))
    queue.put(results)


def request_bytes(target: bytes, port: int, current: bytes | None) -> bytes:
    """The raw request; ``current`` (the page's path+query) makes it an htmx bit click."""
    head = b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % port
    head += COMMON_HEADERS.encode()
    if current is not None:
        head += b"HX-Request: true\r\nHX-Trigger: flip-form\r\nHX-Target: flip-form\r\n"
        head += b"HX-Current-URL: http://127.0.0.1:%d%s\r\n" % (port, current)
    return head + b"\r\n"


# -- 4. figures -----------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summarize(out, wall) -> dict:
    latencies = [e for e, _, _ in out]
    return {
        "n": len(out),
        "rps": len(out) / wall,
        "p50": percentile(latencies, 50) * 1e3,
        "p95": percentile(latencies, 95) * 1e3,
        "p99": percentile(latencies, 99) * 1e3,
        "errors": sum(1 for _, ok, _ in out if not ok),
        "bytes": statistics.mean(s for _, _, s in out) if out else 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds, for CI")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=None, help="per route and round")
    parser.add_argument("--clicks", type=int, default=None, help="clicks per preset chain")
    args = parser.parse_args(argv)
    seconds = args.seconds or (2.0 if args.quick else 8.0)
    clicks = args.clicks or (20 if args.quick else 120)
    warmup = 0.5 if args.quick else 2.0
    rounds = 1 if args.quick else 2

    t0 = time.perf_counter()
    chains = build_chains(clicks)
    built = time.perf_counter() - t0
    port = free_port()
    click_jobs = [
        [(request_bytes(t, port, current), u) for t, u, current in chain] for chain in chains
    ]
    health_jobs = [[(request_bytes(b"/healthz", port, None), None)]]
    unique = sum(len(c) for c in chains)

    with tempfile.TemporaryDirectory() as data_dir:
        server = start_server(port, data_dir)
        try:
            ctx = multiprocessing.get_context("spawn")
            queue = ctx.Queue()
            client = ctx.Process(
                target=_client_main,
                args=(
                    port,
                    health_jobs,
                    click_jobs,
                    args.concurrency,
                    seconds,
                    warmup,
                    rounds,
                    queue,
                ),
            )
            client.start()
            results = queue.get()
            client.join()
        finally:
            server.terminate()
            server.wait(timeout=10)

    by_route: dict[str, list] = {"healthz": [], "click": []}
    for name, out, wall in results:
        by_route[name].append(summarize(out, wall))
    # One figure per route: the median over rounds of each column.
    rows = {
        name: {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        for name, runs in by_route.items()
    }
    errors = sum(r["errors"] for runs in by_route.values() for r in runs)
    h, c = rows["healthz"], rows["click"]
    cpus = os.cpu_count()
    print(
        f"machine: {cpus} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}; server pinned to core 0, client to core 1"
    )
    print(
        f"uvicorn app.main:app, 1 worker; {args.concurrency} keep-alive connections; "
        f"{rounds} round(s) x {seconds:g} s per route after {warmup:g} s warm-up"
    )
    print(
        f"click chains: {len(chains)} presets x {clicks} clicks = {unique} distinct requests "
        f"(built in {built:.1f} s)"
    )
    print()
    print(
        f"{'route':28s} {'requests':>9s} {'req/s':>8s} {'p50 ms':>7s} {'p95 ms':>7s} "
        f"{'p99 ms':>7s} {'bytes':>7s} {'errors':>6s}"
    )
    for label, r in (("GET /healthz", h), ("GET / bit click (htmx)", c)):
        print(
            f"{label:28s} {r['n']:9.0f} {r['rps']:8.0f} {r['p50']:7.2f} {r['p95']:7.2f} "
            f"{r['p99']:7.2f} {r['bytes']:7.0f} {r['errors']:6.0f}"
        )
    ratio = c["rps"] / h["rps"]
    p95_ratio = c["p95"] / h["p95"]
    ok_rps = ratio >= TARGET_THROUGHPUT
    ok_p95 = p95_ratio < TARGET_P95
    print()
    print(
        f"throughput click/healthz = {ratio:.2f}  (target >= {TARGET_THROUGHPUT:.2f})  "
        f"{'PASS' if ok_rps else 'FAIL'}"
    )
    print(
        f"p95 click/healthz        = {p95_ratio:.2f}  (target <  {TARGET_P95:.2f})  "
        f"{'PASS' if ok_p95 else 'FAIL'}"
    )
    if errors:
        print(f"FAIL: {errors} unexpected responses (status or HX-Push-Url)")
    return 0 if ok_rps and ok_p95 and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
