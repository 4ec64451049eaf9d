"""JSON answers that are safe to send to anyone, and the error handlers that use them.

* ``SafeJSONResponse`` writes ``<``, ``>`` and ``&`` as ``\\u003c``, ``\\u003e`` and ``\\u0026``
  (still the same JSON), so a value a client sent can never turn into markup, even in a
  browser that sniffs, or in a page that embeds the document; and it refuses NaN and infinity,
  which are not JSON.
* Validation errors (422) list what is wrong (``type``, ``loc``, ``msg``) without echoing the
  input back: an echoed input is a reflection vector, and a JSON number such as ``1e999``
  (read as infinity) cannot even be written out again, which turned such a request into a 500.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}


class SafeJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        text = json.dumps(
            content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
        )
        return text.translate(_ESCAPES).encode("utf-8")


def _finite(value: Any) -> Any:
    """``value`` with floats that JSON cannot carry (inf, nan) written as strings."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


async def validation_error(request: Request, exc: Exception) -> SafeJSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = [
        {"type": e.get("type"), "loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))}
        for e in exc.errors()
    ]
    return SafeJSONResponse({"detail": _finite(jsonable_encoder(detail))}, status_code=422)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = getattr(exc, "headers", None)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=headers)
    return SafeJSONResponse(
        {"detail": _finite(jsonable_encoder(exc.detail))},
        status_code=exc.status_code,
        headers=headers,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
