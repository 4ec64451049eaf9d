"""A link's version (``v``) that is not a small ASCII number: every route that reads a link
answers a 4xx that names the parameter, never a 500. ``"¹".isdigit()`` is true but ``int()``
refuses it, and ``int()`` refuses decimal strings of more than 4,300 digits."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from app.main import create_app
from tests.security.asgi import call

APP = create_app()
FORM = [(b"content-type", b"application/x-www-form-urlencoded")]
HTMX = [(b"hx-request", b"true")]

BAD_VERSIONS = {
    "superscript one": "\u00b9",
    "5,000 digits": "1" * 5000,
    "Arabic-Indic one": "\u0661",
    "fullwidth one": "\uff11",
    "negative": "-1",
    "zero": "0",
    "too new": "999999999",
}


def link(version: str) -> str:
    return urlencode({"v": version, "preset": "4k-52-lpa2"})


def routes(version: str) -> list[tuple[str, str, bytes, list]]:
    """(method, path, query or body, headers) of every route that reads a link's version."""
    bad = link(version)
    return [
        ("GET", "/", bad.encode(), []),
        ("GET", "/walk.txt", bad.encode(), []),
        ("GET", "/walk.json", bad.encode(), []),
        ("GET", "/compare", urlencode({"a": bad, "b": "v=1"}).encode(), []),
        ("GET", "/compare", urlencode({"a": "v=1", "b": bad}).encode(), []),
        ("GET", "/", urlencode({"from": bad, "va": "0x1000"}).encode(), []),
        ("GET", "/", urlencode({"from": bad, "flip": "va:12"}).encode(), HTMX),
        ("POST", "/s", urlencode({"query": bad}).encode(), FORM),
        ("POST", "/s", urlencode({"query": bad}).encode(), FORM + HTMX),
    ]


@pytest.mark.parametrize("name", BAD_VERSIONS)
def test_bad_link_version_is_a_4xx_with_a_message(name):
    version = BAD_VERSIONS[name]
    for method, path, data, headers in routes(version):
        if method == "GET":
            answer = call(APP, method, path, query=data, headers=headers)
        else:
            answer = call(APP, method, path, body=data, headers=headers)
        where = (name, method, path, data[:60])
        assert 400 <= answer.status < 500 or (
            # htmx asks for the share panel's slot: a swappable answer that says why
            method == "POST" and headers == FORM + HTMX and answer.status == 200
        ), (*where, answer.status, answer.text[:300])
        text = answer.text.replace("&#34;", '"').replace("&#39;", "'")
        assert "unknown link version" in text, (*where, text[:500])


def test_ascii_versions_still_read():
    for path in ("/", "/walk.txt", "/walk.json"):
        assert call(APP, "GET", path, query=link("1").encode()).status == 200, path
