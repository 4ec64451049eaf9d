"""The explorer on a memory image: ``lpa2-explorer serve --image FILE …``.

The CLI opens the image (so a bad file is refused before the server starts) and hands the
server what it opened through the environment (``LPA2_IMAGES``: the files as given and the
registers to start from), so that every worker process opens the same image read-only at
start-up (``install``). Then:

* ``/`` without a link answers with the link of the start state: the image as the memory
  (``image=<sha256>``: every link made from there carries it), the registers given;
* a link whose image this server does not have is answered 404 with what it needs (never a
  walk of other memory);
* every page names the image (``served_image`` in the templates);
* ``/ptdump`` lists the mappings of a state's regime (``app.routes.images``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from app.errors import SafeJSONResponse
from app.links import page_path
from app.state import encode
from model.explore.configs import CONFIG_PRESETS, DEFAULT_PRESET, REGISTER_NAMES, Configuration
from model.explore.image import ImageNeeded, MemoryImage, open_image, register

IMAGES_ENV = "LPA2_IMAGES"


@dataclass(frozen=True)
class Served:
    """The image a server reads and the registers its start state has."""

    image: MemoryImage
    registers: dict[str, int]
    regime: str | None = None

    @property
    def name(self) -> str:
        return self.image.name

    @property
    def size(self) -> int:
        return self.image.size

    @property
    def sha256(self) -> str:
        return self.image.sha256

    def start_config(self) -> Configuration:
        """The start state: the image as memory, registers not given are 0."""
        default = CONFIG_PRESETS[DEFAULT_PRESET]
        registers = {**dict.fromkeys(REGISTER_NAMES, 0), **self.registers}
        config = replace(default, registers=registers, image=self.sha256)
        return replace(config, regime=self.regime) if self.regime else config


_SERVED: Served | None = None


def served_image() -> Served | None:
    """The image this process serves, if any."""
    return _SERVED


def environment(files: list[str], registers: dict[str, int], regime: str | None) -> str:
    """The ``LPA2_IMAGES`` value that makes a server open ``files`` (see ``install``)."""
    return json.dumps({"files": files, "registers": registers, "regime": regime})


def load_from_environment() -> Served | None:
    """Open the image ``LPA2_IMAGES`` names (once per process)."""
    global _SERVED
    text = os.environ.get(IMAGES_ENV)
    if not text:
        return None
    if _SERVED is None:
        spec = json.loads(text)
        image = open_image(spec["files"])
        register(image)
        registers = {k: int(v) for k, v in spec.get("registers", {}).items()}
        _SERVED = Served(image, registers, spec.get("regime"))
    return _SERVED


class _StartAtTheImage(BaseHTTPMiddleware):
    """``GET /`` without a link: the link of the image's start state."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        served = _SERVED
        start = request.url.path == "/" and not request.url.query
        if served is not None and start and request.method in ("GET", "HEAD"):
            query = encode(served.start_config())
            return RedirectResponse(page_path(query), status_code=303)
        return await call_next(request)


async def _image_needed(request: Request, exc: Exception) -> Response:
    """A link that reads an image this server does not have: say so, show nothing else."""
    assert isinstance(exc, ImageNeeded)
    served = _SERVED
    here = (
        f"This server reads the image {served.name} (sha256 {served.sha256})."
        if served is not None
        else "This server reads no memory image."
    )
    message = (
        f"This link walks the memory image with sha256 {exc.sha256}. {here} Open it where that "
        f"image is served: lpa2-explorer serve --image FILE."
    )
    if request.url.path.endswith(".txt"):
        return PlainTextResponse(message + "\n", status_code=404)
    if "text/html" in request.headers.get("accept", ""):
        from app.templating import templates  # the templates name the served image: no cycle

        page = templates.get_template("image_needed.html").render(message=message)
        return HTMLResponse(page, status_code=404)
    return SafeJSONResponse({"detail": message, "image_sha256": exc.sha256}, status_code=404)


def install(application: FastAPI) -> None:
    """Serve the image ``LPA2_IMAGES`` names, if any, and answer links to other images."""
    application.add_exception_handler(ImageNeeded, _image_needed)
    if load_from_environment() is not None:
        application.add_middleware(_StartAtTheImage)
