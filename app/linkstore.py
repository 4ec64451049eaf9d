"""Short links: a content-derived id for a canonical link query, kept in a small store.

The id of a query is the base62 form of the SHA-256 of the canonical query, cut to
``ID_LENGTH`` (7) characters, so ``/s/<id>`` is 10 characters after the host and the same state
always gets the same id, on any instance, with no counter to share. Should two states ever share
the first 7 characters (about one chance in 10^12 per pair), the later one takes the next
longer prefix of its own digest (8, 9, ... characters): still deterministic, and ids already
handed out never change.

Storage sits behind ``LinkStore`` (``put``/``get``) so a shared database can serve several
instances later. ``SQLiteLinkStore`` keeps one file in ``LPA2_DATA_DIR``: WAL journal,
``synchronous=FULL`` (every commit is fsynced before ``put`` returns), created on first write,
safe to use from several threads (one lock around one connection) and several processes
(``BEGIN IMMEDIATE`` serialises writers).
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
import time
from pathlib import Path
from typing import Protocol, runtime_checkable

ID_LENGTH = 7
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ID_RE = re.compile(rf"[0-9A-Za-z]{{{ID_LENGTH},64}}")
MAX_QUERY_LENGTH = 16_384


@runtime_checkable
class LinkStore(Protocol):
    def put(self, query: str) -> str:
        """Store a canonical query; return its id (the same id every time)."""

    def get(self, link_id: str) -> str | None:
        """The query stored under ``link_id``, or None."""


def _base62(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(BASE62[rest])
    return "".join(reversed(digits)).rjust(43, "0")


def candidate_ids(query: str) -> list[str]:
    """The ids ``query`` may get, shortest first: prefixes of base62(SHA-256(query))."""
    full = _base62(hashlib.sha256(query.encode("utf-8")).digest())
    return [full[:n] for n in range(ID_LENGTH, len(full) + 1)]


def existing_id(store: LinkStore, query: str) -> str | None:
    """The id under which ``store`` already holds ``query``, without storing anything."""
    for link_id in candidate_ids(query):
        stored = store.get(link_id)
        if stored is None:
            return None
        if stored == query:
            return link_id
    return None


class MemoryLinkStore:
    """A LinkStore in a dict (tests, scripts)."""

    def __init__(self) -> None:
        self._rows: dict[str, str] = {}
        self._lock = threading.Lock()

    def put(self, query: str) -> str:
        with self._lock:
            for link_id in candidate_ids(query):
                stored = self._rows.get(link_id)
                if stored is None:
                    self._rows[link_id] = query
                    return link_id
                if stored == query:
                    return link_id
        raise RuntimeError("no free id (full SHA-256 collision)")

    def get(self, link_id: str) -> str | None:
        return self._rows.get(link_id)


def _switch_to_wal(conn: sqlite3.Connection, timeout: float = 10.0) -> None:
    """``PRAGMA journal_mode=WAL``, waiting out other connections doing the same. Switching
    a new database's journal mode needs an exclusive lock and SQLite answers "database is
    locked" at once, without its busy handler, while another connection holds one (several
    workers opening the store together); wait like the busy timeout would."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


class SQLiteLinkStore:
    """A LinkStore in one SQLite file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        if self._conn is not None:
            return self._conn
        if not create and not self.path.exists():
            return None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path, timeout=10.0, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA busy_timeout=10000")
        _switch_to_wal(conn)
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS links ("
            " id TEXT PRIMARY KEY,"
            " query TEXT NOT NULL,"
            " created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))"
            ")"
        )
        self._conn = conn
        return conn

    def put(self, query: str) -> str:
        if len(query) > MAX_QUERY_LENGTH:
            raise ValueError(f"link query longer than {MAX_QUERY_LENGTH} characters")
        with self._lock:
            conn = self._connect(create=True)
            assert conn is not None
            conn.execute("BEGIN IMMEDIATE")
            try:
                for link_id in candidate_ids(query):
                    row = conn.execute(
                        "SELECT query FROM links WHERE id = ?", (link_id,)
                    ).fetchone()
                    if row is None:
                        conn.execute(
                            "INSERT INTO links (id, query) VALUES (?, ?)", (link_id, query)
                        )
                        conn.execute("COMMIT")
                        return link_id
                    if row[0] == query:
                        conn.execute("COMMIT")
                        return link_id
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("ROLLBACK")
        raise RuntimeError("no free id (full SHA-256 collision)")

    def get(self, link_id: str) -> str | None:
        if not ID_RE.fullmatch(link_id):
            return None
        with self._lock:
            conn = self._connect(create=False)
            if conn is None:
                return None
            row = conn.execute("SELECT query FROM links WHERE id = ?", (link_id,)).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


_STORES: dict[Path, SQLiteLinkStore] = {}
_STORES_LOCK = threading.Lock()


def store_at(path: Path | str) -> SQLiteLinkStore:
    """One shared SQLiteLinkStore per database file (the service calls this per request)."""
    key = Path(path).resolve()
    with _STORES_LOCK:
        store = _STORES.get(key)
        if store is None:
            store = _STORES[key] = SQLiteLinkStore(key)
        return store


def default_store() -> SQLiteLinkStore:
    from app.settings import get_settings

    return store_at(get_settings().links_db)
