"""Sharing: the plain-text and JSON twins of a walk, and short links.

``/walk.txt?<query>`` and ``/walk.json?<query>`` render the walk of a link query (the same
query as the explorer page ``/?<query>``). ``POST /s`` stores a canonical query under its
content-derived id and ``/s/<id>`` redirects to the full-state link. Every renderer here reads
one ``WalkResult``; nothing recomputes the walk.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from app.errors import SafeJSONResponse
from app.links import Links, forget_short_link, link_store, page_path, short_info_path
from app.linkstore import ID_RE, StoreUnavailable
from app.ratelimit import client_key, limits_of
from app.render.share import short_slot
from app.state import Decoded, Problem, decode, encode, problems_message, walk_document
from app.templating import templates
from model.arch.walker import WalkResult
from model.explore.configs import run
from model.explore.text import render_text

router = APIRouter()

TEXT_MEDIA = "text/plain; charset=utf-8"


@dataclass
class SharedWalk:
    """One decoded link and its walk, with the links the renderers print."""

    decoded: Decoded
    result: WalkResult
    query: str
    links: Links
    short_link: str | None

    @property
    def problems(self) -> list[Problem]:
        return self.decoded.problems

    def text(self) -> str:
        notes = [problems_message(self.problems)] if self.problems else []
        return render_text(
            self.decoded.config,
            result=self.result,
            link=self.short_link or self.links.page(self.query),
            notes=notes,
        )

    def to_dict(self) -> dict:
        return walk_document(
            self.decoded.config,
            self.result.to_dict(),
            base=self.links.base,
            short_link=self.short_link,
            problems=self.problems,
        )


def shared_walk(request: Request, raw_query: str | None = None) -> SharedWalk:
    decoded = decode(request.url.query if raw_query is None else raw_query)
    query = encode(decoded.config)
    links = Links.of(request)
    return SharedWalk(
        decoded=decoded,
        result=run(decoded.config),
        query=query,
        links=links,
        short_link=links.short_of(query),
    )


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


def _page(request: Request, status: int, heading: str, message: list[str], **extra) -> HTMLResponse:
    context = {
        "heading": heading,
        "message": message,
        "share": extra.get("share"),
        "back": extra.get("back", "/"),
        "back_label": extra.get("back_label", "Open the explorer"),
    }
    return templates.TemplateResponse(request, "message.html", context, status_code=status)


FULL_LINK_WORKS = "The full link works without it."


def _not_stored(
    request: Request, status: int, canonical: str, message: str, headers: dict | None = None
) -> HTMLResponse:
    """A short link that was not made: for htmx, the share panel's slot with the sentence (and
    the button, to try again); else a page with the sentence and the share panel."""
    links = Links.of(request)
    if is_htmx(request):
        slot = short_slot(links.share(canonical, None), error=message)
        return HTMLResponse(slot, status_code=status, headers=headers)
    share = links.share(canonical, links.short_of(canonical)) if status != 400 else None
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
def make_short_link(request: Request, query: str = Form(..., max_length=16_384)) -> Response:
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
    wait = limiter.take(client_key(request.scope)) if limiter is not None else 0.0
    if wait:
        seconds = max(1, round(wait + 0.5))
        message = (
            f"Too many short links from your address: try again in {seconds} s. " + FULL_LINK_WORKS
        )
        return _not_stored(request, 429, canonical, message, {"Retry-After": str(seconds)})
    try:
        link_id = link_store().put(canonical)
    except StoreUnavailable as failure:
        message = f"{failure.sentence()} {FULL_LINK_WORKS}"
        return _not_stored(request, failure.status_code, canonical, message)
    forget_short_link(canonical)  # the explorer's remembered "not stored yet" (app.links)
    if not is_htmx(request):
        return RedirectResponse(short_info_path(link_id), status_code=303)
    links = Links.of(request)
    return HTMLResponse(short_slot(links.share(canonical, links.short(link_id))))


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
        query = link_store().get(link_id) if ID_RE.fullmatch(link_id) else None
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
def open_short_link(request: Request, link_id: str) -> Response:
    """Redirects (303) to the explorer at the full-state link stored under ``link_id``."""
    query = stored_query(request, link_id)
    if isinstance(query, HTMLResponse):
        return query
    return RedirectResponse(Links.of(request).page(query), status_code=303)


@router.get("/s/{link_id}/info", tags=["sharing"])
def short_link_info(request: Request, link_id: str) -> Response:
    """The page a no-JS "Short link" form post lands on: both links, the twins, copy buttons."""
    query = stored_query(request, link_id)
    if isinstance(query, HTMLResponse):
        return query
    links = Links.of(request)
    short = links.short(link_id)
    return _page(
        request,
        200,
        "Short link made",
        [f"{short} opens the same walk as the full link below; both are shown to print."],
        share=links.share(query, short),
        back=page_path(query),
        back_label="Back to the walk",
    )
