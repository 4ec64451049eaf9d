"""Application factory. `app.main:app` is the ASGI entry point (app.server, tests).

**Where the work runs.** Routes that compute (the explorer and its clicks, pages, ``.txt``,
``.json``, the API) are plain ``def`` functions, so they run in worker threads and the event
loop only reads requests and writes answers. The threads are few (``COMPUTE_THREADS``): the
GIL lets one Python thread compute at a time anyway, so more threads would add hand-offs and
no throughput, and while one computes, the loop waits at most one GIL switch interval to take
its turn. So ``/healthz`` (``async``, on the loop, no thread) answers within milliseconds
however many clicks are queued, and a click costs one thread hand-off (tens of microseconds)
more than running on the loop. Several worker processes (``app.server``) use several cores.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app import __version__, errors, images, openapi
from app.assets import STATIC_DIR
from app.compression import CompressionMiddleware
from app.ratelimit import Limits, RateLimitMiddleware
from app.routes import api, explorer, health, onboarding, sharing
from app.routes import images as image_routes
from app.security import HardeningMiddleware
from app.settings import get_settings

DEFAULT_PORT = 8000
# Threads that run routes, per worker process (``LPA2_COMPUTE_THREADS``). Two: a store write
# waiting on the disk or the database does not hold up every click.
COMPUTE_THREADS = int(os.environ.get("LPA2_COMPUTE_THREADS") or 2)
# How long a thread computes before a waiting one (the event loop) gets the GIL. CPython's
# default is 5 ms; 1 ms bounds what the loop waits for, and costs nothing while it is idle.
SWITCH_INTERVAL = 0.001


@asynccontextmanager
async def lifespan(application: FastAPI) -> AsyncIterator[None]:
    to_thread.current_default_thread_limiter().total_tokens = COMPUTE_THREADS
    sys.setswitchinterval(SWITCH_INTERVAL)
    yield


def create_app() -> FastAPI:
    settings = get_settings()
    application = FastAPI(
        title="LPA2 Explorer",
        version=__version__,
        description="Arm64 address translation with FEAT_LPA2, walked bit by bit.",
        default_response_class=errors.SafeJSONResponse,
        docs_url=None,  # app.openapi serves /docs: Swagger UI's CDN and inline script break CSP
        redoc_url=None,
        lifespan=lifespan,
    )
    errors.install(application)
    images.install(application)  # lpa2-explorer serve --image: the image as memory
    application.state.limits = limits = Limits.from_settings(settings)
    # Outermost last: the client's address (from a trusted proxy), then limits and headers
    # that apply to every response, then per-client rates, then compression (app.compression:
    # Brotli or gzip, small answers as they are).
    application.add_middleware(CompressionMiddleware)
    application.add_middleware(RateLimitMiddleware, limits=limits)
    application.add_middleware(HardeningMiddleware, allowed_hosts=settings.allowed_hosts)
    if settings.trusted_proxies:
        application.add_middleware(
            ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies)
        )
    application.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    application.include_router(health.router)
    # "/" (the explorer page and every click) early: routes are matched in order.
    application.include_router(explorer.router)
    application.include_router(sharing.router)
    application.include_router(api.router)
    application.include_router(onboarding.router)
    application.include_router(image_routes.router)
    openapi.install(application)

    return application


def tune_garbage_collector() -> None:
    """A click allocates thousands of short-lived objects (views, strings) and the caches hold
    long-lived ones. Objects that exist once the app is built (modules, layouts, templates)
    never become garbage: ``gc.freeze`` keeps full collections from walking them again and
    again. A larger first-generation threshold makes young collections rarer; they were
    about 5 % of a click, and full ones showed up as latency spikes."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


app = create_app()
tune_garbage_collector()
