"""The production server (``python -m app.server``): slow clients are timed out, several workers
serve and one that dies is replaced, health checks answer ``GET`` and ``HEAD``; and the
caching and ``HEAD`` rules of every answer (in process)."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
import urllib.request

import pytest

from app.assets import htmx_path, static_url, static_version
from app.main import create_app
from app.server import cpu_count
from tests.security.asgi import call
from tests.servers import start_server

APP = create_app()
IMMUTABLE = "public, max-age=31536000, immutable"


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock


def _read_all(sock: socket.socket, limit: float = 10.0) -> tuple[bytes, float]:
    """Everything until the server closes; and how long that took."""
    started = time.monotonic()
    sock.settimeout(limit)
    data = b""
    try:
        while chunk := sock.recv(1 << 20):
            data += chunk
    except ConnectionResetError:
        pass  # the server aborted the connection
    return data, time.monotonic() - started


@pytest.fixture(scope="module")
def timed_server(tmp_path_factory):
    env = {"LPA2_HEADER_TIMEOUT": "1", "LPA2_BODY_TIMEOUT": "1", "LPA2_WRITE_TIMEOUT": "1"}
    server = start_server(tmp_path_factory.mktemp("timed"), env=env)
    yield server
    server.stop()


def test_silent_connection_is_closed(timed_server):
    with _connect(timed_server.port) as sock:
        data, took = _read_all(sock)
    assert data == b"" and 0.9 < took < 5, took  # closed, no answer to a request never made


def test_dripping_headers_get_408(timed_server):
    with _connect(timed_server.port) as sock:
        started = time.monotonic()
        sock.sendall(b"GET / HTTP/1.1\r\n")
        try:
            while time.monotonic() - started < 5:
                sock.sendall(b"X")  # one byte at a time, never finishing the headers
                time.sleep(0.2)
        except OSError:
            pass
        data, _ = _read_all(sock)
        took = time.monotonic() - started
    assert data.startswith(b"HTTP/1.1 408 "), data[:80]
    assert b"did not arrive in time" in data
    assert took < 5


def test_dripping_body_gets_408(timed_server):
    with _connect(timed_server.port) as sock:
        sock.sendall(
            b"POST /s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 100\r\n\r\nquery=v%3D2"
        )
        data, took = _read_all(sock)
    assert data.startswith(b"HTTP/1.1 408 "), data[:80]
    assert b"The request body did not arrive within 1 s." in data
    assert took < 5


def test_a_client_that_does_not_read_is_dropped(timed_server):
    """Pipelined requests for explorer pages (about 100 KB each, 150 MB in all: more than the
    kernel's socket buffers hold) and no reading: once the server cannot write it waits
    LPA2_WRITE_TIMEOUT (1 s), then drops the connection."""
    with _connect(timed_server.port) as sock:
        sock.sendall(b"GET /?v=2 HTTP/1.1\r\nHost: x\r\n\r\n" * 1500)
        time.sleep(4)
        data, took = _read_all(sock, limit=20)
    answers = data.count(b"HTTP/1.1 200 ")
    assert 0 < answers < 1500, answers
    assert took < 15


def test_kept_alive_requests_are_not_cut_by_the_header_clock(timed_server):
    """The header deadline counts from a request's first byte, not from the connection."""
    with _connect(timed_server.port) as sock:
        stream = sock.makefile("rb")
        for _ in range(3):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert stream.readline().startswith(b"HTTP/1.1 200")
            while stream.readline() not in (b"\r\n", b""):
                pass
            stream.read(33)
            time.sleep(0.7)  # 2.1 s in all: past the 1 s header deadline, within keep-alive


def test_workers_serve_and_a_dead_one_is_replaced(tmp_path):
    server = start_server(tmp_path, None, "--workers", "2")
    try:
        workers = server.worker_pids()
        assert len(workers) == 2 and server.pid not in workers
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 20
        while True:
            current = server.worker_pids()
            if len(current) == 2 and workers[0] not in current:
                break
            assert time.monotonic() < deadline, current
            time.sleep(0.2)
        for _ in range(20):  # every answer from a live worker
            with urllib.request.urlopen(server.url + "/healthz", timeout=10) as answer:
                assert answer.status == 200
    finally:
        server.stop()


def test_workers_default_to_the_cpus_this_process_may_use():
    assert 1 <= cpu_count() <= len(os.sched_getaffinity(0))


# -- in process: HEAD, health, static caching ----------------------------------------------------


def test_head_wherever_get_is_allowed():
    for path, query in (("/healthz", b""), ("/readyz", b""), ("/", b"v=2"),
                        ("/walk.txt", b"v=2"), ("/walk.json", b"v=2"), ("/glossary", b""),
                        ("/openapi.json", b""), ("/static/css/app.css", b"")):  # fmt: skip
        got = call(APP, "GET", path, query=query)
        head = call(APP, "HEAD", path, query=query)
        assert head.status == got.status, (path, head.status, got.status)
        assert head.body == b"", path
        assert head.header("content-type") == got.header("content-type"), path
        assert head.header("content-length") == got.header("content-length"), path
    post_only = call(APP, "HEAD", "/s")
    assert post_only.status == 405 and "POST" in (post_only.header("allow") or "")


def test_health_and_readiness():
    health = call(APP, "GET", "/healthz")
    assert health.status == 200 and json.loads(health.text)["status"] == "ok"
    ready = call(APP, "GET", "/readyz")
    body = json.loads(ready.text)
    assert ready.status == 200, body
    assert body["status"] == "ready" and body["store"]["writable"] and body["store"]["readable"]
    assert body["store"]["backend"] == "sqlite" and body["store"]["max_bytes"] == 1 << 30


def test_static_files_are_immutable_only_at_their_current_hash():
    css = static_url("css/app.css")
    path, _, query = css.partition("?")
    assert call(APP, "GET", path, query=query.encode()).header("cache-control") == IMMUTABLE
    assert call(APP, "GET", htmx_path()).header("cache-control") == IMMUTABLE
    other = static_version("js/share.js")
    for stale in (b"v=1", b"v=" + other.encode(), b"v=", b"x=1&v=0", b""):
        answer = call(APP, "GET", path, query=stale)
        assert answer.status == 200
        assert "immutable" not in (answer.header("cache-control") or ""), stale
    assert static_version("../app/main.py") is None
    assert static_version("no/such/file.css") is None
