"""Send exact bytes to the ASGI app: raw query strings, raw bodies, any headers.

An HTTP client re-encodes what it is given; these tests need the bytes a hostile client could
put on the wire, so they build the ASGI scope themselves.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import anyio

# Its own thread: a test session may already run an event loop in the main thread (Playwright's
# sync API does, once the browser tests have started it).
_LOOP_THREAD = ThreadPoolExecutor(1, thread_name_prefix="asgi-call")


@dataclass
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value.decode("latin-1")
        return None

    def header_all(self, name: str) -> list[str]:
        wanted = name.lower().encode()
        return [v.decode("latin-1") for k, v in self.headers if k.lower() == wanted]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def call(
    app,
    method: str = "GET",
    path: str = "/",
    query: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes = b"",
    chunks: int = 1,
    client: tuple[str, int] = ("127.0.0.1", 50000),
) -> Answer:
    """One request through the whole middleware stack; the body is sent in ``chunks`` parts."""
    headers = list(headers or [])
    if body and not any(k.lower() == b"content-length" for k, _ in headers) and chunks == 1:
        headers.append((b"content-length", str(len(body)).encode()))
    if not any(k.lower() == b"host" for k, _ in headers):
        headers.append((b"host", b"testserver"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogateescape"),
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": client,
        "server": ("testserver", 80),
    }
    size = max(1, -(-len(body) // chunks)) if body else 1
    parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    messages = [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]
    sent: list[dict] = []

    async def receive() -> dict:
        if messages:
            return messages.pop(0)
        await anyio.sleep(3600)  # a client that waits for the answer
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    async def run() -> None:
        with anyio.fail_after(30):
            await app(scope, receive, send)

    _LOOP_THREAD.submit(anyio.run, run).result()
    start = next(m for m in sent if m["type"] == "http.response.start")
    body_out = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Answer(start["status"], list(start.get("headers", [])), body_out)
