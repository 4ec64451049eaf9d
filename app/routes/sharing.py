"""Sharing: the plain-text and JSON twins of a walk, and short links.

``/walk.txt?<query>`` and ``/walk.json?<query>`` render the walk of a link query (the same
query as the explorer page ``/?<query>``). ``POST /s`` stores a canonical query under its
content-derived id and ``/s/<id>`` redirects to the full-state link. Every renderer here reads
one ``WalkResult``; nothing recomputes the walk.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse

from app.cache import forget_short_link
from app.errors import SafeJSONResponse
from app.linkstore import ID_RE, StoreUnavailable, default_store, existing_id
from app.ratelimit import client_key, limits_of
from app.settings import public_base
from app.state import (
    Decoded,
    Problem,
    decode,
    encode,
    explorer_url,
    problems_message,
    walk_document,
)
from app.templating import templates
from model.arch.walker import WalkResult
from model.explore.configs import run
from model.explore.text import render_text

router = APIRouter()

TEXT_MEDIA = "text/plain; charset=utf-8"


@dataclass
class SharedWalk:
    """One decoded link and its walk, with every URL the renderers print."""

    decoded: Decoded
    result: WalkResult
    query: str
    link: str
    short_link: str | None
    base: str

    @property
    def problems(self) -> list[Problem]:
        return self.decoded.problems

    def text(self) -> str:
        notes = [problems_message(self.problems)] if self.problems else []
        return render_text(
            self.decoded.config,
            result=self.result,
            link=self.short_link or self.link,
            notes=notes,
        )

    def to_dict(self) -> dict:
        return walk_document(
            self.decoded.config,
            self.result.to_dict(),
            base=self.base,
            short_link=self.short_link,
            problems=self.problems,
        )


def base_url(request: Request) -> str:
    return public_base(str(request.base_url))


def short_url(base: str, link_id: str) -> str:
    return f"{base}/s/{link_id}"


def shared_walk(request: Request, raw_query: str | None = None) -> SharedWalk:
    decoded = decode(request.url.query if raw_query is None else raw_query)
    query = encode(decoded.config)
    base = base_url(request)
    link_id = existing_id(default_store(), query)
    return SharedWalk(
        decoded=decoded,
        result=run(decoded.config),
        query=query,
        link=explorer_url(base, query),
        short_link=short_url(base, link_id) if link_id else None,
        base=base,
    )


def share_context(request: Request, query: str, short_link: str | None = None) -> dict:
    """The ``share`` dict templates/partials/share.html expects (the explorer page builds the
    same; this is the helper for it)."""
    base = base_url(request)
    if short_link is None:
        link_id = existing_id(default_store(), query)
        short_link = short_url(base, link_id) if link_id else None
    return {
        "link": explorer_url(base, query),
        "query": query,
        "txt_url": f"/walk.txt?{query}",
        "json_url": f"/walk.json?{query}",
        "short_link": short_link,
    }


def short_link_for(query: str, link: str | None = None) -> str | None:
    """The short link already stored for ``query``, printed with the host of ``link`` (a
    template global, so share.html shows it wherever the panel is rendered). Never writes."""
    link_id = existing_id(default_store(), query)
    if link_id is None:
        return None
    base = link.split("/?", 1)[0] if link and "/?" in link else ""
    return short_url(base, link_id)


templates.env.globals["short_link_for"] = short_link_for


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request", "").lower() == "true"


@router.get(
    "/walk.txt",
    response_class=PlainTextResponse,
    tags=["sharing"],
    summary="The walk of a link, as plain text (72 columns)",
    responses={400: {"description": "Parts of the link were dropped (listed in a NOTE)"}},
)
def walk_txt(request: Request) -> PlainTextResponse:
    """Plain-text walk of the state in the query string (the explorer's link query, e.g.
    ``?v=2&preset=4k-52-lpa2``): at most 72 columns a line, safe to quote in a mail reply. The
    last line is the short link when one exists for this state, else the full link."""
    shared = shared_walk(request)
    status = 400 if shared.problems else 200
    return PlainTextResponse(shared.text(), status_code=status, media_type=TEXT_MEDIA)


@router.get(
    "/walk.json",
    tags=["sharing"],
    summary="The walk of a link, as JSON",
    responses={400: {"description": "Parts of the link were dropped (see problems)"}},
)
def walk_json(request: Request) -> SafeJSONResponse:
    """The model's full walk result (``walk``) for the state in the query string, with the
    canonical query, links and configuration."""
    shared = shared_walk(request)
    return SafeJSONResponse(shared.to_dict(), status_code=400 if shared.problems else 200)


_PAGE = templates.env.from_string(
    """{% extends "base.html" %}
{% block title %}{{ heading }} - LPA2 Explorer{% endblock %}
{% block main %}
<h1>{{ heading }}</h1>
{% for line in message %}<p>{{ line }}</p>{% endfor %}
{% if share %}{% include "partials/share.html" %}{% endif %}
<p><a href="{{ back }}">{{ back_label }}</a></p>
{% endblock %}"""
)


def _page(request: Request, status: int, heading: str, message: list[str], **extra) -> HTMLResponse:
    context = {
        "request": request,
        "heading": heading,
        "message": message,
        "share": extra.get("share"),
        "back": extra.get("back", "/"),
        "back_label": extra.get("back_label", "Open the explorer"),
    }
    return HTMLResponse(_PAGE.render(context), status_code=status)


FULL_LINK_WORKS = "The full link works without it."


def _not_stored(
    request: Request, status: int, canonical: str, message: str, headers: dict | None = None
) -> HTMLResponse:
    """A short link that was not made: for htmx, the share panel's slot with the sentence (and
    the button, to try again); else a page with the sentence and the share panel."""
    if is_htmx(request):
        share = {"query": canonical, "short_error": message}
        return templates.TemplateResponse(
            request,
            "partials/share.html",
            {"share": share, "share_part": "short"},
            status_code=status,
            headers=headers,
        )
    share = share_context(request, canonical) if status != 400 else None
    page = _page(request, status, "Link not stored", [message], share=share)
    page.headers.update(headers or {})
    return page


@router.post(
    "/s",
    tags=["sharing"],
    summary="Make a short link for a link query",
    response_class=HTMLResponse,
    responses={
        303: {"description": "Redirect to the short link's page (no-JS form post)"},
        400: {"description": "Parts of the link could not be used (nothing stored)"},
        429: {"description": "Too many short links from this client (Retry-After)"},
        503: {"description": "The store cannot take links now; the answer says why"},
        507: {"description": "The store holds its quota of links"},
    },
)
def make_short_link(request: Request, query: str = Form(..., max_length=16_384)):
    """Stores the canonical form of ``query`` and answers, for htmx, the short-link slot of the
    share panel; for a plain form post, a 303 to ``/s/<id>/info``. When no link can be made
    the answer (the slot, or a page) says why in a sentence: 400 for a broken link, 429 over
    the client's rate (``LPA2_RATE_SHORT_LINKS``), 503 when the store cannot be written (read
    only, disk full, missing, unreachable), 507 over the quota (``LPA2_LINKS_MAX_BYTES``)."""
    decoded = decode(query)
    canonical = encode(decoded.config)
    if decoded.problems:
        message = "No short link made: " + problems_message(decoded.problems)
        return _not_stored(request, 400, canonical, message)
    limiter = limits_of(request.app).short_links
    wait = limiter.take(client_key(request.scope)) if limiter else 0.0
    if wait:
        seconds = max(1, round(wait + 0.5))
        message = (
            f"Too many short links from your address: try again in {seconds} s. " + FULL_LINK_WORKS
        )
        return _not_stored(request, 429, canonical, message, {"Retry-After": str(seconds)})
    try:
        link_id = default_store().put(canonical)
    except StoreUnavailable as failure:
        message = f"{failure.sentence()} {FULL_LINK_WORKS}"
        return _not_stored(request, failure.status_code, canonical, message)
    forget_short_link(canonical)  # the explorer's cached "not stored yet" (app/cache.py)
    if not is_htmx(request):
        return RedirectResponse(f"/s/{link_id}/info", status_code=303)
    share = share_context(request, canonical, short_url(base_url(request), link_id))
    return templates.TemplateResponse(
        request, "partials/share.html", {"share": share, "share_part": "short"}
    )


def _unknown(request: Request, link_id: str) -> HTMLResponse:
    return _page(
        request,
        404,
        "Unknown short link",
        [
            f"There is no walk stored under the short link /s/{link_id}.",
            "Short links live in this server's database; if the walk came with its full link "
            "(the long one starting with /?v=), open that instead: it needs no database.",
        ],
    )


def _unavailable(request: Request, link_id: str, failure: StoreUnavailable) -> HTMLResponse:
    return _page(
        request,
        503,
        "Short link unavailable",
        [
            f"The walk stored under /s/{link_id} cannot be read now. {failure.sentence()}",
            "If the walk came with its full link (the long one starting with /?v=), open that "
            "instead: it needs no database.",
        ],
    )


def stored_query(request: Request, link_id: str) -> str | HTMLResponse:
    """The query stored under ``link_id``, or the page that says why there is none."""
    try:
        query = default_store().get(link_id) if ID_RE.fullmatch(link_id) else None
    except StoreUnavailable as failure:
        return _unavailable(request, link_id, failure)
    return _unknown(request, link_id) if query is None else query


@router.get(
    "/s/{link_id}",
    tags=["sharing"],
    summary="Open a short link",
    responses={
        303: {"description": "To the full-state link"},
        404: {"description": "Unknown"},
        503: {"description": "The store cannot be read now; the page says why"},
    },
)
def open_short_link(request: Request, link_id: str):
    """Redirects (303) to the explorer at the full-state link stored under ``link_id``."""
    query = stored_query(request, link_id)
    if isinstance(query, HTMLResponse):
        return query
    return RedirectResponse(explorer_url(base_url(request), query), status_code=303)


@router.get("/s/{link_id}/info", tags=["sharing"])
def short_link_info(request: Request, link_id: str):
    """The page a no-JS "Short link" form post lands on: both links, the twins, copy buttons."""
    query = stored_query(request, link_id)
    if isinstance(query, HTMLResponse):
        return query
    base = base_url(request)
    short = short_url(base, link_id)
    return _page(
        request,
        200,
        "Short link made",
        [f"{short} opens the same walk as the full link below; both are shown to print."],
        share=share_context(request, query, short),
        back=f"/?{query}",
        back_label="Back to the walk",
    )
