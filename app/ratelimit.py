"""Per-client rate limits: token buckets, bounded in memory.

Two limits, both ``COUNT/SECONDS`` from the environment (``app.settings``):

* ``pages`` (``LPA2_RATE_PAGES``, default 600/60): every request that makes the server work,
  i.e. all but static files and the health checks (a click, a page, ``.txt``, ``.json``, the
  API). Over it: a plain-text 429 with ``Retry-After``, from ``RateLimitMiddleware``.
* ``short_links`` (``LPA2_RATE_SHORT_LINKS``, default 20/60): links a client may store. Checked
  by ``POST /s`` itself, so that the share panel can show the sentence.

A bucket holds ``COUNT`` tokens and refills at ``COUNT/SECONDS`` a second: a person clicking
through a walk never meets the limit, a script gets its steady rate.

**Who is a client.** The socket's peer address, or, when the peer is one of the configured
reverse proxies (``LPA2_TRUSTED_PROXIES``, applied by uvicorn's ProxyHeadersMiddleware in
``app.main``), the address the proxy forwarded. Forwarded headers from anyone else are ignored:
otherwise a client could name a new address per request. An IPv6 client counts as its /64, the
block one subscriber usually holds. Behind a proxy that is not configured every request seems
to come from the proxy, and all clients share one bucket: configure it.

**Memory.** At most ``MAX_CLIENTS`` buckets per limit and worker process (least recently seen
forgotten first; a forgotten client starts again with a full bucket, which it would have by
then in nearly every case). Each worker process counts on its own: with N workers a client
whose connections land on several of them may get up to N times the rate.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from app.settings import Rate, Settings

MAX_CLIENTS = 20_000
EXEMPT_PREFIXES = ("/static/", "/healthz", "/readyz")

Scope = MutableMapping[str, Any]
ASGIApp = Callable[..., Awaitable[None]]


def client_key(scope: Scope) -> str:
    """The client a request is counted against: its IPv4 address or its IPv6 /64."""
    client = scope.get("client")
    host = client[0] if client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return host


class TokenBuckets:
    """One token bucket per client key."""

    def __init__(self, rate: Rate, max_clients: int = MAX_CLIENTS) -> None:
        self.rate = rate
        self.capacity = float(rate.count)
        self.per_second = rate.count / rate.seconds
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()  # POST /s takes from a worker thread

    def take(self, key: str, now: float | None = None) -> float:
        """Take one token for ``key``: 0.0 when there was one, else the seconds until there is
        one (nothing is taken)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.per_second)
            if tokens >= 1.0:
                tokens -= 1.0
                wait = 0.0
            else:
                wait = (1.0 - tokens) / self.per_second
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return wait

    def __len__(self) -> int:
        return len(self._buckets)


@dataclass
class Limits:
    pages: TokenBuckets | None = None
    short_links: TokenBuckets | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        if not settings.rate_limits:
            return cls()
        pages, links = settings.rate_pages, settings.rate_short_links
        return cls(
            pages=TokenBuckets(pages) if pages else None,
            short_links=TokenBuckets(links) if links else None,
        )


def limits_of(app: Any) -> Limits:
    """The limits an application was built with (none for an app built without them)."""
    return getattr(app.state, "limits", None) or Limits()


class RateLimitMiddleware:
    """Answers 429 to a client over its ``pages`` rate, before any route runs."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive, send) -> None:
        buckets = self.limits.pages
        if (
            buckets is not None
            and scope["type"] == "http"
            and not scope.get("path", "").startswith(EXEMPT_PREFIXES)
        ):
            wait = buckets.take(client_key(scope))
            if wait:
                await _too_many(send, buckets.rate, wait)
                return
        await self.app(scope, receive, send)


async def _too_many(send, rate: Rate, wait: float) -> None:
    seconds = max(1, round(wait + 0.5))
    body = (
        f"Too many requests from your address (this server allows {rate.count} every "
        f"{rate.seconds:g} s): try again in {seconds} s.\n"
    ).encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(seconds).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
