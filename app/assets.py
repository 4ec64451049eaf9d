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
def htmx_version() -> str:
    """The htmx version pinned in package.json (the one `make` installs)."""
    package = json.loads((ROOT / "package.json").read_text())
    return package["dependencies"]["htmx.org"]


def htmx_path() -> str:
    return f"/static/vendor/htmx-{htmx_version()}.min.js"


@cache
def static_url(relative: str) -> str:
    """URL of a file under static/, with a content hash so a changed file gets a new URL."""
    digest = hashlib.sha256((STATIC_DIR / relative).read_bytes()).hexdigest()[:10]
    return f"/static/{relative}?v={digest}"
