"""Request limits and response headers, as plain ASGI middleware (no per-request task overhead).

* Every response gets a strict Content-Security-Policy (scripts and styles only from this
  origin, no inline script, no eval, no framing) and the usual hardening headers.
* Static files are named by content (``?v=<hash>`` or a versioned file name), so they are
  cached for a year: only when the ``v`` asked for is the file's current hash (any other ``v``
  gets the file with ordinary caching, or a stale URL would pin today's file for a year).
* ``HEAD`` is answered wherever ``GET`` is: the request goes on as a ``GET`` and the body is
  dropped (FastAPI routes list ``GET`` only; the static files handle ``HEAD`` themselves).
* With ``LPA2_ALLOWED_HOSTS`` set, a request naming another ``Host`` gets a 400 (the health
  checks excepted: probes name an address).
* Requests are bounded before any route runs: query-string length, number of query
  parameters, body size and the time to send the body (``LPA2_BODY_TIMEOUT``). Over a limit the
  client gets a short plain-text 413, 422 or 408.
* Last resort: an exception no route handled is logged (logger ``lpa2.errors``) and the client
  gets a short plain-text 500 with the same headers, never a traceback. The tests require that
  no request reaches it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote_to_bytes

from app.assets import static_version

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_QUERY_BYTES = 8192
MAX_QUERY_PARAMS = 200
MAX_BODY_BYTES = 65536
TOO_LARGE = f"The request body is larger than {MAX_BODY_BYTES} bytes.\n"
# Seconds a client has to send a body, once a route starts reading it (a dripping client holds
# a connection and a task; the headers' deadline is the server's: app.server).
BODY_TIMEOUT = float(os.environ.get("LPA2_BODY_TIMEOUT") or 30)
BODY_TOO_SLOW = f"The request body did not arrive within {BODY_TIMEOUT:g} s.\n"
INTERNAL_ERROR = "Internal error: the server could not answer this request (it has been logged).\n"

logger = logging.getLogger("lpa2.errors")
# Bytes a URL may not carry raw (RFC 3986: printable ASCII only). A client that sends them
# gets them read as if percent-encoded, so every route sees a query string that decodes.
_NOT_URL_BYTES = re.compile(rb"[^\x21-\x7e]")


def _percent_encode(match: re.Match[bytes]) -> bytes:
    return b"%%%02X" % match.group()[0]


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
IMMUTABLE = (b"cache-control", b"public, max-age=31536000, immutable")


async def _reject(send: Send, status: int, message: str, close: bool = False) -> None:
    """A short plain-text answer; ``close``: and the connection (a body left unread)."""
    body = message.encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        *SECURITY_HEADERS,
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


HEALTH_PATHS = ("/healthz", "/readyz")
UNKNOWN_HOST = "This server does not answer for the host named in the request.\n"


def host_allowed(host: bytes, allowed: tuple[str, ...]) -> bool:
    """``host`` (a Host header, port included) is one of ``allowed`` (``*.example.org``: any
    subdomain; ``*``: any)."""
    name = host.decode("latin-1").strip().lower()
    name = name[1 : name.find("]")] if name.startswith("[") else name.rsplit(":", 1)[0]
    name = name.rstrip(".")
    for pattern in allowed:
        if pattern == "*" or pattern == name:
            return True
        if pattern.startswith("*.") and name.endswith(pattern[1:]):
            return True
    return False


def current_static_version(path: str, query: bytes) -> bool:
    """The ``v`` of a static URL is the content hash of the file it names now."""
    wanted = None
    for part in query.split(b"&"):
        if part.startswith(b"v="):
            wanted = unquote_to_bytes(part[2:])
    return wanted is not None and wanted == (static_version(path[len("/static/") :]) or "").encode()


class HardeningMiddleware:
    """Limits requests and adds security and caching headers to every response."""

    def __init__(self, app: ASGIApp, allowed_hosts: tuple[str, ...] = ()) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if self.allowed_hosts and path not in HEALTH_PATHS:
            host = next((v for k, v in scope.get("headers", ()) if k == b"host"), b"")
            if not host_allowed(host, self.allowed_hosts):
                await _reject(send, 400, UNKNOWN_HOST)
                return
        head = scope.get("method") == "HEAD" and not path.startswith("/static/")
        if head:
            scope = dict(scope, method="GET")
        query: bytes = scope.get("query_string", b"")
        if len(query) > MAX_QUERY_BYTES:
            await _reject(send, 413, f"The query string is longer than {MAX_QUERY_BYTES} bytes.\n")
            return
        if query.count(b"&") + 1 > MAX_QUERY_PARAMS:
            await _reject(send, 422, f"More than {MAX_QUERY_PARAMS} query parameters.\n")
            return
        if _NOT_URL_BYTES.search(query):
            scope = dict(scope, query_string=_NOT_URL_BYTES.sub(_percent_encode, query))
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit() or int(value) > MAX_BODY_BYTES):
                await _reject(send, 413, TOO_LARGE)
                return

        versioned_static = path.startswith("/static/vendor/") or (
            path.startswith("/static/") and current_static_version(path, query)
        )
        received = 0
        body_deadline: float | None = None
        # (status, message) once the body broke a limit. Routes may catch the exception
        # (FastAPI turns a failed body read into its own 400); then whatever they answer
        # becomes this answer.
        refused: list[tuple[int, str]] = []

        async def limited_receive() -> Message:
            nonlocal received, body_deadline
            loop = asyncio.get_running_loop()
            if body_deadline is None:
                body_deadline = loop.time() + BODY_TIMEOUT
            try:
                async with asyncio.timeout_at(body_deadline):
                    message = await receive()
            except TimeoutError:
                refused.append((408, BODY_TOO_SLOW))
                raise BodyRefused from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY_BYTES:
                    refused.append((413, TOO_LARGE))
                    raise BodyRefused
            return message

        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal response_started
            if refused:
                if message["type"] == "http.response.start" and not response_started:
                    response_started = True
                    await _reject(send, *refused[0], close=True)
                return
            if message["type"] == "http.response.start":
                response_started = True
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if not (versioned_static and k == b"cache-control")
                ]
                headers.extend(SECURITY_HEADERS)
                if versioned_static and message["status"] == 200:
                    headers.append(IMMUTABLE)
                message["headers"] = headers
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except Exception:
            if refused:
                if not response_started:
                    await _reject(send, *refused[0], close=True)
                return
            logger.exception("unhandled error in %s %s", scope.get("method"), path)
            if response_started:
                raise  # the server drops the connection: the client sees a cut answer
            await _reject(send, 500, INTERNAL_ERROR)


class BodyRefused(Exception):
    """A request body went over MAX_BODY_BYTES or took longer than BODY_TIMEOUT."""
