"""What the OpenAPI schema (``/openapi.json``, ``/docs``) says about the routes that read their
input by hand: the explorer page, the link twins, short links and the onboarding pages.

Those routes take the link query as raw pairs (``request.query_params``), so FastAPI cannot
see their parameters; ``openapi_schema(app)`` adds them, with every status and media type each route
answers, so that a client (and the schema fuzzer in tests/security/) knows the whole surface.

Some answers can come from any route, before it runs (``app.security``, ``app.ratelimit``):
413 when the query string or body is too large, 422 when there are too many query parameters,
429 when the client is over its rate, 400 for a ``Host`` not in ``LPA2_ALLOWED_HOSTS``, all as
short plain text. They are added to every operation.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app.state import CHOICE_PARAMS, LINK_VERSION, REGISTER_PARAMS, _choice_values
from model import CPU_PRESETS, Regime
from model.explore.configs import CONFIG_PRESETS
from model.teach.kernel_facts import VERSIONS as KERNEL_VERSIONS

MEM_ITEM = "^[0-9a-fA-FxXbB_]+:[0-9a-fA-FxXbB_]+$"
HEX = "^\\s*(0[xX][0-9a-fA-F_]+|0[bB][01_]+|[0-9_]+)\\s*$"

HTML = {"text/html": {"schema": {"type": "string"}}}
TEXT = {"text/plain": {"schema": {"type": "string"}}}
JSON_ERROR = {"application/json": {"schema": {"type": "object", "required": ["detail"]}}}
JSON_STATUS = {"application/json": {"schema": {"type": "object", "required": ["status"]}}}
LOCATION = {"Location": {"description": "Where to go", "schema": {"type": "string"}}}
HX_PUSH_URL = {
    "HX-Push-Url": {
        "description": "Canonical link of the new state, a new history entry (htmx answers)",
        "schema": {"type": "string"},
    },
    "HX-Refresh": {
        "description": "'true' when a goto names a state this version reads with problems: "
        "reload the page",
        "schema": {"type": "string"},
    },
}

# The limits of app.security, on every operation.
LIMIT_RESPONSES: dict[str, dict[str, Any]] = {
    "413": {"description": "Query string or body over the limit", "content": TEXT},
    "422": {"description": "Too many query parameters", "content": TEXT},
    "429": {"description": "Too many requests from this client (Retry-After)", "content": TEXT},
    "400": {"description": "A Host this server does not answer for", "content": TEXT},
}


def _query(name: str, schema: dict, description: str, **extra: Any) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
        **extra,
    }


def link_parameters() -> list[dict]:
    """The parameters of a permalink query (``app.state``): ``/``, ``/walk.txt``, ``/walk.json``."""
    params = [
        _query("v", {"type": "string", "examples": [str(LINK_VERSION)]}, "Link format version"),
        _query("preset", {"type": "string", "enum": list(CONFIG_PRESETS)}, "Starting preset"),
        _query("regime", {"type": "string", "enum": [r.value for r in Regime]}, "Regime"),
        _query("cpu", {"type": "string", "enum": list(CPU_PRESETS)}, "CPU preset"),
        _query(
            "access",
            {"type": "string", "pattern": "^el[012][rwx]$"},
            "Exception level and kind, e.g. el1r",
        ),
        _query("va", {"type": "string", "pattern": HEX}, "Input address (VA, or IPA)"),
    ]
    for param, register in REGISTER_PARAMS.items():
        params.append(_query(param, {"type": "string", "pattern": HEX}, register))
    params.append(
        _query(
            "mem",
            {"type": "array", "items": {"type": "string", "pattern": MEM_ITEM}},
            "Descriptor at a physical address, address:value (repeatable)",
            style="form",
            explode=True,
        )
    )
    for param, name in CHOICE_PARAMS.items():
        params.append(
            _query(param, {"type": "string", "enum": list(_choice_values(name))}, f"Choice {name}")
        )
    params.append(
        _query(
            "image",
            {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "sha256 of the memory image the state reads (lpa2-explorer serve --image)",
        )
    )
    params.append(
        _query(
            "kernel",
            {"type": "string", "enum": [v.tag for v in KERNEL_VERSIONS]},
            "Kernel release the Linux panel describes (not part of the walk)",
        )
    )
    return params


def explorer_parameters() -> list[dict]:
    """A permalink, or a form edit of the explorer (``app.edits``)."""
    return [
        *link_parameters(),
        _query("from", {"type": "string"}, "Canonical query of the state being edited"),
        _query(
            "edits",
            {"type": "object", "additionalProperties": {"type": "string"}},
            "Form controls: r.<register>, f.<register>.<Field>, m.<address>, c.<choice>",
            style="form",
            explode=True,
        ),
        _query("flip", {"type": "array", "items": {"type": "string"}}, "Bit flips", explode=True),
        _query(
            "act", {"type": "array", "items": {"type": "string"}}, "Quick actions", explode=True
        ),
        _query("load", {"type": "string"}, "Load a whole preset"),
        _query(
            "goto",
            {"type": "string"},
            "Show another state whole: its link query (the browser's Back and Forward, Undo)",
        ),
        {
            "name": "HX-Request",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "enum": ["true"]},
            "description": "Sent by htmx: answer a fragment of the changed regions",
        },
    ]


# A link whose memory image this server does not serve (app.images).
IMAGE_NEEDED = {"description": "The link reads a memory image this server does not have"}


def _walk_json_responses() -> dict:
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/WalkResponse"}}}
    return {
        "200": {"description": "The walk", "content": ref},
        "400": {"description": "Parts of the link were dropped (see problems)", "content": ref},
        "404": {**IMAGE_NEEDED, "content": JSON_ERROR},
    }


def _ptdump_responses(content: dict) -> dict:
    return {
        "200": {"description": "Every mapping of the state's regime", "content": content},
        "400": {"description": "The link reads no memory image", "content": content},
        "404": {**IMAGE_NEEDED, "content": content},
        "422": {"description": "Parts of the link were dropped (listed)", "content": content},
    }


# (method, path) -> parameters and responses. Responses listed here replace FastAPI's.
ROUTE_DOCS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/"): {
        "summary": "The explorer page; a permalink or a form edit",
        "parameters": explorer_parameters,
        "responses": {
            "200": {
                "description": "The page, or (htmx) a fragment",
                "content": HTML,
                "headers": HX_PUSH_URL,
            },
            "303": {
                "description": "A form edit without htmx: to the new link",
                "headers": LOCATION,
            },
            "404": {**IMAGE_NEEDED, "content": {**HTML, **JSON_ERROR}},
            "422": {"description": "Parts of the link dropped, or a bad edit", "content": HTML},
        },
    },
    ("GET", "/walk.txt"): {
        "parameters": link_parameters,
        "responses": {
            "200": {"description": "The walk as plain text", "content": TEXT},
            "400": {"description": "Parts of the link were dropped", "content": TEXT},
            "404": {**IMAGE_NEEDED, "content": TEXT},
        },
    },
    ("GET", "/walk.json"): {"parameters": link_parameters, "responses": _walk_json_responses},
    ("GET", "/ptdump.txt"): {
        "parameters": link_parameters,
        "responses": lambda: _ptdump_responses(TEXT),
    },
    ("GET", "/ptdump.json"): {
        "parameters": link_parameters,
        "responses": lambda: _ptdump_responses(JSON_ERROR),
    },
    ("POST", "/s"): {
        "responses": {
            "200": {
                "description": "(htmx) the short-link slot of the share panel",
                "content": HTML,
            },
            "303": {"description": "To the short link's page", "headers": LOCATION},
            "400": {"description": "The link could not be read; nothing stored", "content": HTML},
            "422": {"description": "No query field", "content": JSON_ERROR},
            "429": {"description": "Too many short links from this client", "content": HTML},
            "503": {"description": "The store cannot take links now (why)", "content": HTML},
            "507": {"description": "The store holds its quota of links", "content": HTML},
        },
    },
    ("GET", "/s/{link_id}"): {
        "responses": {
            "303": {"description": "To the full-state link", "headers": LOCATION},
            "404": {"description": "Unknown short link", "content": HTML},
            "503": {"description": "The store cannot be read now (why)", "content": HTML},
        },
    },
    ("GET", "/s/{link_id}/info"): {
        "summary": "Both links of a short link",
        "responses": {
            "200": {"description": "The short and full links", "content": HTML},
            "404": {"description": "Unknown short link", "content": HTML},
            "503": {"description": "The store cannot be read now (why)", "content": HTML},
        },
    },
    ("GET", "/compare"): {
        "responses": {
            "200": {"description": "The two walks side by side", "content": HTML},
            "422": {"description": "Parts of a link were dropped (listed)", "content": HTML},
        },
    },
    ("GET", "/readyz"): {
        "responses": {
            "200": {"description": "Short links can be made", "content": JSON_STATUS},
            "503": {"description": "They cannot; `reason` says why", "content": JSON_STATUS},
        },
    },
    ("POST", "/api/walk"): {
        "responses": {
            "200": {
                "description": "The walk",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/WalkResponse"}}
                },
            },
            "400": {"description": "The body is not JSON", "content": JSON_ERROR},
            "422": {
                "description": "The request is not valid; `detail` says which field",
                "content": JSON_ERROR,
            },
        },
    },
    ("GET", "/tour/{n}"): {
        "responses": {
            "200": {"description": "Step n of the tour", "content": HTML},
            "404": {"description": "No such step", "content": HTML},
            "422": {
                "description": "n is not a number (JSON), or an unknown kernel release (the "
                "step for current mainline, with the reason)",
                "content": {**JSON_ERROR, **HTML},
            },
        },
    },
    ("GET", "/matrix"): {
        "responses": {
            "200": {"description": "The matrix for a kernel release", "content": HTML},
            "422": {
                "description": "Unknown kernel release: the matrix for current mainline, with "
                "the reason",
                "content": HTML,
            },
        },
    },
    ("GET", "/decode"): {
        "responses": {
            "200": {"description": "The decoder", "content": HTML},
            "422": {"description": "The value cannot be decoded", "content": HTML},
        },
    },
}
HTML_PAGES = ("/tour", "/compare", "/geometry", "/matrix", "/glossary")


def _resolve(value: Any) -> Any:
    return value() if callable(value) else value


def _with_limits(responses: dict[str, Any]) -> dict[str, Any]:
    out = dict(responses)
    for status, response in LIMIT_RESPONSES.items():
        if status in out:
            merged = dict(out[status])
            merged["content"] = {**merged.get("content", {}), **response["content"]}
            out[status] = merged
        else:
            out[status] = response
    return out


def openapi_schema(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema of ``app`` with the hand-read parameters and every answer added."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            docs = ROUTE_DOCS.get((method.upper(), path), {})
            if "parameters" in docs:
                operation["parameters"] = [
                    *operation.get("parameters", []),
                    *_resolve(docs["parameters"]),
                ]
            if "summary" in docs:
                operation["summary"] = docs["summary"]
            if "responses" in docs:
                operation["responses"] = _resolve(docs["responses"])
            elif path in HTML_PAGES:
                responses = {"200": {"description": "The page", "content": HTML}}
                if "422" in operation["responses"]:
                    responses["422"] = operation["responses"]["422"]
                operation["responses"] = responses
            operation["responses"] = _with_limits(operation["responses"])
    app.openapi_schema = schema
    return schema


_DOCS_PAGE = """{% extends "base.html" %}
{% block title %}API - LPA2 Explorer{% endblock %}
{% block main %}
<h1>{{ schema.info.title }} {{ schema.info.version }}: routes</h1>
<p>{{ schema.info.description }} The machine-readable schema is
<a href="/openapi.json">/openapi.json</a> (OpenAPI {{ schema.openapi }}).</p>
{% for path, item in schema.paths.items() %}{% for method, op in item.items() %}
<section class="api-op">
<h2><code>{{ method | upper }} {{ path }}</code>
{%- if op.summary %}: {{ op.summary }}{% endif %}</h2>
{% if op.description %}<p>{{ op.description }}</p>{% endif %}
{% if op.parameters %}<ul>{% for p in op.parameters %}
<li><code>{{ p.name }}</code> ({{ p.in }})
{%- if p.description %}: {{ p.description }}{% endif %}</li>
{% endfor %}</ul>{% endif %}
{% if op.requestBody %}<p>Body: {{ op.requestBody.content | join(", ") }}</p>{% endif %}
<ul>{% for status, r in op.responses.items() %}
<li>{{ status }} {{ r.description }}
{%- if r.content %} ({{ r.content | join(", ") }}){% endif %}</li>
{% endfor %}</ul>
</section>
{% endfor %}{% endfor %}
{% endblock %}"""


def install(app: FastAPI) -> None:
    """Serve ``openapi_schema(app)`` at /openapi.json, and a plain page of it at /docs.

    FastAPI's own /docs (Swagger UI) loads its script and style from a CDN and runs an inline
    script, which the Content-Security-Policy of every answer blocks; this page needs neither.
    """
    from fastapi.responses import HTMLResponse

    from app.templating import templates

    app.openapi = lambda: openapi_schema(app)  # type: ignore[method-assign]
    page = templates.env.from_string(_DOCS_PAGE)

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs() -> HTMLResponse:
        return HTMLResponse(page.render(schema=openapi_schema(app)))


def operations(app: FastAPI) -> set[tuple[str, str]]:
    """(METHOD, path) of every route the schema must show: all but static files and docs."""
    out = set()
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path not in ("/tour/", "/docs"):
            out.update((method, route.path) for method in route.methods)
    return out
