"""Bounded load on loopback against a real server (``python -m app.server``): N requests from C
concurrent keep-alive clients; prints throughput, latency percentiles, errors and the server's
memory (RSS of its worker processes before, after and peak, from /proc).

Two mixes:

``--mix pages`` (default)
    the page, htmx fragment, ``.txt`` and JSON routes of every preset, one worker (as
    ``make run``); ``tests/load/test_load.py`` runs a reduced form in CI.
``--mix edits``
    every client walks its own chain of edits as the browser sends them (an htmx bit click
    ``flip=va:<bit>&from=<state>``, each from the state the previous one produced, so nearly
    every click is a state the server has not seen), against the production command with one
    worker per CPU (``--workers``), while a separate process asks ``/healthz`` one request at
    a time on a new connection each (as a container health check does) and prints its
    latencies: the figure that says whether clicks starve the health check.

Run: .venv/bin/python bench/load.py [--requests 20000] [--concurrency 64]
     .venv/bin/python bench/load.py --mix edits --concurrency 32 --requests 20000

Traffic goes to 127.0.0.1 only, stops after the given count, and the server is stopped at the
end.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import os
import random
import socket
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.state import encode  # noqa: E402
from model.explore.configs import CONFIG_PRESETS  # noqa: E402
from tests.servers import Server, start_server  # noqa: E402

HTMX_CLICK = b"HX-Request: true\r\nHX-Trigger: flip-form\r\nHX-Target: flip-form\r\n"
EDIT_PRESETS = ("4k-52-lpa2", "16k-52-lpa2", "4k-48", "s1-48-over-s2-52", "fault-access-flag")


def request_mix() -> list[tuple[str, str, bytes]]:
    """(kind, target, extra headers) of the requests the clients cycle through."""
    out = []
    for config in CONFIG_PRESETS.values():
        query = encode(config)
        out.append(("page", f"/?{query}", b""))
        out.append(("txt", f"/walk.txt?{query}", b""))
        out.append(("json", f"/walk.json?{query}", b""))
        for va in (0x1000, 0x7F_FFFF_F000):
            edit = urlencode({"from": query, "va": f"{va:#x}"})
            out.append(("fragment", f"/?{edit}", b"HX-Request: true\r\n"))
        out.append(("page-gzip", f"/?{query}", b"Accept-Encoding: gzip\r\n"))
    return out


def edit_chains(chains: int, length: int, seed: int = 1) -> list[list[tuple[str, str, bytes]]]:
    """``chains`` chains of ``length`` bit clicks on the address, each starting from the state
    the previous click produced (different presets and seeds, so chains rarely meet)."""
    from app.edits import apply_form

    rng = random.Random(seed)
    out = []
    for n in range(chains):
        query = encode(CONFIG_PRESETS[EDIT_PRESETS[n % len(EDIT_PRESETS)]])
        chain = []
        for _ in range(length):
            pairs = [("flip", f"va:{rng.randrange(12, 47)}"), ("from", query)]
            outcome = apply_form(pairs)
            if not outcome.ok:
                continue
            chain.append(("edit", "/?" + urlencode(pairs), HTMX_CLICK))
            query = encode(outcome.config)
        out.append(chain)
    return out


@dataclass
class Figures:
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    bytes_in: int = 0
    seconds: float = 0.0
    rss_before_kb: int = 0
    rss_after_kb: int = 0
    rss_peak_kb: int = 0

    def summary(self) -> str:
        all_ms = sorted(x for v in self.latencies.values() for x in v)
        lines = [
            f"requests {self.requests}, errors {len(self.errors)}, "
            f"{self.requests / self.seconds:.0f} req/s over {self.seconds:.1f} s, "
            f"statuses {dict(sorted(self.statuses.items()))}",
            f"latency ms: p50 {pct(all_ms, 50):.1f}  p90 {pct(all_ms, 90):.1f}  "
            f"p99 {pct(all_ms, 99):.1f}  max {all_ms[-1]:.1f}",
        ]
        for kind, values in sorted(self.latencies.items()):
            values.sort()
            lines.append(
                f"  {kind:<10} n={len(values):<6} p50 {pct(values, 50):6.1f}  "
                f"p99 {pct(values, 99):6.1f}"
            )
        lines.append(
            f"server RSS MB: before {self.rss_before_kb / 1024:.1f}  after "
            f"{self.rss_after_kb / 1024:.1f}  peak-sampled {self.rss_peak_kb / 1024:.1f}  "
            f"(growth {(self.rss_after_kb - self.rss_before_kb) / 1024:+.1f})"
        )
        if self.errors:
            lines.append("first errors: " + "; ".join(self.errors[:5]))
        return "\n".join(lines)


def pct(values: list[float], p: int) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, len(values) * p // 100)]


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, int]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value)
        elif name.lower() == "transfer-encoding":
            raise RuntimeError("chunked answer")
    if length is None:
        raise RuntimeError("answer without content-length")
    await reader.readexactly(length)
    return status, len(head) + length


async def _client(port: int, jobs, figures: Figures) -> None:
    reader = writer = None
    for kind, target, extra in jobs:
        started = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode() + extra + b"\r\n"
            )
            status, size = await asyncio.wait_for(_read_response(reader), timeout=60)
        except (OSError, RuntimeError, asyncio.IncompleteReadError, TimeoutError) as error:
            figures.errors.append(f"{kind} {target[:60]}: {error!r}")
            if writer is not None:
                writer.close()
            reader = writer = None
            continue
        figures.latencies.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
        figures.statuses[status] = figures.statuses.get(status, 0) + 1
        figures.bytes_in += size
        if status >= 400:
            figures.errors.append(f"{kind} {target[:60]}: HTTP {status}")
    if writer is not None:
        writer.close()


async def _run(port: int, requests: int, concurrency: int, figures: Figures, mix: str) -> None:
    figures.requests = requests
    if mix == "edits":
        per_client = -(-requests // concurrency)
        chains = edit_chains(concurrency, per_client, seed=requests)
        jobs = [iter(chain) for chain in chains]
        figures.requests = sum(len(chain) for chain in chains)
        await asyncio.gather(*(_client(port, job, figures) for job in jobs))
        return
    source = itertools.islice(itertools.cycle(request_mix()), requests)
    lock_free = iter(source)  # one shared iterator: each request is taken exactly once
    await asyncio.gather(*(_client(port, lock_free, figures) for _ in range(concurrency)))


def _asyncio_run(coroutine_function, *args) -> None:
    """asyncio.run in a thread of its own: the caller's thread may run a loop already (a test
    session where Playwright's sync API is active)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: asyncio.run(coroutine_function(*args))).result()


def workers_rss_kb(server: Server) -> int:
    """Resident memory of every process that serves (the sum over the workers)."""
    total = 0
    for pid in server.worker_pids():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def run_load(
    server: Server, requests: int, concurrency: int, warmup: int = 300, mix: str = "pages"
) -> Figures:
    figures = Figures()
    if warmup:  # caches, imports, every worker touched
        _asyncio_run(_run, server.port, warmup, min(concurrency, 8), Figures(), "pages")
    figures.rss_before_kb = workers_rss_kb(server)
    peak = [figures.rss_before_kb]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            try:
                peak[0] = max(peak[0], workers_rss_kb(server))
            except (OSError, RuntimeError):
                return

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    _asyncio_run(_run, server.port, requests, concurrency, figures, mix)
    figures.seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    figures.rss_after_kb = workers_rss_kb(server)
    figures.rss_peak_kb = max(peak[0], figures.rss_after_kb)
    return figures


# -- the health prober: its own process, one request at a time ----------------------------------


def probe_health(port: int, stop, interval: float, out) -> None:
    """``GET /healthz`` on a new connection, wait for the whole answer, pause, again, until
    ``stop`` is set; put the latencies (ms, connect to last byte) and failures on ``out``."""
    latencies: list[float] = []
    failures: list[str] = []
    request = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    while not stop.is_set():
        started = time.perf_counter()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(request.encode())
                answer = b""
                while chunk := sock.recv(4096):
                    answer += chunk
            if not answer.startswith(b"HTTP/1.1 200"):
                failures.append(answer[:40].decode("latin-1"))
            else:
                latencies.append((time.perf_counter() - started) * 1000)
        except OSError as error:
            failures.append(repr(error))
        stop.wait(interval)
    out.put((latencies, failures))


def run_with_health_probe(
    server: Server, requests: int, concurrency: int, mix: str, interval: float = 0.02
) -> tuple[Figures, list[float], list[str]]:
    context = multiprocessing.get_context("spawn")
    stop, out = context.Event(), context.Queue()
    _asyncio_run(_run, server.port, 300, 8, Figures(), "pages")  # warm every worker first
    prober = context.Process(target=probe_health, args=(server.port, stop, interval, out))
    prober.start()
    try:
        figures = run_load(server, requests, concurrency, warmup=0, mix=mix)
    finally:
        stop.set()
        latencies, failures = out.get(timeout=30)
        prober.join(timeout=10)
    return figures, latencies, failures


def health_summary(latencies: list[float], failures: list[str]) -> str:
    ordered = sorted(latencies)
    if not ordered:
        return f"/healthz: no answer ({len(failures)} failures: {failures[:3]})"
    return (
        f"/healthz while loaded, one at a time, new connection each: n={len(ordered)}  "
        f"p50 {pct(ordered, 50):.1f}  p90 {pct(ordered, 90):.1f}  p99 {pct(ordered, 99):.1f}  "
        f"max {ordered[-1]:.1f} ms  failures {len(failures)}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=None, help="64 (pages), 32 (edits)")
    parser.add_argument("--mix", choices=("pages", "edits"), default="pages")
    parser.add_argument(
        "--workers", type=int, default=None, help="server workers: 1 (pages), CPUs (edits)"
    )
    args = parser.parse_args(argv)
    concurrency = args.concurrency or (32 if args.mix == "edits" else 64)
    workers = args.workers or (len(os.sched_getaffinity(0)) if args.mix == "edits" else 1)
    with tempfile.TemporaryDirectory() as data:
        server = start_server(Path(data), None, "--workers", str(workers))
        try:
            if args.mix == "edits":
                figures, latencies, failures = run_with_health_probe(
                    server, args.requests, concurrency, args.mix
                )
            else:
                figures = run_load(server, args.requests, concurrency)
        finally:
            server.stop()
    print(
        f"load: {figures.requests} requests ({args.mix}), {concurrency} concurrent clients, "
        f"{workers} server worker(s) (python -m app.server), loopback"
    )
    print(figures.summary())
    if args.mix == "edits":
        print(health_summary(latencies, failures))
        return 1 if figures.errors or failures else 0
    return 1 if figures.errors else 0


if __name__ == "__main__":
    sys.exit(main())
