"""No script injection: markup sent in any parameter, field name, field value, path segment or
API field comes back inert in every kind of answer.

* HTML pages and htmx fragments: no payload tag or event-handler attribute survives unescaped
  (titles, error messages, inputs' values, links), and no ``javascript:`` URL.
* JSON: ``<`` and ``>`` never appear raw (``app.errors.SafeJSONResponse`` writes \\u003c).
* Plain text: served as ``text/plain`` with ``nosniff``, so the browser shows it as text.
* Headers (``Location``, ``HX-Push-Url``, ...): no markup, quote or line break.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlencode

import pytest

from app.main import create_app
from app.state import CHOICE_PARAMS, REGISTER_PARAMS, encode
from model.explore.configs import CONFIG_PRESETS
from tests.security.asgi import Answer, call

APP = create_app()

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "0x1<script>alert(1)</script>",
    "javascript:alert(1)",
    "</textarea><script>alert(1)</script>",
]
# Payloads that can stand in a path segment (no '/').
PATH_PAYLOADS = ['"><img src=x onerror=alert(1)>', "'><svg onload=alert(1)>", "<b>x</b>"]
ACTIVE = re.compile(
    r"<script>alert|<img src=x|<svg onload|<b>x</b>|"
    r"""(?:href|src|action|formaction)\s*=\s*["']?\s*javascript:""",
    re.IGNORECASE,
)
BAD_HEADER = re.compile(r"""[<>"'\r\n]""")


@pytest.fixture(scope="module", autouse=True)
def data_dir(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LPA2_DATA_DIR", str(tmp_path_factory.mktemp("xss-data")))
        patch.delenv("LPA2_PUBLIC_URL", raising=False)
        yield


def assert_inert(answer: Answer, what: object) -> None:
    assert answer.status < 500, (answer.status, what, answer.body[:300])
    for name, value in answer.headers:
        if name.lower() in (b"content-security-policy", b"x-content-type-options"):
            continue
        text = value.decode("latin-1")
        assert not BAD_HEADER.search(text), (name, text, what)
    kind = answer.header("content-type") or ""
    body = answer.body.decode("utf-8")
    if kind.startswith("text/html"):
        found = ACTIVE.search(body)
        assert found is None, (what, body[max(0, found.start() - 200) : found.end() + 100])
    elif kind.startswith("application/json"):
        assert "<" not in body and ">" not in body, (what, body[:300])
        json.loads(body)
    elif body:
        assert kind.startswith("text/plain"), (kind, what)
        assert answer.header("x-content-type-options") == "nosniff"


def get(path: str, query: str = "", htmx: bool = False) -> Answer:
    headers = [(b"hx-request", b"true")] if htmx else []
    return call(APP, "GET", path, query=query.encode(), headers=headers)


def form_names(query: str) -> set[str]:
    """Every control name the explorer page offers for a state."""
    page = get("/", query).text
    names = set(re.findall(r'<(?:input|select|textarea|button)[^>]*\bname="([^"]+)"', page))
    assert {"from", "va", "flip"} <= names, names
    return names


LINK_PARAMS = ["v", "preset", "regime", "cpu", "access", "va", "mem", *REGISTER_PARAMS]
LINK_PARAMS += list(CHOICE_PARAMS)


def rotate(i: int) -> str:
    return PAYLOADS[i % len(PAYLOADS)]


def test_link_parameters():
    i = 0
    for param in LINK_PARAMS:
        values = ["0x41234000:{}", "{}:0x1", "{}"] if param == "mem" else ["{}"]
        for value in values:
            for path, htmx in (("/", False), ("/", True), ("/walk.txt", False), ("/walk.json", 0)):
                i += 1
                query = urlencode([("v", "1"), (param, value.format(rotate(i)))])
                assert_inert(get(path, query, htmx=bool(htmx)), (path, query))
    # every parameter at once, and payloads as parameter names
    for payload in PAYLOADS:
        everything = urlencode([(p, payload) for p in LINK_PARAMS] + [(payload, payload)])
        for path in ("/", "/walk.txt", "/walk.json"):
            assert_inert(get(path, everything), (path, everything))


@pytest.mark.parametrize("preset", ["4k-52-lpa2", "s1-48-over-s2-52"])
def test_every_explorer_form_field(preset):
    start = encode(CONFIG_PRESETS[preset])
    names = form_names(start) - {"from", "apply", "query"}
    names |= {f"m.{PAYLOADS[1]}", f"f.tcr_el1.{PAYLOADS[0]}", f"r.{PAYLOADS[2]}", PAYLOADS[0]}
    i = 0
    for name in sorted(names):
        values = ["{}"]
        if name in ("flip", "act"):
            values += ["m.0x41234120:{}", "{}:3", "va:{}", "0x41234120:{}"]
        for value in values:
            for htmx in (True, False):
                i += 1
                query = urlencode([("from", start), (name, value.format(rotate(i)))])
                assert_inert(get("/", query, htmx=htmx), query)
    for payload in PAYLOADS:
        every = urlencode([("from", start)] + [(n, payload) for n in sorted(names)])
        assert_inert(get("/", every, htmx=True), every)
        assert_inert(get("/", every), every)
        assert_inert(get("/", urlencode([("from", payload), ("va", "0x1")]), htmx=True), payload)
        assert_inert(get("/", urlencode([("from", payload), ("va", "0x1")])), payload)


def test_an_accepted_edit_is_escaped_in_push_url_and_location():
    start = encode(CONFIG_PRESETS["4k-52-lpa2"])
    for payload in PAYLOADS:
        # accepted edits whose state holds no payload, but the request carries some
        query = urlencode([("from", start), ("va", "0x1234"), (payload, payload)])
        htmx = get("/", query, htmx=True)
        assert htmx.status == 200 and htmx.header("hx-push-url")
        assert_inert(htmx, query)
        plain = get("/", query)
        assert plain.status == 303
        assert_inert(plain, query)


@pytest.mark.parametrize("payload", PATH_PAYLOADS)
def test_short_link_ids_tour_steps_and_unknown_paths(payload):
    segment = payload
    for path in (f"/s/{segment}", f"/s/{segment}/info", f"/tour/{segment}", f"/{segment}"):
        assert_inert(call(APP, "GET", path), path)
        assert_inert(call(APP, "GET", path, headers=[(b"hx-request", b"true")]), path)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_decoder_inputs(payload):
    fields = ["reg", "value", "level", "variant", "granule", "fmt"]
    for field in fields:
        for base in ({}, {"reg": "TCR_EL1", "value": "0x1"}, {"reg": "desc", "value": "0x3"}):
            query = urlencode({**base, field: payload})
            assert_inert(get("/decode", query), query)
    assert_inert(get("/decode", urlencode({f: payload for f in fields})), payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_compare_a_and_b(payload):
    for a, b in (
        (payload, ""),
        ("", payload),
        (f"preset={quote(payload)}", f"va={quote(payload)}"),
        (urlencode({"regime": payload, "mem": payload}), urlencode({"tcr_el1": payload})),
    ):
        query = urlencode({"a": a, "b": b})
        assert_inert(get("/compare", query), query)
    assert_inert(get("/matrix", urlencode({"valid": payload})), payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_short_link_form(payload):
    for query in (payload, f"v=2&preset={quote(payload)}", f"v=2&mem={quote(payload)}"):
        body = urlencode({"query": query}).encode()
        for htmx in ([], [(b"hx-request", b"true")]):
            headers = [(b"content-type", b"application/x-www-form-urlencoded"), *htmx]
            assert_inert(call(APP, "POST", "/s", headers=headers, body=body), query)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_api_fields(payload):
    fields = ["preset", "regime", "cpu", "access", "address"]
    bodies = [{f: payload} for f in fields]
    bodies += [
        {"registers": {payload: "0x1"}},
        {"registers": {"TCR_EL1": payload}},
        {"memory": {payload: "0x1"}},
        {"memory": {"0x41234000": payload}},
        {"choices": {payload: "x"}},
        {"choices": {"ds_validity": payload}},
        {"cpu": {"id_aa64mmfr0_el1": payload}},
        {"cpu": {payload: 1}},
        {payload: payload},
        [payload],
    ]
    headers = [(b"content-type", b"application/json")]
    for body in bodies:
        raw = json.dumps(body).encode()
        answer = call(APP, "POST", "/api/walk", headers=headers, body=raw)
        assert 400 <= answer.status < 500, (answer.status, body)
        assert_inert(answer, body)
    broken = payload.encode() + b"{"
    assert_inert(call(APP, "POST", "/api/walk", headers=headers, body=broken), broken)


def test_the_checker_sees_an_unescaped_payload():
    html = [(b"content-type", b"text/html; charset=utf-8")]
    for body in (b"<p><script>alert(1)</script></p>", b'<a href="javascript:alert(1)">x</a>'):
        with pytest.raises(AssertionError):
            assert_inert(Answer(200, html, body), body)
    with pytest.raises(AssertionError):
        assert_inert(Answer(200, [(b"content-type", b"application/json")], b'{"a":"<b>"}'), 0)
    with pytest.raises(AssertionError):
        assert_inert(Answer(303, [(b"location", b'/?a="><svg onload=x>')], b""), 0)
    escaped = b"<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
    assert_inert(Answer(200, html, escaped), escaped)
