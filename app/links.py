"""Every link the service prints, built in one place.

Two kinds:

* links a reader copies or follows from elsewhere (the explorer link in the share panel, the
  short link, the ``Link:`` line of ``/walk.txt``, the links in ``/walk.json`` and the API, the
  ``Location`` of ``/s/<id>``) are absolute: they start with the configured public URL
  (``LPA2_PUBLIC_URL``) when it is set, else with the base of the request that asked;
* links a page follows on the same site (``/walk.txt?…`` beside the walk, ``HX-Push-Url``,
  the redirect after a form edit, onboarding links into the explorer) are relative to the
  site root, so they work whatever host name the browser used.

A ``Links`` is made per request (``Links.of(request)``): nothing here is cached by host, and
views never hold an absolute link (``app.cache``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode, urlsplit

from app.cache import lru
from app.linkstore import ID_RE, LinkStore, default_store, existing_id
from app.settings import DATA_DIR_ENV, DATABASE_URL_ENV, DEFAULT_DATA_DIR, get_settings

# The base links are printed with when there is neither a public URL nor a request (the CLI).
DEFAULT_BASE = "http://127.0.0.1:8000"


class _Request(Protocol):
    @property
    def base_url(self) -> object: ...


# -- relative links (same site) ---------------------------------------------------------------


def page_path(query: str) -> str:
    """The explorer at a state: ``/?<query>`` (``/`` for the empty query)."""
    return f"/?{query}" if query else "/"


def with_kernel(query: str, kernel: str | None) -> str:
    """A state's link query with the kernel release its Linux panel describes (``kernel=``:
    not part of the walk, so not of the canonical query, but kept from edit to edit)."""
    return f"{query}&kernel={kernel}" if kernel else query


def txt_path(query: str) -> str:
    return f"/walk.txt?{query}"


def json_path(query: str) -> str:
    return f"/walk.json?{query}"


def ptdump_path(query: str, suffix: str = "") -> str:
    """The mappings of a state's tables: ``/ptdump?<query>`` (``suffix`` ".txt", ".json")."""
    return f"/ptdump{suffix}?{query}"


def short_info_path(link_id: str) -> str:
    """Where a no-JavaScript "Short link" form post lands."""
    return f"/s/{link_id}/info"


def compare_path(a_query: str, b_query: str) -> str:
    return "/compare?" + urlencode({"a": a_query, "b": b_query})


@dataclass(frozen=True)
class PastedLink:
    """What a link a person pasted names: a state's link query, or a short-link id (to be
    looked up in a store), and the base URL of the instance it came from, when it says."""

    query: str | None
    short_id: str | None
    base: str | None


def parse_link(text: str) -> PastedLink:
    """A full link (``https://host/?v=2&…``), a site-relative one (``/?v=2&…``), a bare query
    (``v=2&…``), a short link (``https://host/s/ID``, ``/s/ID`` or the id alone), or a link
    wrapped over several lines as a mail client shows it (``<https://host/?v=2&…\\n  …>``,
    RFC 3986 appendix C: the angle brackets and the white space inside them are dropped).
    Raises ValueError when it is none of these."""
    text = "".join(text.split()).removeprefix("<").removesuffix(">")
    text = text.removeprefix("URL:")
    if not text:
        raise ValueError("no link given")
    parts = urlsplit(text)
    base = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None
    if parts.scheme and not base:
        raise ValueError(f"{text[:60]!r} is not a link to this explorer")
    path = parts.path if base else text.partition("?")[0]
    if "/s/" in path or (not base and text.startswith("s/")):
        short_id = path.rsplit("s/", 1)[1].strip("/")
        if not ID_RE.fullmatch(short_id):
            raise ValueError(f"{short_id[:40]!r} is not a short-link id")
        return PastedLink(None, short_id, base)
    if not base and "=" not in text and ID_RE.fullmatch(text):
        return PastedLink(None, text, None)
    if base or text.startswith(("/", "?")):
        query = parts.query if base else text.partition("?")[2]
        if not query and path.rstrip("/") not in ("", "/"):
            raise ValueError(f"{text[:60]!r} is not a link to this explorer's walks")
        return PastedLink(query, None, base)
    return PastedLink(text, None, None)


def decode_path(params: Mapping[str, str | None]) -> str:
    """The decoder with its form filled in (empty parameters left out)."""
    return "/decode?" + urlencode({k: v for k, v in params.items() if v not in ("", None)})


# -- absolute links ----------------------------------------------------------------------------


def explorer_url(base: str, query: str) -> str:
    """The full-state explorer link: ``<base>/?<query>``."""
    return f"{base.rstrip('/')}/?{query}"


def public_base(request_base: str | None = None) -> str:
    """The base absolute links start with: ``LPA2_PUBLIC_URL``, else the request's own base,
    else ``DEFAULT_BASE``."""
    configured = get_settings().public_url
    if configured:
        return configured
    if request_base:
        return str(request_base).rstrip("/")
    return DEFAULT_BASE


@dataclass(frozen=True)
class Links:
    """The absolute links of one request (or of the CLI), all from one ``base``."""

    base: str

    @classmethod
    def of(cls, request: _Request) -> Links:
        return cls(public_base(str(request.base_url)))

    def page(self, query: str) -> str:
        return explorer_url(self.base, query)

    def txt(self, query: str) -> str:
        return f"{self.base}{txt_path(query)}"

    def json(self, query: str) -> str:
        return f"{self.base}{json_path(query)}"

    def short(self, link_id: str) -> str:
        return f"{self.base}/s/{link_id}"

    def short_of(self, query: str) -> str | None:
        """The short link already stored for a canonical query (never stores one)."""
        link_id = short_link_id(query)
        return None if link_id is None else self.short(link_id)

    def share(self, query: str, short_link: str | None) -> ShareLinks:
        """The share panel's links for a state (``short_link``: ``short_of(query)``, or the
        one just made)."""
        return ShareLinks(
            query=query, link=self.page(query), txt=txt_path(query), json=json_path(query),
            short=short_link,
        )  # fmt: skip


@dataclass(frozen=True)
class ShareLinks:
    """What the share panel shows of a state: its canonical query, the absolute link, the
    short link when one is stored, and the site-relative twins."""

    query: str
    link: str
    txt: str
    json: str
    short: str | None = None


# -- the short-link store, as the explorer asks it ----------------------------------------------

_stores: dict[tuple[str, str, str], LinkStore] = {}


def link_store() -> LinkStore:
    """``app.linkstore.default_store()``, without building and resolving its path on every
    call (the explorer asks once per click). Keyed by what the store depends on: the database
    URL, the data directory setting (read each call, as app.settings does) and, for a relative
    one, the working directory."""
    data_dir = os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
    database = os.environ.get(DATABASE_URL_ENV) or ""
    key = (database, data_dir, "" if os.path.isabs(data_dir) else os.getcwd())
    store = _stores.get(key)
    if store is None:
        store = _stores[key] = default_store()
    return store


# The short-link id of a canonical query, by store: (id or None, when it was looked up). A
# stored link is never removed or changed, so an id found stays right for good. "Not stored"
# can go stale when another process stores the query: this process forgets it on its own POST
# /s (``forget_short_link``), and other instances' answers are trusted for NO_LINK_TTL seconds
# at most (a share panel may offer "Short link" for that long after another worker made one;
# making it again gives the same id).
NO_LINK_TTL = 5.0
_short_ids = lru("short_ids")


def short_link_id(query: str) -> str | None:
    """``app.linkstore.existing_id(link_store(), query)``, remembered (see ``_short_ids``)."""
    store = link_store()
    key = (id(store), query)
    entry = _short_ids.get(key)
    now = time.monotonic()
    if entry is not None and (entry[0] is not None or now - entry[1] < NO_LINK_TTL):
        return entry[0]
    link_id = existing_id(store, query)
    _short_ids.put(key, (link_id, now))
    return link_id


def forget_short_link(query: str) -> None:
    """Called when this process stores ``query`` (POST /s): look it up again next time."""
    _short_ids.pop((id(link_store()), query))
