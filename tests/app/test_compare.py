"""Compare from anywhere: the explorer's "Compare with…", the pickers of /compare, links pasted
in any form (full, relative, short, wrapped by a mail client), and tints only on rows that
differ."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest

from app.links import link_store, parse_link
from app.state import decode, encode
from model.explore.compare import flip_ds, other_granule
from model.explore.configs import CONFIG_PRESETS

LPA2 = CONFIG_PRESETS["4k-52-lpa2"]
L48 = CONFIG_PRESETS["4k-48"]


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LPA2_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LPA2_PUBLIC_URL", raising=False)


def sides(location: str) -> tuple[str, str]:
    """The a and b link queries of a /compare address."""
    assert location.startswith("/compare?"), location
    q = parse_qs(urlsplit(location).query)
    return q["a"][0], q["b"][0]


def test_explorer_offers_compare_with_the_current_state(client):
    query = encode(LPA2.with_registers(TCR_EL1=LPA2.registers["TCR_EL1"] ^ 1 << 40))
    page = client.get(f"/?{query}").text
    form = re.search(r'<form class="compare-form" method="get" action="/compare">(.*?)</form>',
                     page, re.S)[1]  # fmt: skip
    assert f'id="compare-a" name="a" value="{html.escape(query)}"' in form
    options = re.findall(r'<option value="([^"]+)"', form)
    assert options[:2] == ["with:ds", "with:granule"]
    assert len(options) == 2 + len(CONFIG_PRESETS)
    assert 'name="b_link"' in form
    # The form is not inside the explorer form (forms do not nest).
    explorer = re.search(r'<form id="explorer".*?</form>', page, re.S)[0]
    assert 'id="compare-with"' not in explorer


@pytest.mark.parametrize(
    ("variant", "make"), [("with:ds", flip_ds), ("with:granule", other_granule)]
)
def test_a_variant_redirects_to_the_canonical_pair(client, variant, make):
    a = encode(L48)
    answer = client.get("/compare", params={"a": a, "b": variant}, follow_redirects=False)
    assert answer.status_code == 303
    assert sides(answer.headers["location"]) == (a, encode(make(L48)))
    page = client.get(answer.headers["location"])
    assert page.status_code == 200


def test_pasted_links_of_every_form(client):
    a, b = encode(LPA2), encode(L48)
    link_id = link_store().put(b)
    wrapped = f"<http://lpa2.example.org/?{b[:6]}\n  {b[6:]}>"
    for pasted in (
        f"https://lpa2.example.org/?{b}",
        f"/?{b}",
        b,
        wrapped,
        f"http://testserver/s/{link_id}",
        f"/s/{link_id}",
        link_id,
    ):
        answer = client.get("/compare", params={"a": a, "b_link": pasted}, follow_redirects=False)
        assert answer.status_code == 303, (pasted, answer.text[:300])
        assert sides(answer.headers["location"]) == (a, b), pasted
    # A pasted A wins over the picked one.
    answer = client.get(
        "/compare", params={"a": a, "a_link": f"/?{b}", "b": a}, follow_redirects=False
    )
    assert sides(answer.headers["location"]) == (b, a)


def test_a_bad_pasted_link_is_a_422_that_keeps_what_was_typed(client):
    a = encode(LPA2)
    for pasted, said in (
        ("https://lpa2.example.org/s/Zz9Zz9Zz", "no walk is stored under the short link"),
        ("mailto:someone@example.org", "is not a link to this explorer"),
        ("/?v=2&tcr_el1=zz", "b: tcr_el1=zz"),
    ):
        page = client.get("/compare", params={"a": a, "b_link": pasted})
        assert page.status_code == 422, pasted
        assert said in html.unescape(page.text), pasted
        assert f'name="b_link" value="{html.escape(pasted)}"' in page.text


def test_parse_link_rejoins_and_rejects():
    assert parse_link("<https://h/?v=2&va=\n  0x1000>").query == "v=2&va=0x1000"
    assert parse_link("<URL:https://h/?v=2>").query == "v=2"
    assert parse_link("https://h/s/AbCdEfG").short_id == "AbCdEfG"
    assert parse_link("https://h/s/AbCdEfG").base == "https://h"
    for bad in ("", "   ", "https://h/s/!!", "https://h/tour/3"):
        with pytest.raises(ValueError):
            parse_link(bad)


def tinted_levels(page: str) -> list[str]:
    table = re.search(r'<h2 id="lv-title">.*?</table>', page, re.S)[0]
    return re.findall(r'<tr class="[^"]*onb-changed[^"]*" data-level="([^"]+)"', table)


def tinted_walk_rows(page: str, side: str) -> list[str]:
    section = re.search(rf'<h2 id="w{side}-title">.*?</section>', page, re.S)[0]
    return [
        r.strip()
        for r in re.findall(r"<tr class=\"onb-changed\">\s*<th scope=\"row\">([^<]*)", section)
    ]


def test_only_differing_rows_are_tinted(client):
    same = client.get("/compare", params={"a": encode(LPA2), "b": encode(LPA2)}).text
    assert tinted_levels(same) == [] and tinted_walk_rows(same, "a") == []
    assert "onb-changed" not in same
    # Another address: every level reads another entry of the same layout. The level table
    # (index bits, types, meanings) has nothing to tint; the walks differ from level 0 on.
    other = replace(LPA2, address=LPA2.address ^ 1 << 39)
    page = client.get("/compare", params={"a": encode(LPA2), "b": encode(other)}).text
    assert "same layout" in page
    assert tinted_levels(page) == []
    assert tinted_walk_rows(page, "a") == tinted_walk_rows(page, "b") == ["L0", "L1", "L2", "L3"]
    # DS flipped on a 48-bit walk: every level's descriptor bits [9:8] change meaning.
    flipped = client.get("/compare", params={"a": encode(L48), "b": "with:ds"})
    page = client.get(flipped.url).text
    assert tinted_levels(page) == ["1:0", "1:1", "1:2", "1:3"]


def test_pickers_select_the_shown_walks(client):
    page = client.get("/compare", params={"a": encode(L48), "b": encode(LPA2)}).text
    picked = dict(re.findall(r'<select id="cmp-([ab])" name="[ab]">.*?<option value="([^"]+)"'
                             r"[^>]*selected", page, re.S))  # fmt: skip
    assert {k: html.unescape(v) for k, v in picked.items()} == {"a": encode(L48), "b": encode(LPA2)}
    assert decode(encode(L48)).ok
