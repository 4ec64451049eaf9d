"""Static asset locations and cache-busting names.

Static files are served under a name that changes with their content, so the server can tell
browsers to keep them for a year (see `app.main`).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATIC_DIR = ROOT / "static"
TEMPLATES_DIR = ROOT / "templates"
VENDOR_DIR = STATIC_DIR / "vendor"


@cache
def npm_version(package: str) -> str:
    """The version of an npm package pinned in package.json (the one `make` installs)."""
    manifest = json.loads((ROOT / "package.json").read_text())
    return manifest["dependencies"][package]


def htmx_version() -> str:
    return npm_version("htmx.org")


def htmx_path() -> str:
    return f"/static/vendor/htmx-{htmx_version()}.min.js"


def morph_path() -> str:
    """idiomorph, which htmx answers use to swap a region by changing only what differs."""
    return f"/static/vendor/idiomorph-{npm_version('idiomorph')}.min.js"


_versions: dict[str, str] = {}


def static_version(relative: str) -> str | None:
    """The content hash of a file under static/ (the ``v`` of its URL), or None when there is
    no such file. Remembered per file for the life of the process, like the URLs pages carry;
    only files that exist are remembered, so client-chosen names cost no memory."""
    version = _versions.get(relative)
    if version is None:
        path = (STATIC_DIR / relative).resolve()
        if not path.is_relative_to(STATIC_DIR) or not path.is_file():
            return None
        version = _versions[relative] = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    return version


@cache
def static_url(relative: str) -> str:
    """URL of a file under static/, with a content hash so a changed file gets a new URL."""
    version = static_version(relative)
    if version is None:
        raise FileNotFoundError(STATIC_DIR / relative)
    return f"/static/{relative}?v={version}"
