"""Service settings, read from the environment each time they are asked for.

``LPA2_DATA_DIR``
    Directory for the service's files (the short-link database ``links.sqlite3``). Default
    ``./var`` relative to the working directory; created on first use.
``LPA2_PUBLIC_URL``
    Scheme, host and optional path prefix the links are printed with, e.g.
    ``https://lpa2.example.org``. Default: taken from the request (``http://host:port``).

They are read per call (not cached at import) so that tests and the CLI can point them
elsewhere with ``monkeypatch.setenv`` or ``--data-dir`` without reloading anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_ENV = "LPA2_DATA_DIR"
PUBLIC_URL_ENV = "LPA2_PUBLIC_URL"
DEFAULT_DATA_DIR = "var"
LINKS_DB_NAME = "links.sqlite3"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    public_url: str | None

    @property
    def links_db(self) -> Path:
        return self.data_dir / LINKS_DB_NAME


def get_settings() -> Settings:
    data_dir = Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)
    public = (os.environ.get(PUBLIC_URL_ENV) or "").strip().rstrip("/") or None
    return Settings(data_dir=data_dir, public_url=public)
