"""Application factory. `app.main:app` is the ASGI entry point (Makefile, Dockerfile, tests)."""

import gc

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app import __version__, errors, images, openapi
from app.assets import STATIC_DIR
from app.compression import CompressionMiddleware
from app.routes import api, explorer, health, onboarding, sharing
from app.routes import images as image_routes
from app.security import HardeningMiddleware

DEFAULT_PORT = 8000


def create_app() -> FastAPI:
    application = FastAPI(
        title="LPA2 Explorer",
        version=__version__,
        description="Arm64 address translation with FEAT_LPA2, walked bit by bit.",
        default_response_class=errors.SafeJSONResponse,
        docs_url=None,  # app.openapi serves /docs: Swagger UI's CDN and inline script break CSP
        redoc_url=None,
    )
    errors.install(application)
    images.install(application)  # lpa2-explorer serve --image: the image as memory
    # Outermost first: limits and headers apply to every response, compressed or not
    # (app.compression: Brotli or gzip, small answers as they are).
    application.add_middleware(CompressionMiddleware)
    application.add_middleware(HardeningMiddleware)
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
