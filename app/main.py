"""Application factory. `app.main:app` is the ASGI entry point (Makefile, Dockerfile, tests)."""

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware

from app import __version__, errors, openapi
from app.assets import STATIC_DIR
from app.routes import api, explorer, health, onboarding, sharing
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
    # Outermost first: limits and headers apply to every response, compressed or not.
    # Small answers (a click on an unchanged walk, /healthz) go out as they are. Level 1: a
    # click's latency matters more than the ~20 % more bytes it sends than level 6 would.
    application.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=1)
    application.add_middleware(HardeningMiddleware)
    application.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    application.include_router(health.router)
    application.include_router(sharing.router)
    application.include_router(api.router)
    application.include_router(onboarding.router)
    application.include_router(explorer.router)  # "/": the explorer page
    openapi.install(application)

    return application


app = create_app()
