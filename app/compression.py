"""Response compression: Brotli when the client accepts it, gzip otherwise.

Every explorer click answers with tens of kilobytes of markup (bit grids repeat a lot), so
compression is worth it on the wire, and its CPU cost is a large part of a click on the server.
Brotli at quality 0 gives about the size of gzip level 1 at about a quarter of the time, and
every current browser accepts it (Chromium sends ``br`` for https and for loopback); gzip at
level 1 stays for clients that do not. Small answers (``/healthz``, a rejected edit) go out
as they are.

Static files (htmx, idiomorph, the style sheet and scripts under ``/static/``) are the same
bytes for every request and most of a first visit's transfer: each is compressed once per
process at the best ratio (Brotli quality 11, gzip level 9; a quarter smaller than quality 0,
about 100 ms once, in a thread) and the result remembered (``app.cache``, keyed by the bytes).
"""

from __future__ import annotations

import zlib

import brotli
from anyio import to_thread
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.cache import lru

MINIMUM_SIZE = 1024  # bytes; below this the headers would cost more than the saving
THREAD_MINIMUM_SIZE = 128 * 1024  # a full page: compress off the event loop
BROTLI_QUALITY = 0
BROTLI_WINDOW = 20  # 1 MB window: more than any answer of this service
GZIP_LEVEL = 1
STATIC_PREFIX = "/static/"
STATIC_BROTLI_QUALITY = 11
STATIC_GZIP_LEVEL = 9
# Already compressed, or streamed as events: sent as they are.
EXCLUDED_TYPES = (
    "image/",
    "audio/",
    "video/",
    "font/woff",
    "application/gzip",
    "application/zip",
    "text/event-stream",
)


def choose_encoding(accept_encoding: str) -> str | None:
    """``"br"``, ``"gzip"`` or ``None`` (send as is) for an Accept-Encoding header value.
    A coding listed with ``q=0`` is refused (RFC 9110 §12.5.3); ``*`` stands for the others."""
    accepted: dict[str, float] = {}
    for item in accept_encoding.lower().split(","):
        name, _, params = item.partition(";")
        name = name.strip()
        if not name:
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        accepted[name] = quality
    for coding in ("br", "gzip"):
        quality = accepted.get(coding, accepted.get("*", 0.0))
        if quality > 0:
            return coding
    return None


def compress(coding: str, body: bytes, best: bool = False) -> bytes:
    """The body encoded: fast (every answer), or at the best ratio (``best``: static files)."""
    if coding == "br":
        quality = STATIC_BROTLI_QUALITY if best else BROTLI_QUALITY
        return brotli.compress(body, quality=quality, lgwin=BROTLI_WINDOW)
    level = STATIC_GZIP_LEVEL if best else GZIP_LEVEL
    encoder = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return encoder.compress(body) + encoder.flush()


_static = lru("static_compressed")


async def compress_static(coding: str, body: bytes) -> bytes:
    """A static file's bytes at the best ratio, compressed once per process (off the event
    loop: about 100 ms for htmx at Brotli quality 11)."""
    key = (coding, body)
    data = _static.get(key)
    if data is None:
        data = _static.put(key, await to_thread.run_sync(compress, coding, body, True))
    return data


class _Stream:
    """An incremental encoder for a streamed body (static files, large downloads)."""

    def __init__(self, coding: str) -> None:
        if coding == "br":
            self._br = brotli.Compressor(quality=BROTLI_QUALITY, lgwin=BROTLI_WINDOW)
            self._gz = None
        else:
            self._br = None
            self._gz = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS | 16)

    def feed(self, data: bytes, last: bool) -> bytes:
        if self._br is not None:
            out = self._br.process(data)
            return out + (self._br.finish() if last else self._br.flush())
        out = self._gz.compress(data)
        return out + self._gz.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


class CompressionMiddleware:
    """Pure ASGI: holds the response start until the first body chunk shows whether (and how)
    to compress. A whole body in one message (every page and fragment) is compressed in one
    call; a streamed body is compressed chunk by chunk."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        coding = choose_encoding(Headers(scope=scope).get("accept-encoding", ""))
        static = scope["path"].startswith(STATIC_PREFIX)
        start: Message | None = None
        stream: _Stream | None = None
        passthrough = False

        async def send_compressed(message: Message) -> None:
            nonlocal start, stream, passthrough
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or passthrough:
                await send(message)
                return
            if stream is not None:
                last = not message.get("more_body", False)
                data = stream.feed(message.get("body", b""), last)
                await send({"type": "http.response.body", "body": data, "more_body": not last})
                return
            assert start is not None
            headers = MutableHeaders(raw=start["headers"])
            body: bytes = message.get("body", b"")
            more = message.get("more_body", False)
            content_type = headers.get("content-type", "")
            # A range answer (206) names byte offsets of the uncompressed file: sent as it is.
            compressible = (
                start["status"] != 206
                and "content-range" not in headers
                and not headers.get("content-encoding")
                and not content_type.startswith(EXCLUDED_TYPES)
            )
            if compressible:
                headers.add_vary_header("Accept-Encoding")
            if not compressible or coding is None or (not more and len(body) < MINIMUM_SIZE):
                passthrough = True
                await send(start)
                await send(message)
                return
            headers["Content-Encoding"] = coding
            if more:
                del headers["Content-Length"]
                stream = _Stream(coding)
                await send(start)
                data = stream.feed(body, False)
                await send({"type": "http.response.body", "body": data, "more_body": True})
                return
            if static and start["status"] == 200:
                data = await compress_static(coding, body)
            elif len(body) >= THREAD_MINIMUM_SIZE:
                data = await to_thread.run_sync(compress, coding, body)
            else:
                data = compress(coding, body)
            headers["Content-Length"] = str(len(data))
            await send(start)
            await send({"type": "http.response.body", "body": data})

        await self.app(scope, receive, send_compressed)
