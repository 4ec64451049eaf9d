"""Health checks.

``/healthz`` is liveness: the process answers (on the event loop, no thread, no I/O), so a
restart would not help. ``/readyz`` is readiness: 200 when short links can be made, 503 when
they cannot, with the reason ("the store is read-only (...)"). The explorer, ``.txt`` and
``.json`` keep working either way; the container's HEALTHCHECK uses ``/readyz`` so that an
operator sees an unwritable store as an unhealthy container.
"""

from __future__ import annotations

import threading
import time

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter

from app import __version__
from app.errors import SafeJSONResponse
from app.linkstore import StoreStatus, default_store, store_status

router = APIRouter()

STATUS_SECONDS = 1.0  # probes in a burst share one look at the store
_last: tuple[float, StoreStatus] | None = None
_last_lock = threading.Lock()
_limiter: CapacityLimiter | None = None


@router.get("/healthz", tags=["service"], summary="Liveness check")
async def healthz() -> dict[str, str]:
    """Answers 200 with the running version while the process serves requests."""
    return {"status": "ok", "version": __version__}


def current_store_status() -> StoreStatus:
    global _last
    with _last_lock:
        if _last is None or time.monotonic() - _last[0] >= STATUS_SECONDS:
            _last = (time.monotonic(), store_status(default_store()))
        return _last[1]


@router.get(
    "/readyz",
    tags=["service"],
    summary="Readiness check: can short links be made?",
    responses={503: {"description": "Short links cannot be made now; ``reason`` says why"}},
)
async def readyz() -> SafeJSONResponse:
    """200 when the short-link store can be written; 503 with the reason when it cannot (the
    explorer, .txt and .json serve either way). ``store`` gives the backend, whether links can
    be made and opened, and the bytes used against the quota."""
    global _limiter
    if _limiter is None:
        _limiter = CapacityLimiter(1)  # one look at the store at a time, off the event loop
    status = await to_thread.run_sync(current_store_status, limiter=_limiter)
    body: dict = {
        "status": "ready" if status.writable else "degraded",
        "version": __version__,
        "store": status.to_dict(),
    }
    if status.reason:
        body["reason"] = (
            f"Short links are unavailable: {status.reason}. The explorer, .txt and .json "
            "work without them."
        )
    return SafeJSONResponse(body, status_code=200 if status.writable else 503)
