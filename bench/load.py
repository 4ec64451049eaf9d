"""Bounded load on loopback: N requests from C concurrent keep-alive clients across the page,
htmx fragment, ``.txt`` and JSON routes of a real uvicorn server; prints throughput, latency
percentiles, errors and the server's memory (RSS before, after and peak, from /proc).

Run: .venv/bin/python bench/load.py [--requests 20000] [--concurrency 64]

Traffic goes to 127.0.0.1 only, stops after the given count, and the server is stopped at the
end. ``tests/load/test_load.py`` runs a reduced form of the same in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
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


async def _run(port: int, requests: int, concurrency: int, figures: Figures) -> None:
    mix = request_mix()
    source = itertools.islice(itertools.cycle(mix), requests)
    lock_free = iter(source)  # one shared iterator: each request is taken exactly once
    figures.requests = requests
    await asyncio.gather(*(_client(port, lock_free, figures) for _ in range(concurrency)))


def _asyncio_run(coroutine_function, *args) -> None:
    """asyncio.run in a thread of its own: the caller's thread may run a loop already (a test
    session where Playwright's sync API is active)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: asyncio.run(coroutine_function(*args))).result()


def run_load(server: Server, requests: int, concurrency: int, warmup: int = 300) -> Figures:
    figures = Figures()
    _asyncio_run(_run, server.port, warmup, min(concurrency, 8), Figures())  # caches, imports
    figures.rss_before_kb = server.rss_kb()
    peak = [figures.rss_before_kb]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            try:
                peak[0] = max(peak[0], server.rss_kb())
            except (OSError, RuntimeError):
                return

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    _asyncio_run(_run, server.port, requests, concurrency, figures)
    figures.seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    figures.rss_after_kb = server.rss_kb()
    figures.rss_peak_kb = max(peak[0], figures.rss_after_kb)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as data:
        server = start_server(Path(data))
        try:
            figures = run_load(server, args.requests, args.concurrency)
        finally:
            server.stop()
    print(f"load: {args.requests} requests, {args.concurrency} concurrent clients, loopback")
    print(figures.summary())
    return 1 if figures.errors else 0


if __name__ == "__main__":
    sys.exit(main())
