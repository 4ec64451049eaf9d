"""Onboarding pages: the guided tour, compare, geometry reference, decoder, configuration
matrix and glossary. The architecture lives in ``model`` (tour, compare, reference, decode,
matrix, linux, glossary); this module only turns its data into template contexts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from app.links import compare_path, decode_path, page_path
from app.state import decode as decode_query
from app.state import encode, parse_number
from app.templating import templates
from app.views.onboarding import walk_summary
from model.explore.compare import compare, flip_ds, other_granule
from model.explore.configs import Configuration
from model.teach import decode as dec
from model.teach import glossary, kernel_facts, matrix, reference, tour

router = APIRouter(tags=["onboarding"])


def explorer_url(config: Configuration) -> str:
    return page_path(encode(config))


def compare_url(a: Configuration, b: Configuration) -> str:
    return compare_path(encode(a), encode(b))


def _render(request: Request, name: str, context: dict, status: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status)


def _kernel_version(kernel: str) -> tuple[kernel_facts.KernelVersion, str]:
    """The release a ``kernel`` parameter names, or current mainline and the reason."""
    try:
        return kernel_facts.version(kernel), ""
    except ValueError as problem:
        return kernel_facts.DEFAULT_VERSION, f"kernel={kernel}: {problem}"


# -- tour -----------------------------------------------------------------------------------------


@router.get("/tour", response_class=HTMLResponse)
def tour_start(request: Request) -> HTMLResponse:
    return tour_step(request, 1)


@router.get("/tour/{n}", response_class=HTMLResponse)
def tour_step(request: Request, n: int, kernel: str = "") -> HTMLResponse:
    steps = tour.steps()
    if not 1 <= n <= len(steps):
        return _render(
            request, "tour.html", {"missing": n, "steps": steps, "count": len(steps)}, 404
        )
    step = tour.step(n)
    result = tour.result(n)
    changes = tour.changes(n)
    changed_levels = {c.level for c in changes if c.level}
    version, kernel_error = _kernel_version(kernel)
    walk = walk_summary(step.config, result, version.tag)
    walk["linux"] = {
        **walk["linux"],
        "extra": [
            {"text": f.text, "fact": f.to_dict(version)} for f in tour.linux_facts(n, version.tag)
        ],
        "error": kernel_error,
    }
    for row in walk["rows"]:
        row["changed"] = (row["stage"], row["level"]) in changed_levels
    return _render(
        request,
        "tour.html",
        {
            "step": step,
            "n": n,
            "count": len(steps),
            "steps": steps,
            "changes": [c for c in changes if c.used],
            "other_changes": [c for c in changes if not c.used],
            "walk": walk,
            "linux": walk["linux"],
            "explorer": explorer_url(step.config),
            "compare": compare_url(tour.step(n - 1).config, step.config) if n > 1 else None,
            "terms": [glossary.term(s) for s in step.glossary],
        },
        422 if kernel_error else 200,
    )


# -- compare ------------------------------------------------------------------------------------


@router.get("/compare", response_class=HTMLResponse)
def compare_page(request: Request, a: str = "", b: str = "") -> HTMLResponse:
    da = decode_query(a)
    problems = [f"a: {p}" for p in da.problems]
    ca = da.config
    if b:
        db = decode_query(b)
        problems += [f"b: {p}" for p in db.problems]
        cb = db.config
    else:
        cb = flip_ds(ca)
    result = compare(ca, cb)
    return _render(
        request,
        "compare.html",
        {
            "cmp": result,
            "problems": problems,
            "a_walk": walk_summary(ca, result.ra),
            "b_walk": walk_summary(cb, result.rb),
            "a_url": explorer_url(ca),
            "b_url": explorer_url(cb),
            "flip_ds": compare_url(ca, flip_ds(ca)),
            "other_granule": compare_url(ca, other_granule(ca)),
            "swap": compare_url(cb, ca),
        },
        422 if problems else 200,
    )


# -- geometry -----------------------------------------------------------------------------------


@router.get("/geometry", response_class=HTMLResponse)
def geometry_page(request: Request) -> HTMLResponse:
    s1 = reference.stage1_rows()
    s2 = reference.stage2_rows()
    groups = []
    for mode in reference.MODES:
        rows = [r for r in s1 if r.mode == mode]
        groups.append({"mode": mode, "rows": rows, "levels": reference.level_columns(rows)})
    s2_groups = []
    for mode in reference.S2_MODES:
        rows = [r for r in s2 if r.mode == mode]
        s2_groups.append({"mode": mode, "rows": rows, "levels": reference.level_columns(rows)})
    return _render(
        request,
        "geometry.html",
        {
            "groups": groups,
            "s2_groups": s2_groups,
            "explorer_url": explorer_url,
            "size": reference.byte_size,
        },
    )


# -- decoder ----------------------------------------------------------------------------------


@router.get("/decode", response_class=HTMLResponse)
def decode_page(
    request: Request,
    reg: str = "TCR_EL1",
    value: str = "",
    level: str = "3",
    variant: str = "DS0",
    granule: str = "4",
    fmt: str = "48",
) -> HTMLResponse:
    form = {
        "reg": reg,
        "value": value,
        "level": level,
        "variant": variant,
        "granule": granule,
        "fmt": fmt,
    }
    context: dict = {
        "form": form,
        "registers": dec.REGISTERS,
        "variants": dec.VARIANTS,
        "levels": dec.LEVELS,
        "granules": dec.GRANULES,
        "error": None,
        "decoding": None,
    }
    if not value.strip():
        return _render(request, "decode.html", context)
    try:
        target = dec.Target(reg, fmt=fmt, variant=variant, granule=int(granule), level=int(level))
        target.validate()
        number = parse_number(value)
    except ValueError as error:
        context["error"] = str(error)
        return _render(request, "decode.html", context, 422)
    context["decoding"] = dec.decode(target, number)
    context["permalink"] = decode_path(
        {
            "reg": reg,
            "value": f"{number:#x}",
            **{k: form[k] for k in dec.REGISTERS[reg].needs},
        }
    )
    return _render(request, "decode.html", context)


# -- matrix, glossary ---------------------------------------------------------------------------


@router.get("/matrix", response_class=HTMLResponse)
def matrix_page(request: Request, valid: str = "", kernel: str = "") -> HTMLResponse:
    version, error = _kernel_version(kernel)
    rows = matrix.rows(version.tag)
    shown = [r for r in rows if r.valid] if valid == "1" else list(rows)
    return _render(
        request,
        "matrix.html",
        {
            "rows": shown,
            "total": len(rows),
            "valid_count": sum(r.valid for r in rows),
            "only_valid": valid == "1",
            "explorer_url": explorer_url,
            "hw_pa": matrix.HW_PA_TITLE,
            "modes": matrix.KVM_MODE_TITLE,
            "version": version,
            "versions": kernel_facts.VERSIONS,
            "version_links_data": [
                {"tag": v.tag, "label": v.label, "selected": v == version}
                for v in kernel_facts.VERSIONS
            ],
            "fmt": lambda statement: statement.to_dict(version),
            "sources": [f.to_dict(version) for f in kernel_facts.facts_for(version.tag)],
            "error": error,
        },
        422 if error else 200,
    )


@router.get("/glossary", response_class=HTMLResponse)
def glossary_page(request: Request) -> HTMLResponse:
    terms = sorted(glossary.TERMS, key=lambda t: t.title.lower())
    facts = {f.key: f.to_dict() for f in kernel_facts.FACTS}
    return _render(
        request,
        "glossary.html",
        {"terms": terms, "by_slug": glossary.TERMS_BY_SLUG, "facts": facts},
    )


@router.get("/tour/", include_in_schema=False)
def tour_slash() -> RedirectResponse:
    return RedirectResponse("/tour", status_code=308)
