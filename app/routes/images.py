"""The mappings of a state's tables: ``/ptdump?<query>`` (a page), ``/ptdump.txt`` and
``/ptdump.json``, for a state that reads a memory image (``image=`` in its link).

The query is the explorer's link query; the listing is ``model.explore.ptdump`` of the state's
regime over the state's memory (the image, with the descriptors the link sets over it). Each
range links to the walk of its first address. A listing is computed once per state and paged
(``page``, ``PAGE_ROWS`` rows a page).
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qsl

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from app.cache import LRU
from app.errors import SafeJSONResponse
from app.images import served_image
from app.links import page_path, ptdump_path
from app.state import decode_params, encode, problems_message
from app.templating import templates
from model.explore.configs import Configuration, state_memory
from model.explore.ptdump import FaultRange, Listing, MappingRange, list_mappings
from model.explore.ptdump_text import (
    FORMATS,
    listing_to_dict,
    memory_type,
    permissions,
    render_listing,
    root_header,
    size_text,
)

router = APIRouter()

PAGE_ROWS = 1000
_LISTINGS: LRU[str, Listing] = LRU(2)  # a listing of a million leaves is ~150 MB


class _NoImage(ValueError):
    pass


def _state(request: Request) -> tuple[Configuration, str, list[str]]:
    params = parse_qsl(request.url.query, keep_blank_values=True)
    decoded = decode_params([(k, v) for k, v in params if k != "page"])  # page: the listing's
    config = decoded.config
    if config.image is None:
        served = served_image()
        where = (
            f"open /ptdump with a link that reads it (start at /, which names image "
            f"{served.sha256[:12]}…)"
            if served is not None
            else "start the explorer with lpa2-explorer serve --image FILE"
        )
        raise _NoImage(f"The listing reads the tables of a memory image: {where}.")
    problems = [problems_message(decoded.problems)] if decoded.problems else []
    return config, encode(config), problems


def _listing(config: Configuration, query: str) -> Listing:
    return _LISTINGS.get_or_make(
        query,
        lambda: list_mappings(
            config.regime, config.registers, state_memory(config), config.cpu, config.choices
        ),
    )


def _walk_link(config: Configuration, address: int) -> str:
    return page_path(encode(replace(config, address=address)))


def _row(config: Configuration, item: MappingRange | FaultRange) -> dict:
    link = _walk_link(config, item.start)
    base = {"start": f"{item.start:#018x}", "end": f"{item.end:#018x}", "link": link}
    base["size"] = size_text(item.size)
    if isinstance(item, FaultRange):
        f = item.fault
        return base | {
            "fault": True,
            "level": item.level,
            "what": f"{f.fsc_name} (FSC {f.fsc:#04x}, stage {f.stage}"
            + (", S1PTW)" if f.s1ptw else ")"),
            "message": f.message,
            "entries": item.entries,
        }
    attrs = item.walk.attrs if item.walk is not None else None
    perms = item.walk.perms.to_dict() if item.walk and item.walk.perms else {}
    if "stage1" in perms:
        perm_text = f"{permissions(perms['stage1'])} / S2 {permissions(perms['stage2'])}"
    else:
        perm_text = permissions(perms)
    fmt = item.variant if item.stage2 is None else f"S1 {item.variant}, S2 {item.stage2.variant}"
    return base | {
        "fault": False,
        "level": item.level,
        "kind": item.kind,
        "entries": item.entries,
        "oa": f"{item.oa:#018x}",
        "ipa": f"{item.ipa:#018x}" if item.ipa is not None else None,
        "perms": perm_text,
        "type": memory_type(attrs.attr if attrs is not None else None),
        "contiguous": (
            ("misprogrammed" if item.contiguous_problem else f"{item.contiguous_runs} runs")
            if item.contiguous
            else ""
        ),
        "format": fmt,
    }


@router.get("/ptdump", response_class=HTMLResponse, tags=["images"], include_in_schema=False)
def ptdump_page(request: Request, page: int = Query(0, ge=0, le=1_000_000)) -> Response:
    served = served_image()
    if served is not None and not request.url.query:  # the start state's mappings
        return RedirectResponse(ptdump_path(encode(served.start_config())), status_code=303)
    try:
        config, query, problems = _state(request)
    except _NoImage as error:
        html = templates.get_template("image_needed.html").render(message=str(error))
        return HTMLResponse(html, status_code=400)
    listing = _listing(config, query)
    items: list[tuple[int, int, MappingRange | FaultRange]] = []
    roots = []
    for n, root in enumerate(listing.roots):
        roots.append({"header": root_header(root, listing.regime), "setup": root.setup_fault})
        items += [(n, m.start, m) for m in root.mappings]
        items += [(n, f.start, f) for f in root.faults]
    items.sort(key=lambda item: (item[0], item[1]))
    first = page * PAGE_ROWS
    shown = items[first : first + PAGE_ROWS]
    for n, _start, item in shown:
        roots[n].setdefault("rows", []).append(_row(config, item))
    pages = max(1, -(-len(items) // PAGE_ROWS))
    html = templates.get_template("ptdump.html").render(
        roots=roots,
        problems=problems,
        regime=listing.regime,
        count=len(items),
        descriptors=listing.descriptors,
        seconds=listing.seconds,
        page=page,
        pages=pages,
        query=query,
        walk_link=page_path(query),
        txt_link=ptdump_path(query, ".txt"),
        json_link=ptdump_path(query, ".json"),
        formats=FORMATS,
        stage2=root_header(listing.stage2, "stage2") if listing.stage2 is not None else None,
    )
    return HTMLResponse(html, status_code=422 if problems else 200)


@router.get("/ptdump.txt", response_class=PlainTextResponse, tags=["images"])
def ptdump_txt(request: Request) -> PlainTextResponse:
    """Every mapping of the state's regime, one line a range (as ``lpa2-explorer ptdump``)."""
    try:
        config, query, problems = _state(request)
    except _NoImage as error:
        return PlainTextResponse(str(error) + "\n", status_code=400)
    text = "".join(f"NOTE: {p}\n" for p in problems) + render_listing(_listing(config, query))
    return PlainTextResponse(text, status_code=422 if problems else 200)


@router.get("/ptdump.json", tags=["images"])
def ptdump_json(request: Request) -> SafeJSONResponse:
    """Every mapping of the state's regime as JSON (as ``lpa2-explorer ptdump --json``)."""
    try:
        config, query, problems = _state(request)
    except _NoImage as error:
        return SafeJSONResponse({"detail": str(error)}, status_code=400)
    data = listing_to_dict(_listing(config, query)) | {"query": query, "problems": problems}
    return SafeJSONResponse(data, status_code=422 if problems else 200)
