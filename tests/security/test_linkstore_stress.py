"""The short-link store under concurrency and crashes: many threads, processes and HTTP
clients creating the same and different links lose nothing and make no duplicates, and a
server killed with SIGKILL mid-write comes back with every link it acknowledged."""

from __future__ import annotations

import http.client
import multiprocessing
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from app.linkstore import SQLiteLinkStore, candidate_ids
from app.state import canonical
from tests.servers import start_server

THREADS = 16


def queries(n: int, offset: int = 0) -> list[str]:
    return [canonical(f"v=2&preset=4k-52-lpa2&va={0x1000 * (i + offset):#x}") for i in range(n)]


def rows(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return conn.execute("SELECT id, query FROM links").fetchall()


def assert_consistent(db: Path, results: list[tuple[str, str]], exact: bool = True) -> None:
    """Every acknowledged (query, id) is stored, each query once, under its first free id;
    ``exact``: and nothing else (a killed server may have stored links it never answered)."""
    stored = dict(rows(db))
    by_query: dict[str, set[str]] = {}
    for query, link_id in results:
        by_query.setdefault(query, set()).add(link_id)
        assert stored.get(link_id) == query, (link_id, query)
    for query, ids in by_query.items():
        assert ids == {candidate_ids(query)[0]}, (query, ids)  # no collisions in these sets
    assert len(stored) == len(set(stored.values()))  # no query twice
    if exact:
        assert len(stored) == len(by_query)


def test_threads_same_and_different_links(tmp_path):
    db = tmp_path / "links.sqlite3"
    shared = SQLiteLinkStore(db)
    same = queries(5)
    different = queries(200, offset=100)

    def worker(n: int) -> list[tuple[str, str]]:
        own = SQLiteLinkStore(db) if n % 2 else shared  # one connection, or one each
        out = [(q, own.put(q)) for q in same]
        out += [(q, own.put(q)) for q in different[n::THREADS]]
        out += [(q, own.put(q)) for q in different[:20]]  # everyone writes these too
        return out

    with ThreadPoolExecutor(THREADS) as pool:
        results = [r for chunk in pool.map(worker, range(THREADS)) for r in chunk]
    assert_consistent(db, results)


def _process_worker(args: tuple[str, int]) -> list[tuple[str, str]]:
    db, n = args
    store = SQLiteLinkStore(db)
    same = queries(5)
    different = queries(120, offset=1000)
    out = [(q, store.put(q)) for q in same + different[n::4] + different[:10]]
    store.close()
    return out


def test_processes_same_and_different_links(tmp_path):
    db = tmp_path / "links.sqlite3"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        chunks = pool.map(_process_worker, [(str(db), n) for n in range(8)])
    assert_consistent(db, [r for chunk in chunks for r in chunk])


def post_short_link(conn: http.client.HTTPConnection, query: str) -> str:
    body = urlencode({"query": query})
    conn.request("POST", "/s", body, {"Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    response.read()
    assert response.status == 303, response.status
    return urlsplit(response.getheader("Location")).path.split("/")[2]


def test_http_clients_on_two_servers_sharing_one_database(tmp_path):
    servers = [start_server(tmp_path), start_server(tmp_path)]
    try:
        same = queries(5)
        different = queries(160, offset=5000)

        def client(n: int) -> list[tuple[str, str]]:
            server = servers[n % 2]
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            out = [(q, post_short_link(conn, q)) for q in same + different[n::THREADS]]
            out += [(q, post_short_link(conn, q)) for q in different[:10]]
            conn.close()
            return out

        with ThreadPoolExecutor(THREADS) as pool:
            results = [r for chunk in pool.map(client, range(THREADS)) for r in chunk]
    finally:
        for server in servers:
            server.stop()
    assert_consistent(tmp_path / "links.sqlite3", results)


def test_sigkill_mid_write_keeps_every_acknowledged_link(tmp_path):
    server = start_server(tmp_path)
    acknowledged: list[tuple[str, str]] = []
    lock = threading.Lock()
    stop = threading.Event()
    counter = iter(range(10**6))

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        while not stop.is_set():
            with lock:
                n = next(counter)
            query = queries(1, offset=10_000 + n)[0]
            try:
                link_id = post_short_link(conn, query)
            except (OSError, http.client.HTTPException):
                return  # the server died under this request: it was never acknowledged
            with lock:
                acknowledged.append((query, link_id))

    threads = [threading.Thread(target=client) for _ in range(6)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 150 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill()  # SIGKILL while the clients are still writing
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    assert len(acknowledged) >= 150, "the clients got too few answers before the kill"

    restarted = start_server(tmp_path)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", restarted.port, timeout=10)
        for query, link_id in acknowledged:
            conn.request("GET", f"/s/{link_id}")
            response = conn.getresponse()
            response.read()
            assert response.status == 303, (link_id, response.status)
            assert urlsplit(response.getheader("Location")).query == query
        # and the store still takes writes
        assert post_short_link(conn, queries(1, offset=99_999)[0])
        conn.close()
    finally:
        restarted.stop()
    assert_consistent(tmp_path / "links.sqlite3", acknowledged, exact=False)


@pytest.fixture(autouse=True)
def _no_public_url(monkeypatch):
    monkeypatch.delenv("LPA2_PUBLIC_URL", raising=False)


def test_workers_opening_a_new_store_together(tmp_path):
    """Several connections opening a new database at once race to switch it to WAL; SQLite
    answers the losers "database is locked" without waiting (about 1 run in 100 here before
    the store waited for it). Every first short link must still be stored."""
    for trial in range(120):
        db = tmp_path / f"links-{trial}.db"
        stores = [SQLiteLinkStore(db) for _ in range(THREADS)]
        start = threading.Barrier(THREADS)

        def put(n: int, stores=stores, start=start) -> str:
            start.wait()
            return stores[n].put(f"v=2&va={n:#x}")

        with ThreadPoolExecutor(THREADS) as pool:
            ids = list(pool.map(put, range(THREADS)))
        assert [stores[0].get(i) for i in ids] == [f"v=2&va={n:#x}" for n in range(THREADS)]
