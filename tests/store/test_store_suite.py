"""One test suite for every short-link backend: SQLite (embedded) and PostgreSQL (a real server,
tests/postgres.py). Same ids for the same state on any instance, one row per state however many
threads, processes and instances create it at once, the quota, status, and restarts."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from app.linkstore import (
    ID_LENGTH,
    MAX_QUERY_LENGTH,
    LinkStore,
    SQLiteLinkStore,
    StoreQuotaReached,
    StoreUnavailable,
    candidate_ids,
    existing_id,
)
from app.pgstore import TABLE, UNREACHABLE, PostgresLinkStore
from app.state import canonical

QUERY = "v=1&preset=4k-52-lpa2&va=0xffff800012345678"
THREADS = 12


def queries(n: int, offset: int = 0) -> list[str]:
    return [canonical(f"v=1&preset=4k-52-lpa2&va={0x1000 * (i + offset):#x}") for i in range(n)]


def open_store(spec: tuple[str, str], max_bytes: int | None = None) -> LinkStore:
    kind, where = spec
    if kind == "sqlite":
        return SQLiteLinkStore(where, max_bytes=max_bytes)
    return PostgresLinkStore(where, max_bytes=max_bytes)


@dataclass
class Backend:
    """A clean store location of one kind, with raw access to check what was stored."""

    kind: str
    where: str

    @property
    def spec(self) -> tuple[str, str]:
        return (self.kind, self.where)

    def open(self, max_bytes: int | None = None) -> LinkStore:
        return open_store(self.spec, max_bytes)

    def rows(self) -> list[tuple[str, str]]:
        if self.kind == "sqlite":
            with sqlite3.connect(self.where) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
                return conn.execute("SELECT id, query FROM links").fetchall()
        with psycopg.connect(self.where) as conn:
            return conn.execute(f"SELECT id, query FROM {TABLE}").fetchall()

    def raw_insert(self, link_id: str, query: str) -> None:
        """Another state already holds an id (as a real collision would leave it)."""
        if self.kind == "sqlite":
            with sqlite3.connect(self.where) as conn:
                conn.execute("INSERT INTO links (id, query) VALUES (?, ?)", (link_id, query))
        else:
            with psycopg.connect(self.where) as conn:
                conn.execute(f"INSERT INTO {TABLE} (id, query) VALUES (%s, %s)", (link_id, query))


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, tmp_path) -> Backend:
    if request.param == "sqlite":
        return Backend("sqlite", str(tmp_path / "links.sqlite3"))
    return Backend("postgresql", request.getfixturevalue("postgres").new_database())


def close(*stores: LinkStore) -> None:
    for store in stores:
        store.close()


def assert_consistent(backend: Backend, results: list[tuple[str, str]]) -> None:
    """Every acknowledged (query, id) is stored, under its first free id, each query once."""
    stored = dict(backend.rows())
    by_query: dict[str, set[str]] = {}
    for query, link_id in results:
        by_query.setdefault(query, set()).add(link_id)
        assert stored.get(link_id) == query, (link_id, query)
    for query, ids in by_query.items():
        assert ids == {candidate_ids(query)[0]}, (query, ids)
    assert len(stored) == len(set(stored.values())) == len(by_query)


def test_put_get_and_lookup(backend):
    store = backend.open()
    assert isinstance(store, LinkStore)
    assert store.get(candidate_ids(QUERY)[0]) is None  # before the first write
    link_id = store.put(QUERY)
    assert link_id == candidate_ids(QUERY)[0] and len(link_id) == ID_LENGTH
    assert store.put(QUERY) == link_id
    assert store.get(link_id) == QUERY
    assert store.get("0000000") is None
    assert store.get("not an id!") is None
    assert existing_id(store, QUERY) == link_id
    assert existing_id(store, QUERY + "&va=0x1") is None
    with pytest.raises(ValueError, match=f"longer than {MAX_QUERY_LENGTH}"):
        store.put("v=1&" + "x" * MAX_QUERY_LENGTH)
    status = store.status()
    assert status.writable and status.readable and status.reason is None
    assert status.backend == backend.kind
    assert backend.rows() == [(link_id, QUERY)]
    close(store)


def test_two_instances_give_the_same_id_and_see_each_other(backend):
    first, second = backend.open(), backend.open()
    link_id = first.put(QUERY)
    assert second.get(link_id) == QUERY
    assert second.put(QUERY) == link_id
    other = second.put(QUERY + "&access=el0w")
    assert first.get(other) == QUERY + "&access=el0w"
    close(first, second)
    reopened = backend.open()  # a restarted instance
    assert reopened.get(link_id) == QUERY and existing_id(reopened, QUERY) == link_id
    assert len(backend.rows()) == 2
    close(reopened)


def test_collision_takes_the_next_longer_prefix(backend):
    store = backend.open()
    store.put("v=1")  # creates the table
    taken = candidate_ids(QUERY)[0]
    backend.raw_insert(taken, "v=1&va=0x42")
    link_id = store.put(QUERY)
    assert link_id == candidate_ids(QUERY)[1] and len(link_id) == ID_LENGTH + 1
    assert store.put(QUERY) == link_id
    assert existing_id(store, QUERY) == link_id
    assert store.get(taken) == "v=1&va=0x42"
    close(store)


def test_threads_same_and_different_links(backend):
    shared = backend.open()
    same = queries(5)
    different = queries(120, offset=100)
    own_stores: list[LinkStore] = []
    lock = threading.Lock()

    def worker(n: int) -> list[tuple[str, str]]:
        if n % 2:
            own = backend.open()  # a connection (pool) of its own
            with lock:
                own_stores.append(own)
        else:
            own = shared
        out = [(q, own.put(q)) for q in same]
        out += [(q, own.put(q)) for q in different[n::THREADS]]
        out += [(q, own.put(q)) for q in different[:15]]  # everyone writes these too
        return out

    with ThreadPoolExecutor(THREADS) as pool:
        results = [r for chunk in pool.map(worker, range(THREADS)) for r in chunk]
    close(shared, *own_stores)
    assert_consistent(backend, results)


def _process_worker(args: tuple[tuple[str, str], int, float]) -> list[tuple[str, str]]:
    spec, n, start_at = args
    store = open_store(spec)
    same = queries(5)
    different = queries(80, offset=1000)
    time.sleep(max(0.0, start_at - time.time()))  # start together: the same rows at once
    out = [(q, store.put(q)) for q in same + different[n::4] + different[:10]]
    store.close()
    return out


def test_processes_same_and_different_links(backend):
    start_at = time.time() + 1.5
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        chunks = pool.map(_process_worker, [(backend.spec, n, start_at) for n in range(4)])
    assert_consistent(backend, [r for chunk in chunks for r in chunk])


def test_quota(backend):
    store = backend.open()
    store.put(QUERY)
    used = store.status().used_bytes
    assert used and used > 0
    store.close()
    full = backend.open(max_bytes=used)
    with pytest.raises(StoreQuotaReached) as caught:
        full.put(QUERY + "&access=el0w")
    assert caught.value.status_code == 507
    assert "quota" in caught.value.sentence() and caught.value.sentence().startswith(
        "Short links are unavailable: the store is full"
    )
    assert full.put(QUERY) == candidate_ids(QUERY)[0]  # an existing link is no new byte
    assert full.get(candidate_ids(QUERY)[0]) == QUERY
    status = full.status()
    assert not status.writable and status.readable and "quota" in status.reason
    close(full)
    roomy = backend.open(max_bytes=used * 100)
    assert roomy.put(QUERY + "&access=el0w")
    close(roomy)


def test_postgresql_server_restart_and_outage(postgres):
    url = postgres.new_database()
    store = PostgresLinkStore(url)
    link_id = store.put(QUERY)
    postgres.restart()  # every pooled connection is now dead
    assert store.get(link_id) == QUERY
    assert store.put(QUERY + "&access=el0w") == candidate_ids(QUERY + "&access=el0w")[0]

    postgres.stop()
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as caught:
            store.put(QUERY + "&access=el1w")
        assert caught.value.reason == UNREACHABLE
        assert existing_id(store, QUERY) is None  # lookups: no short link, quickly
        assert time.monotonic() - started < 5
        status = store.status()
        assert not status.writable and not status.readable and status.reason == UNREACHABLE
    finally:
        postgres.start()
    deadline = time.monotonic() + 10
    while True:  # back by itself once the retry pause is over
        try:
            assert store.put(QUERY + "&access=el1w")
            break
        except StoreUnavailable:
            assert time.monotonic() < deadline, "the store did not come back after the restart"
            time.sleep(0.2)
    assert store.get(link_id) == QUERY and store.status().writable
    store.close()


def test_postgresql_user_without_insert_privilege(postgres):
    url = postgres.new_database()
    owner = PostgresLinkStore(url)
    link_id = owner.put(QUERY)
    owner.close()
    database = url.rsplit("/", 1)[1]
    postgres.psql(
        "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reader') THEN "
        "CREATE ROLE reader LOGIN; END IF; END$$"
    )
    postgres.psql(f"GRANT SELECT ON {TABLE} TO reader", database)
    reader = PostgresLinkStore(url.replace("lpa2@", "reader@"))
    assert reader.get(link_id) == QUERY
    with pytest.raises(StoreUnavailable, match="may not write") as caught:
        reader.put(QUERY + "&access=el0w")
    assert caught.value.status_code == 503
    status = reader.status()
    assert not status.writable and status.readable and "may not write" in status.reason
    reader.close()


def test_sqlite_store_in_a_new_directory_is_created_on_first_write(tmp_path):
    path = tmp_path / "new" / "dir" / "links.sqlite3"
    store = SQLiteLinkStore(path)
    assert store.get(candidate_ids(QUERY)[0]) is None
    assert not path.parent.exists(), "reading must not create anything"
    assert store.status().writable  # it can be created
    assert not path.exists(), "status must not create the database"
    store.put(QUERY)
    assert Path(path).exists()
    store.close()
