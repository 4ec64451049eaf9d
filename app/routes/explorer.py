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

from app.edits import EditOutcome, apply_form, is_edit
from app.state import decode_params, encode
from app.templating import templates
from app.views import card_view, explorer_view, register_signature
from model.configs import Configuration, run
from model.edits import all_reads, regime_registers
from model.walker import WalkResult

router = APIRouter()


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _view(request: Request, config: Configuration, result: WalkResult, **kw) -> dict:
    view = explorer_view(config, result, base_url=_base_url(request), **kw)
    view["status_message"] = view["status"]
    return view


def _page(request: Request, view: dict, status: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, "explorer.html", {"view": view}, status_code=status)


def _fragment(request: Request, context: dict, status: int, headers: dict) -> HTMLResponse:
    response = templates.TemplateResponse(
        request, "partials/fragment.html", context, status_code=status
    )
    response.headers.update(headers)
    response.headers["Vary"] = "HX-Request"
    return response


def _regions(outcome: EditOutcome, result: WalkResult) -> dict:
    """Which regions an accepted edit changes."""
    before, after = outcome.before, outcome.config
    regions: dict = {"walk": True, "share": True}
    if outcome.loaded or before.slug != after.slug:
        regions.update(setup=True, presets=True, registers=True, choices=True)
        return regions
    if (before.regime, before.cpu, before.access, before.address) != (
        after.regime,
        after.cpu,
        after.access,
        after.address,
    ):
        regions["setup"] = True
    if before.choices != after.choices:
        regions["choices"] = True
    names_before = regime_registers(before.regime, before.registers)
    names_after = regime_registers(after.regime, after.registers)
    if names_before != names_after:
        regions["registers"] = True
        return regions
    changed = {
        name.lower()
        for name in names_after
        if register_signature(name, before, outcome.before_result)
        != register_signature(name, after, result)
    }
    regions["register"] = changed
    return regions


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def explorer(request: Request) -> Response:
    pairs = list(request.query_params.multi_items())
    htmx = request.headers.get("HX-Request") == "true"
    if not is_edit(pairs):
        decoded = decode_params(pairs)
        result = run(decoded.config)
        view = _view(request, decoded.config, result, link_problems=decoded.problems)
        return _page(request, view, 422 if decoded.problems else 200)

    outcome = apply_form(pairs)
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
        return _fragment(request, {"view": view, "regions": regions, "cards": cards}, 422, {})

    query = encode(outcome.config)
    url = f"/?{query}"
    if not htmx:
        return RedirectResponse(url, status_code=303)
    result = run(outcome.config)
    view = _view(request, outcome.config, result)
    regions = _regions(outcome, result)
    return _fragment(
        request, {"view": view, "regions": regions, "cards": []}, 200, {"HX-Replace-Url": url}
    )
