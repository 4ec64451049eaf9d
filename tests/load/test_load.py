"""A bounded load run on loopback against a real server: zero errors, flat memory.

CI runs ``LOAD_REQUESTS`` (default 3,000) requests in two halves from 64 concurrent keep-alive
clients across the page, htmx fragment, .txt and JSON routes; ``LPA2_LOAD_REQUESTS=20000``
runs the full size (or ``bench/load.py``, which prints the same figures).
"""

from __future__ import annotations

import os

from bench.load import run_load
from tests.servers import start_server

LOAD_REQUESTS = int(os.environ.get("LPA2_LOAD_REQUESTS", "3000"))
CONCURRENCY = 64
# Memory: what the first half grows (caches filling, allocator arenas) is bounded, and the
# second half, with the same working set, adds almost nothing.
MAX_GROWTH_MB = 96
MAX_SECOND_HALF_GROWTH_MB = 12


def test_load_has_no_errors_and_flat_memory(tmp_path):
    server = start_server(tmp_path)
    try:
        first = run_load(server, LOAD_REQUESTS // 2, CONCURRENCY)
        second = run_load(server, LOAD_REQUESTS - LOAD_REQUESTS // 2, CONCURRENCY, warmup=0)
    finally:
        server.stop()
    print(f"\nload, first half:\n{first.summary()}\nload, second half:\n{second.summary()}")
    for figures in (first, second):
        assert not figures.errors, figures.errors[:5]
        assert sum(figures.statuses.values()) == figures.requests
    growth = (second.rss_after_kb - first.rss_before_kb) / 1024
    peak = (max(first.rss_peak_kb, second.rss_peak_kb) - first.rss_before_kb) / 1024
    second_half = (second.rss_after_kb - second.rss_before_kb) / 1024
    assert growth < MAX_GROWTH_MB and peak < MAX_GROWTH_MB, (growth, peak)
    assert second_half < MAX_SECOND_HALF_GROWTH_MB, second_half
