"""Application factory. `app.main:app` is the ASGI entry point (Makefile, Dockerfile, tests)."""

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware

from app import __version__
from app.assets import STATIC_DIR
from app.routes import health
from app.security import HardeningMiddleware
from app.templating import templates

DEFAULT_PORT = 8000


def create_app() -> FastAPI:
    application = FastAPI(
        title="LPA2 Explorer",
        version=__version__,
        description="Arm64 address translation with FEAT_LPA2, walked bit by bit.",
    )
    # Outermost first: limits and headers apply to every response, compressed or not.
    application.add_middleware(GZipMiddleware, minimum_size=512)
    application.add_middleware(HardeningMiddleware)
    application.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    application.include_router(health.router)

    @application.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request):
        return templates.TemplateResponse(request, "home.html", {})

    return application


app = create_app()
