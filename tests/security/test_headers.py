"""Every kind of answer carries the hardening headers; pages carry no inline script or style;
static files have versioned names and a year-long cache lifetime; answers are compressed with
Brotli or gzip, whichever the client accepts (Brotli first)."""

from __future__ import annotations

import gzip
import re
from urllib.parse import urlencode

import brotli
import pytest
from fastapi import FastAPI

from app.assets import htmx_path, static_url
from app.main import create_app
from app.security import MAX_BODY_BYTES, MAX_QUERY_BYTES
from app.state import encode
from model.explore.configs import CONFIG_PRESETS
from tests.security.asgi import Answer, call

APP = create_app()
START = encode(CONFIG_PRESETS["4k-52-lpa2"])
HTMX = [(b"hx-request", b"true")]
BROWSER = [(b"accept-encoding", b"gzip, deflate, br")]


@pytest.fixture(scope="module", autouse=True)
def data_dir(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LPA2_DATA_DIR", str(tmp_path_factory.mktemp("headers-data")))
        yield


def short_link_id() -> str:
    form = [(b"content-type", b"application/x-www-form-urlencoded")]
    answer = call(APP, "POST", "/s", headers=form, body=urlencode({"query": START}).encode())
    assert answer.status == 303
    return answer.header("location").split("/")[2]


def kinds() -> dict[str, tuple[Answer, int]]:
    """One answer of every kind, with the status it must have."""
    link_id = short_link_id()
    edit = urlencode({"from": START, "va": "0x1234"}).encode()
    bad_edit = urlencode({"from": START, "va": "zz"}).encode()
    form = [(b"content-type", b"application/x-www-form-urlencoded")]
    return {
        "page": (call(APP, "GET", "/", query=START.encode()), 200),
        "fragment": (call(APP, "GET", "/", query=edit, headers=HTMX), 200),
        "fragment 422": (call(APP, "GET", "/", query=bad_edit, headers=HTMX), 422),
        "redirect": (call(APP, "GET", "/", query=edit), 303),
        "txt": (call(APP, "GET", "/walk.txt", query=START.encode()), 200),
        "json": (call(APP, "GET", "/walk.json", query=START.encode()), 200),
        "api": (
            call(
                APP,
                "POST",
                "/api/walk",
                headers=[(b"content-type", b"application/json")],
                body=b'{"preset": "4k-52-lpa2"}',
            ),
            200,
        ),
        "api 422": (
            call(
                APP,
                "POST",
                "/api/walk",
                headers=[(b"content-type", b"application/json")],
                body=b'{"preset": 1}',
            ),
            422,
        ),
        "bad link 400": (call(APP, "GET", "/walk.txt", query=b"v=2&va=zz"), 400),
        "bad link page 422": (call(APP, "GET", "/", query=b"v=2&va=zz"), 422),
        "short link": (call(APP, "GET", f"/s/{link_id}"), 303),
        "short link info": (call(APP, "GET", f"/s/{link_id}/info"), 200),
        "short link htmx": (
            call(APP, "POST", "/s", headers=form + HTMX, body=urlencode({"query": START}).encode()),
            200,
        ),
        "unknown short link 404": (call(APP, "GET", "/s/zzzzzzz"), 404),
        "unknown route 404": (call(APP, "GET", "/nowhere"), 404),
        "tour 404": (call(APP, "GET", "/tour/999"), 404),
        "method 405": (call(APP, "DELETE", "/walk.txt"), 405),
        "413 query": (call(APP, "GET", "/", query=b"a=" + b"1" * MAX_QUERY_BYTES), 413),
        "413 body": (call(APP, "POST", "/s", headers=form, body=b"q" * (MAX_BODY_BYTES + 1)), 413),
        "413 chunked body": (
            call(APP, "POST", "/s", headers=form, body=b"q" * (MAX_BODY_BYTES + 1), chunks=8),
            413,
        ),
        "422 params": (call(APP, "GET", "/walk.txt", query=b"&".join([b"v=2"] * 300)), 422),
        "static css": (call(APP, "GET", "/static/css/app.css", query=b"v=2"), 200),
        "static htmx": (call(APP, "GET", htmx_path()), 200),
        "static 404": (call(APP, "GET", "/static/nothing.js"), 404),
        "healthz": (call(APP, "GET", "/healthz"), 200),
        "openapi": (call(APP, "GET", "/openapi.json"), 200),
        "onboarding page": (call(APP, "GET", "/geometry"), 200),
        "docs": (call(APP, "GET", "/docs"), 200),
        "decoder 422": (call(APP, "GET", "/decode", query=b"reg=TCR_EL1&value=zz"), 422),
    }


@pytest.fixture(scope="module")
def answers() -> dict[str, tuple[Answer, int]]:
    return kinds()


def csp_directives(answer: Answer) -> dict[str, str]:
    (policy,) = answer.header_all("content-security-policy")
    out = {}
    for part in policy.split(";"):
        name, _, value = part.strip().partition(" ")
        out[name] = value
    return out


def test_every_kind_of_answer_carries_the_headers(answers):
    for kind, (answer, status) in answers.items():
        assert answer.status == status, (kind, answer.status, answer.body[:200])
        csp = csp_directives(answer)
        assert csp["script-src"] == "'self'", kind
        assert csp["style-src"] == "'self'", kind
        assert csp["frame-ancestors"] == "'none'", kind
        assert csp["object-src"] == "'none'" and csp["base-uri"] == "'none'", kind
        policy = answer.header("content-security-policy")
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, kind
        assert answer.header_all("x-content-type-options") == ["nosniff"], kind
        assert answer.header("referrer-policy") in ("no-referrer", "same-origin"), kind
        assert answer.header("x-frame-options") == "DENY", kind
        if status >= 400:
            assert answer.body.strip(), kind  # a message, never an empty error


def test_a_crash_is_a_short_500_with_the_headers():
    app: FastAPI = create_app()

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail")

    answer = call(app, "GET", "/boom")
    assert answer.status == 500
    assert "secret" not in answer.text and "Traceback" not in answer.text
    assert answer.text.startswith("Internal error")
    assert csp_directives(answer)["frame-ancestors"] == "'none'"
    assert answer.header("x-content-type-options") == "nosniff"


def test_no_inline_script_or_style_in_any_page(answers):
    for kind, (answer, _) in answers.items():
        if not (answer.header("content-type") or "").startswith("text/html"):
            continue
        html = answer.text
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert re.search(r'\bsrc="/static/', tag), (kind, tag)
        assert not re.search(r"<script\b[^>]*>\s*[^<\s]", html), kind  # no inline body
        assert not re.search(r"\son[a-z]+\s*=", html, re.IGNORECASE), kind  # no handlers
        assert not re.search(r"<style\b|\sstyle\s*=", html, re.IGNORECASE), kind
        assert "javascript:" not in html.lower(), kind
        if "<head>" in html:
            config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'', html)
            assert config, kind
            assert '"includeIndicatorStyles":false' in config.group(1), kind
            assert '"allowEval":false' in config.group(1), kind


def test_static_files_are_versioned_and_cached_for_a_year(answers):
    page = answers["page"][0].text
    urls = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert htmx_path() in urls and static_url("css/app.css") in urls
    for url in urls:
        path, _, query = url.partition("?")
        assert "v=" in query or re.search(r"-\d+\.\d+\.\d+\.min\.js$", path), url
        answer = call(APP, "GET", path, query=query.encode())
        assert answer.status == 200, url
        assert answer.header("cache-control") == "public, max-age=31536000, immutable", url
    unversioned = call(APP, "GET", "/static/css/app.css")
    assert "immutable" not in (unversioned.header("cache-control") or "")


@pytest.mark.parametrize(
    "path, query, headers",
    [
        ("/", START, []),
        ("/", urlencode({"from": START, "va": "0x1234"}), HTMX),
        ("/walk.txt", START, []),
        ("/walk.json", START, []),
        ("/geometry", "", []),
        ("/static/css/app.css", "v=2", []),
        ("/static/vendor/" + htmx_path().rsplit("/", 1)[1], "", []),
        ("/openapi.json", "", []),
    ],
)
@pytest.mark.parametrize(
    "accept, coding, decompress",
    [
        ("gzip, deflate, br", "br", brotli.decompress),
        ("gzip, deflate", "gzip", gzip.decompress),
        ("br;q=0, gzip", "gzip", gzip.decompress),
        ("*", "br", brotli.decompress),
    ],
)
def test_answers_are_compressed_when_the_client_accepts_it(
    path, query, headers, accept, coding, decompress
):
    accepts = [(b"accept-encoding", accept.encode())]
    packed = call(APP, "GET", path, query=query.encode(), headers=headers + accepts)
    assert packed.status == 200
    assert packed.header("content-encoding") == coding, path
    assert "accept-encoding" in (packed.header("vary") or "").lower(), path
    plain = call(APP, "GET", path, query=query.encode(), headers=headers)
    assert plain.header("content-encoding") is None
    assert decompress(packed.body) == plain.body
    assert len(packed.body) < len(plain.body)
    if packed.header("content-length") is not None:
        assert int(packed.header("content-length")) == len(packed.body)


def test_identity_only_clients_and_small_answers_are_not_compressed():
    refused = [(b"accept-encoding", b"gzip;q=0, br;q=0")]
    page = call(APP, "GET", "/", query=START.encode(), headers=refused)
    assert page.status == 200 and page.header("content-encoding") is None
    health = call(APP, "GET", "/healthz", headers=BROWSER)
    assert health.header("content-encoding") is None


def test_range_answers_are_not_compressed():
    """A 206 names byte offsets of the file as stored: compressing it would break them."""
    path, _, query = static_url("css/app.css").partition("?")
    headers = [(b"range", b"bytes=0-9999"), *BROWSER]
    part = call(APP, "GET", path, query=query.encode(), headers=headers)
    assert part.status == 206
    assert part.header("content-encoding") is None
    assert part.header("content-range").startswith("bytes 0-9999/")
    assert len(part.body) == 10000


@pytest.mark.parametrize(
    "accept, fast, decompress",
    [
        ("br", lambda body: brotli.compress(body, quality=0, lgwin=20), brotli.decompress),
        ("gzip", lambda body: gzip.compress(body, compresslevel=1), gzip.decompress),
    ],
)
def test_static_files_are_compressed_once_at_the_best_ratio(accept, fast, decompress):
    """Static files are a first visit's largest transfer and the same bytes every time: they
    go out at the best ratio (smaller than the fast setting answers use), the same bytes
    for every request."""
    path = htmx_path()
    headers = [(b"accept-encoding", accept.encode())]
    first = call(APP, "GET", path, headers=headers)
    again = call(APP, "GET", path, headers=headers)
    plain = call(APP, "GET", path).body
    assert first.status == again.status == 200
    assert decompress(first.body) == plain
    assert again.body == first.body
    assert len(first.body) < 0.9 * len(fast(plain))
