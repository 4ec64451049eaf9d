"""Service settings, from the environment. Every one has a default fit for a public instance.

Where data lives
  ``LPA2_DATA_DIR``           directory of the SQLite short-link database ``links.sqlite3``
                              (default ``./var``; created on first write)
  ``LPA2_DATABASE_URL``       ``postgresql://user:password@host/db``: keep short links in
                              PostgreSQL instead (several instances share it)
  ``LPA2_DATABASE_POOL_SIZE`` PostgreSQL connections per worker process (default 4)
  ``LPA2_LINKS_MAX_BYTES``    storage quota for short links, e.g. ``500M``, ``2G`` (default
                              ``1G``; ``0`` for none); over it, creating a link answers 507

Links and clients
  ``LPA2_PUBLIC_URL``         scheme, host and optional path prefix every absolute link is
                              printed with, e.g. ``https://lpa2.example.org``; unset: links are
                              relative (the ``Host`` header is never used to build them)
  ``LPA2_ALLOWED_HOSTS``      comma-separated ``Host`` names to answer (``*.example.org``
                              matches subdomains); others get 400. Default: any
  ``LPA2_TRUSTED_PROXIES``    comma-separated addresses or networks (``10.0.0.0/8``) of reverse
                              proxies whose ``X-Forwarded-For``/``-Proto`` are believed. Default:
                              none, so the client is the socket's peer

Per-client limits (a client is an IPv4 address or an IPv6 /64; see ``app.ratelimit``)
  ``LPA2_RATE_SHORT_LINKS``   short links a client may make: ``COUNT/SECONDS`` (default
                              ``20/60``: bursts of 20, then one every 3 s)
  ``LPA2_RATE_PAGES``         explorer clicks, pages, .txt/.json/API walks (default ``600/60``)
  ``LPA2_RATE_LIMITS``        ``off`` turns both off (a private instance, the test suite)

They are read when asked for (not cached at import) so that tests and the CLI can point them
elsewhere with ``monkeypatch.setenv`` or ``--data-dir`` without reloading anything; the
middleware reads its limits once, when the app is built. The server process (``app.server``)
has its own: workers, timeouts, host and port.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_ENV = "LPA2_DATA_DIR"
PUBLIC_URL_ENV = "LPA2_PUBLIC_URL"
DATABASE_URL_ENV = "LPA2_DATABASE_URL"
DEFAULT_DATA_DIR = "var"
LINKS_DB_NAME = "links.sqlite3"
DEFAULT_LINKS_MAX_BYTES = "1G"
DEFAULT_RATE_SHORT_LINKS = "20/60"
DEFAULT_RATE_PAGES = "600/60"


class SettingError(ValueError):
    """An environment variable that cannot be read (the service refuses to start)."""


@dataclass(frozen=True)
class Rate:
    """``count`` requests per ``seconds``: a bucket of ``count`` that refills over ``seconds``."""

    count: int
    seconds: float

    def __str__(self) -> str:
        return f"{self.count}/{self.seconds:g}"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    public_url: str | None
    database_url: str | None = None
    database_pool_size: int = 4
    links_max_bytes: int | None = None
    allowed_hosts: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()
    rate_limits: bool = True
    rate_short_links: Rate | None = None
    rate_pages: Rate | None = None

    @property
    def links_db(self) -> Path:
        return self.data_dir / LINKS_DB_NAME


def parse_bytes(text: str, name: str) -> int | None:
    """``1G``, ``500M``, ``64K`` or a number of bytes; ``0`` is "no limit" (None)."""
    match = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)i?B?\s*", text, re.IGNORECASE)
    if not match:
        raise SettingError(f"{name}={text!r}: expected a size such as 500M or 2G")
    value = int(match[1]) << (10 * " KMGT".index(match[2].upper() or " "))
    return value or None


def parse_rate(text: str, name: str) -> Rate | None:
    """``COUNT/SECONDS`` (``20/60``); ``0`` or ``off`` is "no limit" (None)."""
    if text.strip().lower() in ("0", "off", "none"):
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*", text)
    if not match or int(match[1]) < 1 or float(match[2]) <= 0:
        raise SettingError(f"{name}={text!r}: expected COUNT/SECONDS such as 20/60, or off")
    return Rate(int(match[1]), float(match[2]))


def _list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


_ENV_NAMES = (
    DATA_DIR_ENV,
    PUBLIC_URL_ENV,
    DATABASE_URL_ENV,
    "LPA2_DATABASE_POOL_SIZE",
    "LPA2_LINKS_MAX_BYTES",
    "LPA2_ALLOWED_HOSTS",
    "LPA2_TRUSTED_PROXIES",
    "LPA2_RATE_LIMITS",
    "LPA2_RATE_SHORT_LINKS",
    "LPA2_RATE_PAGES",
)
_last: tuple[tuple, Settings] | None = None


def get_settings() -> Settings:
    """The settings the environment holds now (read again only when it changed)."""
    global _last
    key = tuple(os.environ.get(name) for name in _ENV_NAMES)
    last = _last
    if last is not None and last[0] == key:
        return last[1]
    settings = _read_settings(os.environ)
    _last = (key, settings)
    return settings


def _read_settings(env: os._Environ | dict) -> Settings:
    data_dir = Path(env.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)
    public = (env.get(PUBLIC_URL_ENV) or "").strip().rstrip("/") or None
    database = (env.get(DATABASE_URL_ENV) or "").strip() or None
    if database and not database.startswith(("postgresql://", "postgres://")):
        raise SettingError(f"{DATABASE_URL_ENV} must start with postgresql://")
    pool = env.get("LPA2_DATABASE_POOL_SIZE") or "4"
    if not pool.isdecimal() or not 1 <= int(pool) <= 100:
        raise SettingError(f"LPA2_DATABASE_POOL_SIZE={pool!r}: expected 1 to 100")
    limits = (env.get("LPA2_RATE_LIMITS") or "on").strip().lower()
    if limits not in ("on", "off"):
        raise SettingError(f"LPA2_RATE_LIMITS={limits!r}: expected on or off")
    return Settings(
        data_dir=data_dir,
        public_url=public,
        database_url=database,
        database_pool_size=int(pool),
        links_max_bytes=parse_bytes(
            env.get("LPA2_LINKS_MAX_BYTES") or DEFAULT_LINKS_MAX_BYTES, "LPA2_LINKS_MAX_BYTES"
        ),
        allowed_hosts=tuple(h.lower() for h in _list(env.get("LPA2_ALLOWED_HOSTS") or "")),
        trusted_proxies=_list(env.get("LPA2_TRUSTED_PROXIES") or ""),
        rate_limits=limits == "on",
        rate_short_links=parse_rate(
            env.get("LPA2_RATE_SHORT_LINKS") or DEFAULT_RATE_SHORT_LINKS, "LPA2_RATE_SHORT_LINKS"
        ),
        rate_pages=parse_rate(env.get("LPA2_RATE_PAGES") or DEFAULT_RATE_PAGES, "LPA2_RATE_PAGES"),
    )
