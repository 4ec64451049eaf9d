"""The explorer page: ``GET /``.

One route, three answers:

* a permalink (no ``from`` parameter): the full page for the decoded state; 422 when parts of
  the link could not be used (the page says what was dropped and why);
* a form submission (``from`` present) without htmx: 303 to the canonical link of the new
  state, with the place clicked as its fragment (``#reg-tcr_el1``, a card's id), or the page
  with inline errors (422) when an input is bad;
* the same submission from htmx (``HX-Request``): a fragment of out-of-band regions, only the
  ones the edit affects (``app.fragment``), with ``HX-Push-Url`` set to the canonical link
  (each edit is an entry of the browser's history: static/js/explorer.js pushes it); 422 with
  the marked fields (and the last good walk left alone) when an input is bad. ``goto`` (Back,
  Forward, Undo, Redo) answers the regions that differ from the state shown.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.edits import SETUP_CONTROLS, EditOutcome, apply_form, is_edit
from app.fragment import Regions, changed_regions, render_fragment
from app.links import Links, page_path, with_kernel
from app.state import decode_params
from app.templating import templates
from app.views import CardView, ExplorerView, card_view, explorer_view
from app.walks import State, query_of, state_of
from model.arch.result import NESTED

router = APIRouter()


def state_view(state: State, kernel: str | None = None) -> ExplorerView:
    """The view of a remembered state, its Linux panel for ``kernel`` (built once per state
    and release; never modified)."""
    view = state.views.get(kernel)
    if view is None:
        view = state.views[kernel] = explorer_view(
            state.config, state.result, query=state.query, kernel=kernel
        )
    return view


def _page(request: Request, view: ExplorerView, status: int = 200) -> HTMLResponse:
    links = Links.of(request)
    context = {"view": view, "share": links.share(view.query, links.short_of(view.query))}
    return templates.TemplateResponse(request, "explorer.html", context, status_code=status)


def _fragment(
    request: Request,
    view: ExplorerView,
    regions: Regions,
    status: int = 200,
    headers: dict | None = None,
    cards: tuple[CardView, ...] = (),
) -> HTMLResponse:
    links = Links.of(request)
    short = links.short_of(view.query) if regions.share else None
    html = render_fragment(view, regions, share_links=links.share(view.query, short), cards=cards)
    response = HTMLResponse(html, status_code=status, headers=headers)
    response.headers["Vary"] = "HX-Request"
    return response


def _refused(request: Request, outcome: EditOutcome, htmx: bool) -> HTMLResponse:
    """An edit with a bad input: the last good state, the bad controls marked with what was
    typed and why it was refused (422)."""
    before, result, errors = outcome.before, outcome.before_result, outcome.errors
    view = explorer_view(before, result, errors=errors, typed=outcome.typed, kernel=outcome.kernel)
    if not htmx:
        return _page(request, view, 422)
    regions = Regions(
        summary=False,
        share="",
        setup=any(k in errors for k in SETUP_CONTROLS),
        choices=any(k.startswith("c.") for k in errors),
        register={r.param for r in view.registers if r.error or any(i.error for i in r.inputs)},
    )
    cards = tuple(
        card_view(ref, before, errors, outcome.typed)
        for ref in result.reads()
        if ref.role != NESTED and f"m.{ref.read.desc_address or 0:#x}" in errors
    )
    return _fragment(request, view, regions, 422, cards=cards)


@router.get("/", response_class=HTMLResponse, tags=["explorer"])
def explorer(request: Request) -> Response:
    # A plain ``def``: it runs in one of the few compute threads (app.main), never on the
    # event loop, so /healthz and reading other requests wait at most a GIL switch interval
    # for a click, however many are queued. The hop costs tens of microseconds a click.
    pairs = list(request.query_params.multi_items())
    htmx = request.headers.get("HX-Request") == "true"
    if not is_edit(pairs):
        decoded = decode_params(pairs)
        view = state_view(state_of(decoded.config), decoded.kernel)
        if decoded.problems:
            view = replace(view, link_problems=tuple(str(p) for p in decoded.problems))
        return _page(request, view, 422 if decoded.problems else 200)

    outcome = apply_form(pairs)
    if outcome.goto_problems:
        # A history entry this version cannot show as it was: the whole page, with what was
        # dropped (htmx reloads the address, which the browser already set to the entry).
        if htmx:
            return Response(status_code=200, headers={"HX-Refresh": "true"})
        target = parse_qsl(dict(pairs).get("goto", ""), keep_blank_values=True)
        return RedirectResponse(page_path(urlencode(target)), status_code=303)
    if outcome.link_problems and outcome.ok:
        # ``from`` is the server's own canonical link: one it cannot read was altered. Show the
        # edited state with what was dropped, instead of redirecting past the problem.
        view = state_view(state_of(outcome.config), outcome.kernel)
        view = replace(view, link_problems=tuple(str(p) for p in outcome.link_problems))
        return _page(request, view, 422)
    if not outcome.ok:
        return _refused(request, outcome, htmx)
    query = query_of(outcome.config)
    url = page_path(with_kernel(query, outcome.kernel))
    view = state_view(state_of(outcome.config, query), outcome.kernel)
    if not htmx:
        return RedirectResponse(url + clicked_place(pairs, view), status_code=303)
    old = state_view(state_of(outcome.before), outcome.kernel)
    regions = changed_regions(old, view, everything=outcome.loaded)
    return _fragment(request, view, regions, headers={"HX-Push-Url": url})


def _cards(view: ExplorerView) -> Iterator[CardView]:
    for c in (*view.walk.cards, *view.walk.final_cards):
        yield c
        if c.nested:
            yield from c.nested.cards


def clicked_place(pairs: list[tuple[str, str]], view: ExplorerView) -> str:
    """The fragment that brings a page without JavaScript back to the control clicked: the
    register or card of a bit or quick action (the card now showing that descriptor), the
    input address, the walk for a remedy or a re-fill; nothing for Apply or a preset."""
    for key, value in pairs:
        if key == "flip":
            target = value.rpartition(":")[0]
        elif key == "act":
            target = "m." + value.partition(":")[0]
        elif key in ("fix", "refill"):
            return "#walk"
        else:
            continue
        if target == "va":
            return "#addr-title"
        if target.startswith("r."):
            return f"#reg-{target[2:]}"
        try:
            address = int(target[2:], 16)
        except ValueError:
            return "#walk"
        for card in _cards(view):
            if card.desc_address == f"{address:#x}":
                return f"#{card.id}"
        return "#walk"
    return ""
