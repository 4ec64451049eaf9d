"""Property tests of the service boundary: whatever bytes come in the query string or the form
body of the explorer and link routes, the answer is a 2xx, 3xx or 4xx with a readable message
(never a 5xx, never an empty or undecodable error)."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.main import create_app
from app.state import CHOICE_PARAMS, REGISTER_PARAMS
from tests.security.asgi import Answer, call

APP = create_app()
SETTINGS = settings(
    max_examples=120, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)

KNOWN_KEYS = [
    "v",
    "preset",
    "regime",
    "cpu",
    "access",
    "va",
    "mem",
    "from",
    "flip",
    "act",
    "load",
    *REGISTER_PARAMS,
    *(f"r.{p}" for p in REGISTER_PARAMS),
    *CHOICE_PARAMS,
    "f.tcr_el1.T0SZ",
    "f.tcr_el1.DS",
    "f.tcr_el1.TG0",
    "f.ttbr0_el1.BADDR",
    "m.0x41234000",
    "a",
    "b",
    "reg",
    "value",
    "level",
    "variant",
    "granule",
    "fmt",
    "valid",
    "query",
]

numbers = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.integers(min_value=0, max_value=2**130).map(hex),
    st.integers(min_value=0, max_value=2**70).map(bin),
    st.sampled_from(
        [
            "0x",
            "0b",
            "-0x1",
            "1e308",
            "NaN",
            "inf",
            "0x" + "f" * 4000,
            "9" * 5000,
            "0x_",
            "__",
            " 0x1 ",
            "٣",
            "0x١",
            "0xＦ",
            "¹",
        ]
    ),
)
texts = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
    st.sampled_from(
        [
            "4k-52-lpa2",
            "el10_s12",
            "stage2",
            "el1w",
            "max",
            "1",
            "feat_lpa2",
            "r.tcr_el1:3",
            "m.0x41234000:0",
            "va:63",
            "va:64",
            "va:-1",
            "0x0:clear_af",
            ":",
            "::",
            "=",
            "&",
            "%",
            "%zz",
            "\x00",
            "\r\n",
        ]
    ),
)
values = st.one_of(numbers, texts, numbers.map(lambda n: f"{n}:{n}"))
keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=20))
pairs = st.lists(st.tuples(keys, values), max_size=30)


def encode_pairs(items: list[tuple[str, str]]) -> bytes:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in items).encode()


raw_queries = st.one_of(
    pairs.map(encode_pairs),
    st.binary(max_size=600),
    # repeated parameters and parameters without '='
    st.lists(
        st.sampled_from(
            [
                b"v=2",
                b"mem",
                b"mem=",
                b"from",
                b"from=",
                b"va",
                b"=",
                b"&&",
                b"preset=4k-52-lpa2",
                b"flip=va:3",
                b"%FF%FE",
                b"a=%C0%AF",
            ]
        ),
        max_size=40,
    ).map(b"&".join),
)

GET_ROUTES = [
    "/",
    "/walk.txt",
    "/walk.json",
    "/compare",
    "/decode",
    "/matrix",
    "/tour",
    "/s/abcdefg",
    "/s/abcdefg/info",
]
htmx = st.sampled_from([[], [(b"hx-request", b"true")]])


@pytest.fixture(scope="module", autouse=True)
def data_dir(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LPA2_DATA_DIR", str(tmp_path_factory.mktemp("boundary-data")))
        yield


def assert_readable(answer: Answer, what: object) -> None:
    assert 200 <= answer.status < 500, (answer.status, what, answer.body[:300])
    if 300 <= answer.status < 400:
        location = answer.header("location")
        assert location and location.isascii() and location.isprintable(), (location, what)
        return
    text = answer.text  # UTF-8 or it raises
    if answer.status >= 400:
        assert text.strip(), (answer.status, what)
        kind = answer.header("content-type") or ""
        if kind.startswith("application/json"):
            data = json.loads(text)
            assert data.get("detail") or data.get("problems"), (text, what)
        else:
            assert kind.startswith(("text/plain", "text/html")), (kind, what)


@SETTINGS
@given(route=st.sampled_from(GET_ROUTES), query=raw_queries, headers=htmx)
def test_any_query_string(route, query, headers):
    assert_readable(call(APP, "GET", route, query=query, headers=headers), (route, query))


@SETTINGS
@given(
    query=pairs.map(encode_pairs),
    headers=htmx,
    start=st.sampled_from(["", "preset=4k-52-lpa2", "regime=el10_s12"]),
)
def test_any_explorer_edit(query, headers, start):
    """A form edit (``from`` present) with any controls, with and without htmx."""
    body = b"from=" + quote(start, safe="").encode() + (b"&" + query if query else b"")
    assert_readable(call(APP, "GET", "/", query=body, headers=headers), body)


form_bodies = st.one_of(
    st.binary(max_size=600),
    pairs.map(encode_pairs),
    pairs.map(lambda p: encode_pairs([("query", encode_pairs(p).decode())])),
    st.text(max_size=300).map(lambda t: b"query=" + quote(t).encode()),
)
content_types = st.sampled_from(
    [
        b"application/x-www-form-urlencoded",
        b"multipart/form-data",
        b"multipart/form-data; boundary=x",
        b"application/json",
        b"text/plain",
        b"",
        b"application/x-www-form-urlencoded; charset=latin-1",
    ]
)


@SETTINGS
@given(body=form_bodies, kind=content_types, headers=htmx)
def test_any_short_link_form(body, kind, headers):
    answer = call(APP, "POST", "/s", headers=[(b"content-type", kind), *headers], body=body)
    assert_readable(answer, (kind, body))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.text(max_size=20)
    | st.floats(allow_nan=False),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
api_fields = st.fixed_dictionaries(
    {},
    optional={
        "preset": st.one_of(st.sampled_from(["4k-52-lpa2", "s2-l-1-sl2"]), json_values),
        "regime": st.one_of(st.sampled_from(["el10_s12", "stage2"]), json_values),
        "cpu": json_values,
        "access": json_values,
        "address": st.one_of(numbers, json_values),
        "registers": st.dictionaries(
            st.sampled_from(list(REGISTER_PARAMS)) | st.text(max_size=8),
            numbers | json_values,
            max_size=5,
        ),
        "memory": st.dictionaries(numbers, numbers | json_values, max_size=5),
        "choices": st.dictionaries(
            st.sampled_from(list(CHOICE_PARAMS)) | st.text(max_size=8), json_values, max_size=3
        ),
    },
)


@SETTINGS
@given(body=st.one_of(api_fields, json_values))
def test_any_api_body(body):
    raw = json.dumps(body).encode()
    answer = call(
        APP, "POST", "/api/walk", headers=[(b"content-type", b"application/json")], body=raw
    )
    assert_readable(answer, body)


@SETTINGS
@given(link_id=st.text(max_size=80), tail=st.sampled_from(["", "/info"]))
def test_any_short_link_id(link_id, tail):
    path = "/s/" + link_id.replace("/", "") + tail
    assert_readable(call(APP, "GET", path), path)


@SETTINGS
@given(n=st.one_of(st.integers().map(str), st.text(max_size=30)))
def test_any_tour_step(n):
    path = "/tour/" + n.replace("/", "")
    assert_readable(call(APP, "GET", path), path)
