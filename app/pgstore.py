"""Short links in PostgreSQL (``LPA2_DATABASE_URL=postgresql://...``), for several instances.

Ids are content-derived (``app.linkstore.candidate_ids``), so every instance gives a state the
same id; ``INSERT ... ON CONFLICT DO NOTHING`` on the primary key makes creating the same link
on two instances at once one row (the second waits for the first to commit, then finds it).
Commits are durable (PostgreSQL's default ``synchronous_commit``) before ``put`` returns.

Each worker process has one small pool (psycopg_pool). Connections the server dropped (a
restart) are found by the first statement that uses them; the operation is tried once more
on a checked connection, which is safe because ``put`` and ``get`` can be repeated. While the
server does not answer, calls fail at once for ``RETRY_SECONDS`` instead of each waiting for a
connection: a click asks the store, and must not wait for a database that is down.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import psycopg
from psycopg import errors
from psycopg_pool import ConnectionPool, PoolTimeout

from app.linkstore import (
    DISK_FULL,
    ID_RE,
    StoreQuotaReached,
    StoreStatus,
    StoreUnavailable,
    candidate_ids,
    check_query,
    quota_reason,
)

TABLE = "lpa2_links"
RETRY_SECONDS = 2.0
LOOKUP_WAIT = 0.25  # seconds a lookup waits for a pooled connection
WRITE_WAIT = 3.0
STATUS_WAIT = 1.0  # /readyz answers within the container check's 3 s
# Several instances starting at once each create the table: one at a time (an advisory lock
# held for the transaction), or two CREATE TABLE IF NOT EXISTS can collide in the catalogue.
SCHEMA_LOCK = 0x4C504132  # "LPA2"

UNREACHABLE = "the store is unreachable (the database server does not answer)"
SERVER_READ_ONLY = "the store is read-only (the database server accepts no writes)"
NO_PRIVILEGE = "the store is read-only (the database user may not write the links table)"
SERVER_BUSY = "the store is busy (the database server has no free connection)"

logger = logging.getLogger("lpa2.linkstore")
T = TypeVar("T")


def _reason(error: Exception) -> str:
    if isinstance(error, PoolTimeout | psycopg.OperationalError) and not isinstance(
        error, errors.DiskFull | errors.TooManyConnections
    ):
        return UNREACHABLE
    if isinstance(error, errors.DiskFull):
        return DISK_FULL
    if isinstance(error, errors.ReadOnlySqlTransaction):
        return SERVER_READ_ONLY
    if isinstance(error, errors.InsufficientPrivilege):
        return NO_PRIVILEGE
    if isinstance(error, errors.TooManyConnections):
        return SERVER_BUSY
    state = getattr(error, "sqlstate", None) or type(error).__name__
    return f"the store failed (database error {state})"


def _is_connection_failure(error: Exception) -> bool:
    return _reason(error) == UNREACHABLE


def _is_wait(error: Exception) -> bool:
    """No connection came in time: the pool is already trying to make one."""
    return isinstance(error, PoolTimeout)


class PostgresLinkStore:
    """A LinkStore in one PostgreSQL table."""

    backend = "postgresql"

    def __init__(self, url: str, max_bytes: int | None = None, pool_size: int = 4) -> None:
        self.max_bytes = max_bytes
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            open=False,
            timeout=WRITE_WAIT,
            kwargs={"autocommit": True, "connect_timeout": 3, "application_name": "lpa2-explorer"},
            name="lpa2-links",
        )
        self._opened = False
        self._schema_ready = False
        self._lock = threading.Lock()
        self._down: tuple[float, StoreUnavailable] | None = None

    # -- running an operation ----------------------------------------------------------------

    def _run(self, operation: Callable[[psycopg.Connection], T], wait: float) -> T:
        down = self._down
        if down is not None and time.monotonic() < down[0]:
            raise down[1]
        if not self._opened:
            with self._lock:
                if not self._opened:
                    self._pool.open(wait=False)
                    self._opened = True
        for attempt in (1, 2):
            try:
                with self._pool.connection(timeout=wait) as conn:
                    if not self._schema_ready:
                        self._create_schema(conn)
                    result = operation(conn)
                self._down = None
                return result
            except StoreUnavailable:
                raise
            except (psycopg.Error, PoolTimeout) as error:
                if attempt == 1 and _is_connection_failure(error) and not _is_wait(error):
                    # a connection the server dropped (restart): check the others, retry
                    self._pool.check()
                    continue
                failure = StoreUnavailable(_reason(error), f"{type(error).__name__}: {error}")
                if failure.reason == UNREACHABLE:
                    self._down = (time.monotonic() + RETRY_SECONDS, failure)
                logger.warning("short-link store (PostgreSQL): %s (%s)", failure.reason, error)
                raise failure from error
        raise AssertionError("unreachable")

    def _create_schema(self, conn: psycopg.Connection) -> None:
        with conn.transaction():
            if conn.execute("SELECT to_regclass(%s)", (TABLE,)).fetchone()[0] is None:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
                    " id text PRIMARY KEY,"
                    " query text NOT NULL,"
                    " created timestamptz NOT NULL DEFAULT now())"
                )
        self._schema_ready = True

    # -- the LinkStore interface -------------------------------------------------------------

    def put(self, query: str) -> str:
        check_query(query)
        return self._run(lambda conn: self._insert(conn, query), WRITE_WAIT)

    def _insert(self, conn: psycopg.Connection, query: str) -> str:
        with conn.transaction():
            for link_id in candidate_ids(query):
                stored = self._select(conn, link_id)
                if stored is None:
                    if self.max_bytes is not None and self._used_bytes(conn) >= self.max_bytes:
                        raise StoreQuotaReached(quota_reason(self.max_bytes))
                    inserted = conn.execute(
                        f"INSERT INTO {TABLE} (id, query) VALUES (%s, %s)"
                        " ON CONFLICT (id) DO NOTHING RETURNING id",
                        (link_id, query),
                    ).fetchone()
                    if inserted is not None:
                        return link_id
                    # another instance inserted this id since the SELECT (and has committed:
                    # the INSERT waited for it); read what it stored
                    stored = self._select(conn, link_id)
                if stored == query:
                    return link_id
        raise RuntimeError("no free id (full SHA-256 collision)")

    @staticmethod
    def _select(conn: psycopg.Connection, link_id: str) -> str | None:
        row = conn.execute(f"SELECT query FROM {TABLE} WHERE id = %s", (link_id,)).fetchone()
        return row[0] if row else None

    @staticmethod
    def _used_bytes(conn: psycopg.Connection) -> int:
        return conn.execute("SELECT pg_total_relation_size(%s)", (TABLE,)).fetchone()[0]

    def get(self, link_id: str) -> str | None:
        if not ID_RE.fullmatch(link_id):
            return None
        return self._run(lambda conn: self._select(conn, link_id), LOOKUP_WAIT)

    def status(self) -> StoreStatus:
        """Asks the server: reachable, in recovery (a standby), read-only by default, may this
        user insert, how many bytes the links take."""
        self._down = None

        def ask(conn: psycopg.Connection) -> tuple[str | None, int]:
            standby, read_only, may_insert, used = conn.execute(
                "SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only'),"
                f" has_table_privilege('{TABLE}', 'INSERT'), pg_total_relation_size(%s)",
                (TABLE,),
            ).fetchone()
            if standby or read_only == "on":
                return SERVER_READ_ONLY, used
            if not may_insert:
                return NO_PRIVILEGE, used
            if self.max_bytes is not None and used >= self.max_bytes:
                return quota_reason(self.max_bytes), used
            return None, used

        try:
            reason, used = self._run(ask, STATUS_WAIT)
        except StoreUnavailable as failure:
            return StoreStatus(
                "postgresql",
                writable=False,
                readable=failure.reason != UNREACHABLE,
                reason=failure.reason,
                max_bytes=self.max_bytes,
            )
        return StoreStatus(
            "postgresql",
            writable=reason is None,
            readable=True,
            reason=reason,
            used_bytes=used,
            max_bytes=self.max_bytes,
        )

    def close(self) -> None:
        if self._opened:
            self._pool.close()
            self._opened = False
