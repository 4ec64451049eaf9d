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

from app.edits import apply_form, is_edit
from app.fragment import render_fragment
from app.links import Links, page_path
from app.state import decode_params
from app.templating import field_help_html, templates
from app.views import cached_linux_view, card_slots, card_view, explorer_view
from app.walks import State, query_of, state_of

router = APIRouter()


def state_view(state: State) -> dict:
    """The view of a remembered state (built once per state; never modified)."""
    if state.view is None:
        view = explorer_view(state.config, state.result, query=state.query)
        view["status_message"] = view["status"]
        state.view = view
    return state.view


def _page(request: Request, view: dict, status: int = 200) -> HTMLResponse:
    links = Links.of(request)
    context = {"view": view, "share": links.share(view["query"], links.short_of(view["query"]))}
    return templates.TemplateResponse(request, "explorer.html", context, status_code=status)


def oob_partial(name: str, view: dict) -> str:
    """A partial template as an out-of-band region (for ``render_fragment``)."""
    return templates.env.get_template(name).render({"view": view, "oob": True})


def _fragment(
    request: Request, view: dict, regions: dict, status: int, headers: dict, cards=()
) -> HTMLResponse:
    links = Links.of(request)
    query = view["query"]
    share = links.share(query, links.short_of(query) if regions.get("share") else None)
    html = render_fragment(
        view,
        regions,
        cards=list(cards),
        share=share,
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
        state = state_of(decoded.config)
        view = state_view(state)
        if decoded.kernel:  # the Linux panel for another release (kernel=, not in the link)
            view = {**view, "linux": cached_linux_view(state.config, state.result, decoded.kernel)}
        if decoded.problems:
            view = {**view, "link_problems": [str(p) for p in decoded.problems]}
        return _page(request, view, 422 if decoded.problems else 200)

    outcome = apply_form(pairs)
    if outcome.link_problems and outcome.ok:
        # ``from`` is the server's own canonical link: one it cannot read was altered. Show the
        # edited state with what was dropped, instead of redirecting past the problem.
        view = state_view(state_of(outcome.config))
        view = {**view, "link_problems": [str(p) for p in outcome.link_problems]}
        return _page(request, view, 422)
    if not outcome.ok:
        before, result = outcome.before, outcome.before_result
        view = explorer_view(before, result, errors=outcome.errors, typed=outcome.typed)
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
            for ref in result.reads(nested=False)
            if f"m.{ref.read.desc_address or 0:#x}" in errors
        ]
        return _fragment(request, view, regions, 422, {}, cards)

    query = query_of(outcome.config)
    url = page_path(query)
    if not htmx:
        return RedirectResponse(url, status_code=303)
    old = state_view(state_of(outcome.before))
    view = state_view(state_of(outcome.config, query))
    regions = changed_regions(old, view, everything=outcome.loaded)
    return _fragment(request, view, regions, 200, {"HX-Replace-Url": url})
