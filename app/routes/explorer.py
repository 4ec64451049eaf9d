"""The explorer page: ``GET /``.

One route, three answers:

* a permalink (no ``from`` parameter): the full page for the decoded state; 422 when parts of
  the link could not be used (the page says what was dropped and why);
* a form submission (``from`` present) without htmx: 303 to the canonical link of the new
  state, or the page with inline errors (422) when an input is bad;
* the same submission from htmx (``HX-Request``): a fragment of out-of-band regions, only the
  ones the edit affects, with ``HX-Replace-Url`` set to the canonical link; 422 with the
  marked fields (and the last good walk left alone) when an input is bad.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from app.cache import LRU, State, query_of, state_of, stored_short_link
from app.edits import apply_form, is_edit
from app.fragment import (
    render_card_list,
    render_choices,
    render_fragment,
    render_va_input,
    render_walk_final,
    render_walk_head,
    render_walk_help,
    render_walk_warnings,
)
from app.state import decode_params
from app.templating import templates
from app.views import (
    card_slots,
    card_view,
    explorer_view,
    render_card,
    render_register,
    render_register_update,
    render_share_update,
    render_summary,
    render_walk_oa,
)
from model.arch.walker import WalkResult
from model.explore.actions import all_reads
from model.explore.configs import Configuration

router = APIRouter()

_FIELD_HELP: LRU[tuple, tuple[list, Markup]] = LRU(512)


def field_help_html(items: list, title: str = "Field help", help_id: str = "") -> Markup:
    """The ``field_help`` macro of partials/macros.html, remembered: its items come from
    ``app.views.field_help`` (one list per layout and prefix) and never change, and a click
    re-renders registers whose help is the same as before. Keyed by the list's identity (the
    entry keeps the list alive, so the id is not reused while it is remembered)."""
    key = (id(items), title, help_id)
    entry = _FIELD_HELP.get(key)
    if entry is not None and entry[0] is items:
        return entry[1]
    macro = templates.env.get_template("partials/macros.html").module.field_help
    html = Markup(macro(items, title, help_id))
    _FIELD_HELP.put(key, (items, html))
    return html


templates.env.globals.update(
    render_card=render_card,
    render_card_list=render_card_list,
    card_slots=card_slots,
    field_help_html=field_help_html,
    render_register=lambda r, oob=False: render_register(r, field_help_html, oob),
    render_register_update=render_register_update,
    render_walk_oa=render_walk_oa,
    render_walk_head=render_walk_head,
    render_walk_final=render_walk_final,
    render_walk_warnings=render_walk_warnings,
    render_walk_help=lambda w, oob=False: render_walk_help(w, field_help_html, oob),
    render_choices=render_choices,
    render_va_input=render_va_input,
    render_share_update=render_share_update,
    render_summary=render_summary,
)


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _view(request: Request, config: Configuration, result: WalkResult, **kw) -> dict:
    view = explorer_view(config, result, base_url=_base_url(request), **kw)
    view["status_message"] = view["status"]
    return view


def state_view(state: State, base: str) -> dict:
    """The view of a cached state (built once per state and base URL; never modified)."""
    view = state.views.get(base)
    if view is None:
        view = explorer_view(state.config, state.result, base_url=base, query=state.query)
        view["status_message"] = view["status"]
        state.views[base] = view
    return view


def _page(request: Request, view: dict, status: int = 200) -> HTMLResponse:
    context = {"view": view, "short_link_for": stored_short_link}
    return templates.TemplateResponse(request, "explorer.html", context, status_code=status)


def oob_partial(name: str, view: dict) -> str:
    """A partial template as an out-of-band region (for ``render_fragment``)."""
    context = {"view": view, "oob": True, "short_link_for": stored_short_link}
    return templates.env.get_template(name).render(context)


def _fragment(view: dict, regions: dict, status: int, headers: dict, cards=()) -> HTMLResponse:
    share = view["share"]
    short_link = stored_short_link(share["query"], share["link"]) if regions.get("share") else None
    html = render_fragment(
        view,
        regions,
        cards=list(cards),
        short_link=short_link,
        template=oob_partial,
        field_help_html=field_help_html,
    )
    response = HTMLResponse(html, status_code=status, headers=headers)
    response.headers["Vary"] = "HX-Request"
    return response


ALL_REGIONS = ("setup", "presets", "registers", "choices", "walk", "linux")
# Walk regions that are replaced as a whole when their part of the view changed.
WALK_PARTS = {
    "walk-head": ("ok", "fault", "address"),
    "walk-oa": ("oa", "attrs", "attrs_stages", "perms", "par"),
    "walk-warnings": ("warnings", "choices_used"),
    "walk-help": ("help",),
}


def _only_address_changed(old: dict, new: dict) -> bool:
    return not old["errors"] and not new["errors"] and {**old, "va": new["va"]} == new


def changed_regions(old: dict, new: dict, everything: bool = False) -> dict:
    """The regions of the page whose content differs between two views (the page shows
    ``old``; ``new`` is the state after the edit). Views are plain data, so equal parts
    render to equal HTML and need not be sent."""
    # The share panel: only its parts that name the state (the whole panel on a preset load).
    regions: dict = {"summary": True, "share": "update"}
    if everything:
        regions.update(dict.fromkeys(ALL_REGIONS, True), share=True)
        return regions
    for name in ("setup", "presets", "choices", "linux"):
        if old[name] != new[name]:
            regions[name] = True
    if regions.get("setup") and _only_address_changed(old["setup"], new["setup"]):
        # An address bit click: the set-up bar differs only in its address box.
        del regions["setup"]
        regions["setup-va"] = True
    old_regs, new_regs = old["registers"], new["registers"]
    if [r["name"] for r in old_regs] != [r["name"] for r in new_regs]:
        regions["registers"] = True
    else:
        # A register whose layout and disclosure state stay gets only its summary line and
        # body (its field help, most of its HTML, is already on the page).
        regions["register"], regions["register_part"] = set(), set()
        for o, n in zip(old_regs, new_regs, strict=True):
            if o != n:
                same_frame = all(o[k] == n[k] for k in ("layout", "open", "edited", "title"))
                same_frame = same_frame and o["field_help"] is n["field_help"]
                regions["register_part" if same_frame else "register"].add(n["param"])
    ow, nw = old["walk"], new["walk"]
    old_cards, new_cards = ow["cards"], nw["cards"]
    if any(card_slots(ow[k]) != card_slots(nw[k]) for k in ("cards", "final_cards")):
        regions["walk"] = True
        return regions
    for region, keys in WALK_PARTS.items():
        if any(ow[k] != nw[k] for k in keys):
            regions[region] = True
    final_head = (bool(ow["final_cards"] or ow["final_fault"]), ow["ipa"])
    if final_head != (bool(nw["final_cards"] or nw["final_fault"]), nw["ipa"]):
        regions["walk-final-head"] = True
    regions["slots"] = _changed_slots(old_cards, new_cards)
    regions["final_slots"] = _changed_slots(ow["final_cards"], nw["final_cards"])
    return regions


def _changed_slots(old: list, new: list) -> set[int]:
    """Card slots to send: a slot that only one side fills changed (it is emptied or filled)."""
    return {
        i
        for i in range(max(len(old), len(new)))
        if i >= len(old) or i >= len(new) or old[i] != new[i]
    }


@router.get("/", response_class=HTMLResponse, tags=["explorer"])
def explorer(request: Request) -> Response:
    # A plain ``def``: it runs in one of the few compute threads (app.main), never on the
    # event loop, so /healthz and reading other requests wait at most a GIL switch interval
    # for a click, however many are queued. The hop costs tens of microseconds a click.
    pairs = list(request.query_params.multi_items())
    htmx = request.headers.get("HX-Request") == "true"
    if not is_edit(pairs):
        decoded = decode_params(pairs)
        view = state_view(state_of(decoded.config), _base_url(request))
        if decoded.problems:
            view = {**view, "link_problems": [str(p) for p in decoded.problems]}
        return _page(request, view, 422 if decoded.problems else 200)

    outcome = apply_form(pairs)
    if outcome.link_problems and outcome.ok:
        # ``from`` is the server's own canonical link: one it cannot read was altered. Show the
        # edited state with what was dropped, instead of redirecting past the problem.
        view = state_view(state_of(outcome.config), _base_url(request))
        view = {**view, "link_problems": [str(p) for p in outcome.link_problems]}
        return _page(request, view, 422)
    if not outcome.ok:
        before, result = outcome.before, outcome.before_result
        view = _view(request, before, result, errors=outcome.errors, typed=outcome.typed)
        view["status_message"] = "Not applied: " + "; ".join(outcome.errors.values())
        if not htmx:
            return _page(request, view, 422)
        regions: dict = {"register": set()}
        errors = outcome.errors
        if any(k in errors for k in ("regime", "cpu", "access", "va")):
            regions["setup"] = True
        if any(k.startswith("c.") for k in errors):
            regions["choices"] = True
        regions["register"] = {
            r["param"]
            for r in view["registers"]
            if r["error"] or any(i["error"] for i in r["inputs"])
        }
        input_name = "IPA" if before.regime == "stage2" else "VA"
        cards = [
            card_view(ref, before, errors, outcome.typed, input_name)
            for ref in all_reads(result)
            if ref.where != "nested-s2" and f"m.{ref.read.desc_address or 0:#x}" in errors
        ]
        return _fragment(view, regions, 422, {}, cards)

    query = query_of(outcome.config)
    url = f"/?{query}"
    if not htmx:
        return RedirectResponse(url, status_code=303)
    base = _base_url(request)
    old = state_view(state_of(outcome.before), base)
    view = state_view(state_of(outcome.config, query), base)
    regions = changed_regions(old, view, everything=outcome.loaded)
    return _fragment(view, regions, 200, {"HX-Replace-Url": url})
