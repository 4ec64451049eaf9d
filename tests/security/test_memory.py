"""Bounded memory under any input: no cache is keyed by a client header (10,000 distinct Host
headers leave the server's memory where it was), every cache is bounded in entries and bytes,
and the sizes the caches count are upper bounds of what their entries hold."""

from __future__ import annotations

import random
import socket
from urllib.parse import urlencode

import pytest

from app import cache
from app.edits import apply_form
from app.main import create_app
from app.routes.explorer import state_view
from app.state import decode, encode
from app.walks import decode_cached, query_of, state_of
from model.explore.configs import CONFIG_PRESETS
from tests.security.asgi import call
from tests.servers import start_server

HOSTS = 10_000
MAX_GROWTH_MB = 20


def _read_answer(stream) -> tuple[int, dict[str, str], bytes]:
    status = int(stream.readline().split()[1])
    headers = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, stream.read(int(headers.get("content-length", 0)))


def test_distinct_host_headers_leave_memory_flat(tmp_path):
    """10,000 requests, each naming another Host, over every route that prints absolute links
    (the page, an htmx click, .txt, .json, a short link's redirect): the server's resident
    memory grows by less than 20 MB, and with LPA2_PUBLIC_URL set no answer names a Host."""
    public = "https://lpa2.example.org"
    server = start_server(tmp_path, env={"LPA2_PUBLIC_URL": public})
    try:
        query = encode(CONFIG_PRESETS["4k-52-lpa2"])
        edit = urlencode({"flip": "va:12", "from": query})
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            stream = sock.makefile("rb")
            body = urlencode({"query": query}).encode()
            sock.sendall(
                b"POST /s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
                b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            status, headers, _ = _read_answer(stream)
            assert status == 303
            short = headers["location"].rsplit("/", 2)[-2]
            targets = [
                (f"/?{query}", b""),
                (f"/?{edit}", b"HX-Request: true\r\n"),
                (f"/walk.txt?{query}", b""),
                (f"/walk.json?{query}", b""),
                (f"/s/{short}", b""),
            ]

            def run(count: int, first: int, batch: int = 50) -> None:
                """``count`` requests, pipelined ``batch`` at a time (a loaded machine would
                spend most of the time switching between client and server otherwise)."""
                for start in range(first, first + count, batch):
                    numbers = range(start, min(start + batch, first + count))
                    requests = []
                    for n in numbers:
                        target, extra = targets[n % len(targets)]
                        host = f"h{n}.attacker.example:{n % 60000 + 1}"
                        requests.append(
                            f"GET {target} HTTP/1.1\r\nHost: {host}\r\n".encode() + extra + b"\r\n"
                        )
                    sock.sendall(b"".join(requests))
                    for n in numbers:
                        target = targets[n % len(targets)][0]
                        status, headers, answer = _read_answer(stream)
                        assert status in (200, 303), (target, status)
                        assert b"attacker" not in answer and "attacker" not in str(headers)
                        if status == 303:
                            assert headers["location"].startswith(public + "/?"), headers

            run(500, HOSTS)  # warm: imports, caches, allocator arenas
            before = server.rss_kb()
            run(HOSTS, 0)
            growth = (server.rss_kb() - before) / 1024
    finally:
        server.stop()
    print(f"\nRSS growth over {HOSTS} distinct Host headers: {growth:+.1f} MB")
    assert growth < MAX_GROWTH_MB, growth


def test_allowed_hosts(monkeypatch):
    monkeypatch.setenv("LPA2_ALLOWED_HOSTS", "lpa2.example.org, *.example.net")
    app = create_app()

    def get(path: str, host: bytes) -> int:
        answer = call(app, "GET", path, query=b"v=2", headers=[(b"host", host)])
        return answer.status, answer.text

    for host in (
        b"lpa2.example.org",
        b"LPA2.example.org:443",
        b"a.example.net",
        b"b.c.example.net",
    ):
        assert get("/walk.txt", host)[0] == 200, host
    for host in (b"evil.example.com", b"example.net", b"lpa2.example.org.evil.com", b""):
        status, text = get("/walk.txt", host)
        assert status == 400 and "does not answer for the host" in text, host
    assert get("/healthz", b"10.0.0.7:8000")[0] == 200  # probes name an address
    assert get("/readyz", b"10.0.0.7:8000")[0] in (200, 503)


# -- every cache bounded in bytes ------------------------------------------------------------


def test_lru_bounds_entries_and_bytes():
    lru = cache.LRU(100, max_bytes=10_000, sizer=cache.text)
    for n in range(50):
        lru.put(n, "x" * 1000)
    assert lru.bytes <= 10_000 and len(lru) < 10  # the bytes bound, before the entries bound
    assert lru.get(49) is not None and lru.get(0) is None  # the oldest went first
    lru.pop(49)
    lru.put(48, "y" * 10)  # replacing an entry counts its new size only
    assert lru.bytes == sum(cache.text(k, v) for k, v in lru.items())
    lru.clear()
    assert lru.bytes == 0 and len(lru) == 0
    single = cache.LRU(100, max_bytes=10, sizer=cache.text)
    single.put("big", "x" * 100)  # an entry larger than the whole budget is not kept
    assert len(single) == 0 and single.bytes == 0


@pytest.fixture(scope="module")
def filled_caches() -> None:
    _fill_with_varied_states()


def _fill_with_varied_states() -> None:
    """States of every preset, address edits, and links with the most memory entries."""
    rng = random.Random(7)
    queries = []
    for config in CONFIG_PRESETS.values():
        query = encode(config)
        queries.append(query)
        for _ in range(6):
            outcome = apply_form([("flip", f"va:{rng.randrange(12, 47)}"), ("from", query)])
            if outcome.ok:
                query = query_of(outcome.config)
                queries.append(query)
    for preset in ("4k-52-lpa2", "s1-48-over-s2-52"):
        for count in (64, 256):
            memory = "&".join(
                f"mem={0x100000 + 8 * i:#x}:{rng.getrandbits(64):#x}" for i in range(count)
            )
            queries.append(encode(decode(f"v=2&preset={preset}&{memory}").config))
    app = create_app()
    for n, query in enumerate(queries):
        decoded = decode_cached(query)
        state_view(state_of(decoded.config, query))
        if n % 4 == 0 and len(query) < 8000:  # pages fill the rendering caches
            assert call(app, "GET", "/", query=query.encode()).status == 200


@pytest.mark.parametrize("name", sorted(cache.BYTES))
def test_counted_sizes_are_upper_bounds(name, filled_caches):
    """The size a cache counts for an entry is at least what the entry holds (measured), so
    its bytes bound bounds memory. Named caches without a sizer measure their entries."""
    caches = cache.registered()
    if name not in caches:
        pytest.fail(f"cache {name!r} has a byte budget but no cache uses it")
    entry = caches[name]
    if isinstance(entry, cache.LRU):
        assert len(entry), name
        for key, value in entry.items():
            assert cache.deep_size(key, value) <= entry.sizer(key, value), (name, key)
        assert entry.bytes <= entry.max_bytes
    else:
        assert entry.bytes <= entry.max_bytes


def test_every_named_cache_has_a_byte_bound(filled_caches):
    for name, entry in cache.registered().items():
        assert 0 < entry.max_bytes <= 64 * cache.MB, name
        assert entry.bytes <= entry.max_bytes, name
    total = sum(cache.budget(name).bytes for name in cache.POLICY)
    assert total <= 512 * cache.MB, total


def test_default_sizer_samples_and_counts_twice_the_largest():
    sizer = cache.Sampled()
    assert sizer("k", "x" * 1000) == cache.text("k", "x" * 1000)  # text: exact
    small = {"a": list(range(10))}
    big = {"a": list(range(1000))}
    counted = [sizer(n, small) for n in range(cache.Sampled.FIRST)]
    assert counted[-1] == 2 * max(cache.deep_size(n, small) for n in range(cache.Sampled.FIRST))
    assert sizer(99, big) == counted[-1]  # not sampled: counted as the largest seen so far
    while sizer.count % cache.Sampled.EVERY:
        sizer(0, big)
    assert sizer.largest >= cache.deep_size(0, big)  # a sampled big entry raises the count
    assert sizer(1, small) >= 2 * cache.deep_size(0, big)
