"""The production server: uvicorn running ``app.main:app`` in N worker processes, with timeouts
for slow clients.

    python -m app.server                      # 127.0.0.1:8000, one worker per CPU
    python -m app.server --host 0.0.0.0 --workers 4

Settings (flags win over the environment):

``LPA2_HOST``, ``LPA2_PORT``   where to listen (default 127.0.0.1, 8000)
``LPA2_WORKERS``              worker processes (default: the CPUs this process may use, from
                              its affinity mask and the cgroup's CPU quota). uvicorn's own
                              supervisor starts them, restarts one that dies or stops answering
                              its pings, and shares the listening socket (the kernel spreads
                              connections). ``make run`` uses 1.
``LPA2_HEADER_TIMEOUT``       seconds a client has to send a request's headers, counted from
                              its first byte (or from the connection, for a new one); default
                              10. A silent or dripping client is answered 408 and dropped.
``LPA2_BODY_TIMEOUT``         seconds to send the whole body once the headers are in (default
                              30; ``app.security`` enforces it, with a 408)
``LPA2_WRITE_TIMEOUT``        seconds an answer may wait for a client that does not read it
                              (default 30), then the connection is dropped
``LPA2_KEEPALIVE_TIMEOUT``    idle seconds before a kept-alive connection is closed (default 5)
``LPA2_MAX_CONNECTIONS``      per worker; over it requests get 503 at once (default 1000)

Forwarded headers are read by the app (``LPA2_TRUSTED_PROXIES``, ``app.main``), not by uvicorn,
so that one setting decides it whatever runs the app.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
from pathlib import Path

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol


def _seconds(name: str, default: float) -> float:
    value = float(os.environ.get(name) or default)
    if not 0 < value <= 3600:
        raise ValueError(f"{name}={value}: expected 0 < seconds <= 3600")
    return value


HEADER_TIMEOUT = _seconds("LPA2_HEADER_TIMEOUT", 10)
WRITE_TIMEOUT = _seconds("LPA2_WRITE_TIMEOUT", 30)
REQUEST_TIMEOUT_ANSWER = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\n"
    b"content-length: 52\r\n\r\n"
    b"The request's headers did not arrive in time (408).\n"
)


class TimedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for a request's headers and for a client
    that stops reading. uvicorn itself times out only idle kept-alive connections."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._header_timer: asyncio.TimerHandle | None = None
        self._write_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._start_header_clock()

    def _start_header_clock(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(HEADER_TIMEOUT, self._headers_too_slow)

    def _stop_header_clock(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self._start_header_clock()  # the first bytes of a request (after a kept-alive one)
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._stop_header_clock()  # the headers are in

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.conn.our_state in (h11.IDLE, h11.DONE) and self._has_partial_request():
            self.transport.write(REQUEST_TIMEOUT_ANSWER)
        self.transport.close()

    def _has_partial_request(self) -> bool:
        # h11 keeps what it has read of an incomplete request in its receive buffer
        return bool(getattr(self.conn, "trailing_data", (b"",))[0])

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._write_timer is None:
            self._write_timer = self.loop.call_later(WRITE_TIMEOUT, self._not_reading)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None

    def _not_reading(self) -> None:
        self._write_timer = None
        if not self.transport.is_closing():
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_clock()
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None
        super().connection_lost(exc)


def cpu_count() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup v2 CPU quota (a
    container limited to 1.5 CPUs gets 2 workers)."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    count = count or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            count = min(count, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve LPA2 Explorer (uvicorn, N workers).")
    parser.add_argument("--host", default=os.environ.get("LPA2_HOST") or "127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LPA2_PORT") or 8000))
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("LPA2_WORKERS") or 0) or cpu_count()
    )
    parser.add_argument("--log-level", default=os.environ.get("LPA2_LOG_LEVEL") or "info")
    parser.add_argument("--no-access-log", action="store_true")
    args = parser.parse_args(argv)
    uvicorn.run(
        "app.main:app",
        host=args.host,
        port=args.port,
        workers=max(1, args.workers),
        http="app.server:TimedH11Protocol",
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=int(_seconds("LPA2_KEEPALIVE_TIMEOUT", 5)),
        timeout_graceful_shutdown=10,
        limit_concurrency=int(os.environ.get("LPA2_MAX_CONNECTIONS") or 1000),
        log_level=args.log_level,
        access_log=not args.no_access_log,
    )


if __name__ == "__main__":
    main()
