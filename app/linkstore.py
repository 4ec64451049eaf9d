"""Short links: a content-derived id for a canonical link query, kept in a small store.

The id of a query is the base62 form of the SHA-256 of the canonical query, cut to
``ID_LENGTH`` (7) characters, so ``/s/<id>`` is 10 characters after the host and the same state
always gets the same id, on any instance, with no counter to share. Should two states ever share
the first 7 characters (about one chance in 10^12 per pair), the later one takes the next
longer prefix of its own digest (8, 9, ... characters): still deterministic, and ids already
handed out never change.

Storage sits behind ``LinkStore`` (``put``/``get``/``status``):

* ``SQLiteLinkStore`` (the embedded default) keeps one file in ``LPA2_DATA_DIR``: WAL journal,
  ``synchronous=FULL`` (every commit is fsynced before ``put`` returns), created on first write,
  safe from several threads (one lock around one connection) and processes (``BEGIN
  IMMEDIATE`` serialises writers). A database this process cannot write (another owner, a
  read-only mount) is opened read-only, so short links that exist keep opening.
* ``app.pgstore.PostgresLinkStore`` when ``LPA2_DATABASE_URL=postgresql://...``: one database
  for several instances.

A store that cannot do what is asked raises ``StoreUnavailable`` with a reason in words ("the
store is read-only (...)"). Callers degrade: a lookup that fails is "no short link"
(``existing_id`` logs a warning), a create that fails answers 503 (507 for the quota) with the
reason, and ``/readyz`` shows ``status()``. Nothing else depends on the store.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import quote

ID_LENGTH = 7
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ID_RE = re.compile(rf"[0-9A-Za-z]{{{ID_LENGTH},64}}")
MAX_QUERY_LENGTH = 16_384
# After a failure to open for writing, how long ``put`` answers the same reason without trying
# again (a store that is fixed comes back by itself, without a restart).
RETRY_SECONDS = 5.0
# Below this much free space ``status()`` calls the disk full: SQLite needs room for the WAL
# and a checkpoint, and a file system filled to the last block hurts everything else on it.
MIN_FREE_BYTES = 1 << 20
WARN_EVERY_SECONDS = 60.0

logger = logging.getLogger("lpa2.linkstore")


class StoreUnavailable(Exception):
    """The store cannot do what was asked. ``reason`` is a phrase for the user ("the store is
    read-only (...)"); ``cause`` is what the database said, for the log."""

    status_code = 503

    def __init__(self, reason: str, cause: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.cause = cause

    def sentence(self) -> str:
        return f"Short links are unavailable: {self.reason}."


class StoreQuotaReached(StoreUnavailable):
    """The store holds as many bytes of links as the operator allows (``LPA2_LINKS_MAX_BYTES``)."""

    status_code = 507


@dataclass(frozen=True)
class StoreStatus:
    """What ``/readyz`` reports: whether short links can be made and opened, and why not."""

    backend: str
    writable: bool
    readable: bool
    reason: str | None = None
    used_bytes: int | None = None
    max_bytes: int | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@runtime_checkable
class LinkStore(Protocol):
    def put(self, query: str) -> str:
        """Store a canonical query; return its id (the same id every time). Raises
        ``StoreUnavailable`` when the store cannot take it."""

    def get(self, link_id: str) -> str | None:
        """The query stored under ``link_id``, or None. Raises ``StoreUnavailable`` when the
        store cannot be read."""


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


def check_query(query: str) -> None:
    if len(query) > MAX_QUERY_LENGTH:
        raise ValueError(f"link query longer than {MAX_QUERY_LENGTH} characters")


class _Warnings:
    """At most one log line per reason a minute: a broken store is asked on every click."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}

    def warn(self, key: str, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last.get(key, -WARN_EVERY_SECONDS) >= WARN_EVERY_SECONDS:
            self._last[key] = now
            logger.warning(message, *args)


_warnings = _Warnings()


def existing_id(store: LinkStore, query: str) -> str | None:
    """The id under which ``store`` already holds ``query``, without storing anything. A store
    that cannot be read holds nothing, as far as pages are concerned (logged)."""
    try:
        for link_id in candidate_ids(query):
            stored = store.get(link_id)
            if stored is None:
                return None
            if stored == query:
                return link_id
    except StoreUnavailable as failure:
        _warnings.warn(
            f"lookup:{failure.reason}",
            "short-link lookups fail, pages are served without short links: %s (%s)",
            failure.reason,
            failure.cause,
        )
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

    def status(self) -> StoreStatus:
        return StoreStatus("memory", writable=True, readable=True)


# -- SQLite --------------------------------------------------------------------------------------

READ_ONLY_FS = "the store is read-only (its file system is mounted read-only)"
NOT_OURS = "the store is read-only (this server's user may not write the database or its folder)"
DISK_FULL = "the store is full (the disk holding it has no space left)"
NO_DIRECTORY = "the store is missing (its data directory does not exist and cannot be created)"
NOT_A_DIRECTORY = "the store is missing (its data directory is a file, not a directory)"
DAMAGED = "the store is damaged (its database file cannot be read as SQLite)"
BUSY = "the store is busy (another process held its lock too long); try again"


def quota_reason(max_bytes: int) -> str:
    return f"the store is full (it holds its quota of {format_bytes(max_bytes)} of links)"


def format_bytes(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


def _sqlite_reason(error: sqlite3.Error) -> str:
    """The user's reason for an SQLite error (its primary result code says which)."""
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF
    if code == sqlite3.SQLITE_FULL:
        return DISK_FULL
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN):
        return NOT_OURS
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return DAMAGED
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return BUSY
    if code == sqlite3.SQLITE_IOERR:
        return "the store cannot be written (the disk reported an input/output error)"
    return f"the store failed ({getattr(error, 'sqlite_errorname', type(error).__name__)})"


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


def _free_bytes(directory: Path) -> int | None:
    try:
        info = os.statvfs(directory)
    except OSError:
        return None
    return info.f_bavail * info.f_frsize


class SQLiteLinkStore:
    """A LinkStore in one SQLite file."""

    backend = "sqlite"

    def __init__(self, path: Path | str, max_bytes: int | None = None) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._writable = False
        self._write_blocked: tuple[float, StoreUnavailable] | None = None
        self._last_write_failure: tuple[float, StoreUnavailable] | None = None

    # -- what the file system allows, before SQLite is asked ---------------------------------

    def diagnose(self) -> StoreUnavailable | None:
        """Why this process cannot write the store, from the file system alone (None: it
        looks writable; the disk may still be full)."""
        directory = self.path.parent
        existing = directory
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            return StoreUnavailable(NOT_A_DIRECTORY, f"{existing} is not a directory")
        if existing != directory:  # the data directory would have to be created
            if not os.access(existing, os.W_OK | os.X_OK):
                return StoreUnavailable(NO_DIRECTORY, f"{directory} is missing; {existing} is "
                                        "not writable")  # fmt: skip
            return None
        try:
            read_only = bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
        except OSError as error:
            return StoreUnavailable(NOT_OURS, f"{directory}: {error.strerror}")
        if read_only:
            return StoreUnavailable(READ_ONLY_FS, f"{directory} is on a read-only mount")
        if self.path.exists() and not os.access(self.path, os.R_OK | os.W_OK):
            return StoreUnavailable(NOT_OURS, f"{self.path} is not writable by uid {os.getuid()}")
        if not os.access(directory, os.W_OK | os.X_OK):
            # SQLite creates the database, its -wal and -shm files next to it
            return StoreUnavailable(NOT_OURS, f"{directory} is not writable by uid {os.getuid()}")
        return None

    # -- connections (under self._lock) ------------------------------------------------------

    def _set_connection(self, conn: sqlite3.Connection | None, writable: bool) -> None:
        if self._conn is not None and self._conn is not conn:
            self._conn.close()
        self._conn, self._writable = conn, writable

    def _writer(self) -> sqlite3.Connection:
        """A connection that can write, or StoreUnavailable (remembered for RETRY_SECONDS)."""
        if self._conn is not None and self._writable:
            return self._conn
        now = time.monotonic()
        if self._write_blocked is not None and now < self._write_blocked[0]:
            raise self._write_blocked[1]
        failure = self.diagnose()
        conn = None
        if failure is None:
            try:
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
            except OSError as error:
                failure = StoreUnavailable(_os_reason(error), str(error))
            except sqlite3.Error as error:
                failure = StoreUnavailable(self._reason(error), str(error))
        if failure is not None:
            if conn is not None:
                conn.close()
            self._write_blocked = (now + RETRY_SECONDS, failure)
            _warnings.warn(
                f"open:{failure.reason}",
                "short-link store %s cannot be written: %s (%s)",
                self.path,
                failure.reason,
                failure.cause,
            )
            raise failure
        assert conn is not None
        self._write_blocked = None
        self._set_connection(conn, writable=True)
        return conn

    def _reader(self) -> sqlite3.Connection | None:
        """A connection to read with (None: there is no database, so no link)."""
        if self._conn is not None:
            return self._conn
        if not self.path.is_file():
            return None
        try:
            return self._writer()
        except StoreUnavailable:
            pass
        # Read-only: no journal switch, no table creation, nothing written. A WAL database
        # needs its -shm file to read; when it cannot be created (a folder of another owner,
        # a read-only mount) the file is read as immutable: nothing here can change it anyway.
        uri = "file:" + quote(str(self.path.resolve()))
        last: sqlite3.Error | None = None
        for mode in ("?mode=ro", "?mode=ro&immutable=1"):
            conn = None
            try:
                conn = sqlite3.connect(uri + mode, uri=True, timeout=10.0,
                                       isolation_level=None, check_same_thread=False)  # fmt: skip
                conn.execute("PRAGMA busy_timeout=10000")
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.Error as error:
                last = error
                if conn is not None:
                    conn.close()
                continue
            self._set_connection(conn, writable=False)
            return conn
        assert last is not None
        raise StoreUnavailable(_sqlite_reason(last), str(last))

    def _reason(self, error: sqlite3.Error) -> str:
        """The reason for an error while writing: SQLite reports a disk that filled up while
        it grew its -shm or -wal file as an I/O error, so the free space decides."""
        reason = _sqlite_reason(error)
        if reason not in (DAMAGED, BUSY, DISK_FULL):
            free = _free_bytes(self.path.parent)
            if free is not None and free < MIN_FREE_BYTES:
                return DISK_FULL
        return reason

    def _drop_connection(self) -> None:
        self._set_connection(None, writable=False)

    # -- the LinkStore interface -------------------------------------------------------------

    def put(self, query: str) -> str:
        check_query(query)
        with self._lock:
            conn = self._writer()
            try:
                link_id = self._insert(conn, query)
            except sqlite3.Error as error:
                _rollback(conn)
                failure = StoreUnavailable(self._reason(error), str(error))
                self._last_write_failure = (time.monotonic(), failure)
                if failure.reason not in (BUSY, DISK_FULL):
                    self._drop_connection()  # e.g. made read-only under us: open again
                logger.warning(
                    "short link not stored in %s: %s (%s)", self.path, failure.reason, error
                )
                raise failure from error
            except BaseException:
                _rollback(conn)
                raise
            self._last_write_failure = None
            return link_id

    def _insert(self, conn: sqlite3.Connection, query: str) -> str:
        conn.execute("BEGIN IMMEDIATE")
        for link_id in candidate_ids(query):
            row = conn.execute("SELECT query FROM links WHERE id = ?", (link_id,)).fetchone()
            if row is None:
                if self.max_bytes is not None and self._used_bytes(conn) >= self.max_bytes:
                    raise StoreQuotaReached(quota_reason(self.max_bytes))
                conn.execute("INSERT INTO links (id, query) VALUES (?, ?)", (link_id, query))
                conn.execute("COMMIT")
                return link_id
            if row[0] == query:
                conn.execute("COMMIT")
                return link_id
        raise RuntimeError("no free id (full SHA-256 collision)")

    @staticmethod
    def _used_bytes(conn: sqlite3.Connection) -> int:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        return (pages - free) * conn.execute("PRAGMA page_size").fetchone()[0]

    def get(self, link_id: str) -> str | None:
        if not ID_RE.fullmatch(link_id):
            return None
        with self._lock:
            conn = self._reader()
            if conn is None:
                return None
            try:
                row = conn.execute("SELECT query FROM links WHERE id = ?", (link_id,)).fetchone()
            except sqlite3.Error as error:
                if "no such table" in str(error):
                    return None  # an empty database file: no links yet
                self._drop_connection()
                raise StoreUnavailable(_sqlite_reason(error), str(error)) from error
        return row[0] if row else None

    def status(self) -> StoreStatus:
        """Whether links can be made and opened now, and why not (asks the file system and
        opens the database if there is one; creates and writes nothing)."""
        with self._lock:
            self._write_blocked = None  # ask again now
            reason = None
            used = None
            try:
                if self._conn is None and not self.path.exists():
                    failure = self.diagnose()  # not created before the first link
                    if failure is not None:
                        raise failure
                    used = 0
                else:
                    used = self._used_bytes(self._writer())
            except StoreUnavailable as failure:
                reason = failure.reason
            except sqlite3.Error as error:
                reason = _sqlite_reason(error)
            if reason is None:
                free = _free_bytes(self.path.parent)
                recent = self._last_write_failure
                if free is not None and free < MIN_FREE_BYTES:
                    reason = DISK_FULL
                elif recent is not None and time.monotonic() - recent[0] < 30:
                    reason = recent[1].reason
                elif self.max_bytes is not None and used is not None and used >= self.max_bytes:
                    reason = quota_reason(self.max_bytes)
            readable = True
            if reason is not None:
                try:
                    self._reader()
                except StoreUnavailable:
                    readable = False
        return StoreStatus(
            "sqlite",
            writable=reason is None,
            readable=readable,
            reason=reason,
            used_bytes=used,
            max_bytes=self.max_bytes,
        )

    def close(self) -> None:
        with self._lock:
            self._drop_connection()


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back the open transaction, if there is one: SQLite ends some failed transactions
    itself (a full disk), and a ROLLBACK then would only say "no transaction is active",
    hiding the real error."""
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error as error:
            logger.debug("rollback after a failed write: %s", error)


def _os_reason(error: OSError) -> str:
    return {
        errno.EROFS: READ_ONLY_FS,
        errno.EACCES: NOT_OURS,
        errno.EPERM: NOT_OURS,
        errno.ENOSPC: DISK_FULL,
        errno.EDQUOT: DISK_FULL,
        errno.ENOTDIR: NOT_A_DIRECTORY,
        errno.EEXIST: NOT_A_DIRECTORY,
        errno.ENOENT: NO_DIRECTORY,
    }.get(error.errno or 0, f"the store cannot be opened ({error.strerror})")


# -- choosing the store --------------------------------------------------------------------------

_STORES: dict[tuple, LinkStore] = {}
_STORES_LOCK = threading.Lock()


def store_at(path: Path | str, max_bytes: int | None = None) -> SQLiteLinkStore:
    """One shared SQLiteLinkStore per database file."""
    key = ("sqlite", Path(path).resolve(), max_bytes)
    with _STORES_LOCK:
        store = _STORES.get(key)
        if store is None:
            store = _STORES[key] = SQLiteLinkStore(key[1], max_bytes)
        assert isinstance(store, SQLiteLinkStore)
        return store


def default_store() -> LinkStore:
    """The store the settings name: PostgreSQL for ``LPA2_DATABASE_URL``, else the SQLite file
    in ``LPA2_DATA_DIR``; one object per setting (the service asks on every request)."""
    from app.settings import get_settings

    settings = get_settings()
    if settings.database_url:
        key = ("postgresql", settings.database_url, settings.links_max_bytes)
        with _STORES_LOCK:
            store = _STORES.get(key)
            if store is None:
                from app.pgstore import PostgresLinkStore

                store = _STORES[key] = PostgresLinkStore(
                    settings.database_url,
                    max_bytes=settings.links_max_bytes,
                    pool_size=settings.database_pool_size,
                )
            return store
    return store_at(settings.links_db, settings.links_max_bytes)


def store_status(store: LinkStore) -> StoreStatus:
    status = getattr(store, "status", None)
    if status is None:
        return StoreStatus(type(store).__name__, writable=True, readable=True)
    return status()
