"""Onboarding pages over HTTP: status codes, links, the decoder's error handling and that every
anchor the pages use exists."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from app.state import decode, encode
from model.explore.compare import flip_ds
from model.explore.configs import CONFIG_PRESETS
from model.teach import glossary, tour

PAGES = ["/tour", "/compare", "/geometry", "/decode", "/matrix", "/glossary"]


@pytest.mark.parametrize("url", PAGES)
def test_pages_load(client, url):
    r = client.get(url)
    assert r.status_code == 200
    assert "onboarding.css" in r.text
    assert "<script>" not in r.text and " style=" not in r.text and " onclick=" not in r.text


def test_every_tour_step_loads_with_links(client):
    for n, step in enumerate(tour.steps(), 1):
        r = client.get(f"/tour/{n}")
        assert r.status_code == 200, n
        assert f'href="/?{encode(step.config)}"'.replace("&", "&amp;") in r.text
        if n > 1:
            assert f'href="/tour/{n - 1}"' in r.text
        if n < len(tour.steps()):
            assert f'href="/tour/{n + 1}"' in r.text
        assert "In Linux terms" in r.text
    assert client.get("/tour/0").status_code == 404
    assert client.get(f"/tour/{len(tour.steps()) + 1}").status_code == 404


def test_tour_explorer_links_decode_to_the_step(client):
    for step in tour.steps():
        decoded = decode(encode(step.config))
        assert decoded.ok, decoded.problems
        assert dict(decoded.config.registers) == dict(step.config.registers)
        assert dict(decoded.config.memory) == dict(step.config.memory)
        assert decoded.config.address == step.config.address


def test_tour_highlights_the_changed_bits(client):
    r = client.get("/tour/2")
    assert "TCR_EL1" in r.text and ">DS<" in r.text and "[59]" in r.text


def test_compare_with_query(client):
    a = CONFIG_PRESETS["4k-48"]
    r = client.get("/compare", params={"a": encode(a), "b": encode(flip_ds(a))})
    assert r.status_code == 200
    assert "OA_51_50" in r.text and "SH" in r.text
    # exactly the two changed bit ranges are highlighted at each of the four levels
    assert r.text.count('<li class="onb-diff"><code>[9:8]</code>') == 4
    assert r.text.count('<li class="onb-diff"><code>[49:48]</code>') == 4
    assert r.text.count('<li class="onb-diff">') == 8
    assert r.text.count("<code>[9:8]</code>: SH → <b>OA_51_50</b>") == 1
    assert '<td class="onb-diff">' not in r.text  # no index moved, no type changed


def test_compare_buttons_point_to_variants(client):
    a = CONFIG_PRESETS["4k-52-lpa2"]
    r = client.get("/compare", params={"a": encode(a)})
    links = re.findall(r'href="(/compare\?[^"]+)"', r.text)
    assert len(links) == 3
    for link in links:
        q = parse_qs(urlsplit(link.replace("&amp;", "&")).query)
        assert decode(q["a"][0]).ok and decode(q["b"][0]).ok
        assert client.get(link.replace("&amp;", "&")).status_code == 200


def test_compare_reports_bad_links(client):
    r = client.get("/compare", params={"a": "v=2&tcr_el1=zz"})
    assert r.status_code == 422 and "a: tcr_el1=zz" in r.text


def test_geometry_links_decode(client):
    r = client.get("/geometry")
    links = re.findall(r'class="geo-link" href="([^"]+)"', r.text)
    assert len(links) > 60
    for link in links:
        assert link.startswith("/?")
        assert decode(link[2:].replace("&amp;", "&")).ok, link


def test_decoder_tolerant_input_and_permalink(client):
    r = client.get("/decode", params={"reg": "TCR_EL1", "value": "0x0800_0000 0000_0010"})
    assert r.status_code == 200
    assert 'id="permalink" href="/decode?reg=TCR_EL1&amp;value=0x800000000000010"' in r.text
    r = client.get("/decode", params={"reg": "TCR_EL1", "value": "16"})
    assert r.status_code == 200 and "T0SZ" in r.text


def test_decoder_errors_are_422_and_keep_input(client):
    r = client.get("/decode", params={"reg": "VTCR_EL2", "value": "0xZZ12"})
    assert r.status_code == 422
    assert 'value="0xZZ12"' in r.text and 'role="alert"' in r.text
    r = client.get("/decode", params={"reg": "S1_DESC", "value": "3", "level": "-1"})
    assert r.status_code == 422 and "level -1" in r.text
    r = client.get("/decode", params={"reg": "NOPE", "value": "3"})
    assert r.status_code == 422


@pytest.mark.parametrize(
    "params,expect",
    [
        ({"reg": "ESR_ELx", "value": "0x9600002b"}, "level -1"),
        ({"reg": "PAR_EL1", "value": "0x857"}, "PAR_EL1_FAULT"),
        ({"reg": "S1_DESC", "value": "0x701", "variant": "DS1", "level": "0"}, "block"),
        ({"reg": "TTBR", "value": "0x41234020", "fmt": "52"}, "BADDR_51_48"),
        ({"reg": "TCR_EL2", "value": "0x100000000"}, "DS"),
        ({"reg": "TCR_EL2_E2H", "value": "0x0800000000000000"}, "DS"),
    ],
)
def test_decoder_registers(client, params, expect):
    r = client.get("/decode", params=params)
    assert r.status_code == 200 and expect in r.text


def test_matrix_links_and_reasons(client):
    r = client.get("/matrix")
    assert "not possible" in r.text and "FEAT_LPA2" in r.text
    assert client.get("/matrix?valid=1").text.count("not possible") == 0


def test_every_anchor_used_by_the_pages_exists(client):
    glossary_html = client.get("/glossary").text
    ids = set(re.findall(r'id="([^"]+)"', glossary_html))
    for t in glossary.TERMS:
        assert t.anchor in ids
    urls = PAGES + [f"/tour/{n}" for n in range(1, len(tour.steps()) + 1)]
    urls.append("/decode?reg=S1_DESC&value=0x0042DCBA98765F47&variant=DS1&level=3")
    for url in urls:
        html = client.get(url).text
        for anchor in re.findall(r'href="/glossary#([^"]+)"', html):
            assert anchor in ids, (url, anchor)
        page_ids = set(re.findall(r'id="([^"]+)"', html))
        for anchor in re.findall(r'href="#([^"]+)"', html):
            assert anchor in page_ids or anchor == "walk", (url, anchor)


def test_glossify_links_and_escapes():
    from app.templating import glossary_link, glossify

    html = str(glossify("<b> DS=1 puts OA[51:50] in bits [9:8]"))
    assert html.startswith("&lt;b&gt;")
    assert 'href="/glossary#term-ds"' in html and 'href="/glossary#term-oa"' in html
    assert glossary_link("DS") == "/glossary#term-ds"


def test_explorer_shows_linux_names(client):
    r = client.get("/?" + encode(CONFIG_PRESETS["4k-52-lpa2"]))
    assert r.status_code == 200
    assert "In Linux terms" in r.text and "p4d" in r.text


# -- kernel releases (issue 14) -------------------------------------------------------------


def test_matrix_per_kernel_release(client):
    from model.teach import kernel_facts

    for v in kernel_facts.VERSIONS:
        r = client.get("/matrix", params={"kernel": v.tag, "valid": "1"})
        assert r.status_code == 200 and f"({v.tag})" in r.text
        # The selector works without JavaScript: a GET form and plain links.
        assert '<form class="kf-form" method="get" action="/matrix">' in r.text
        assert f'<option value="{v.tag}" selected>' in r.text
        # Every short reference points at a source listed on the page, linked at the release.
        ids = set(re.findall(r'id="(fact-[^"]+)"', r.text))
        refs = set(re.findall(r'href="#(fact-[^"]+)"', r.text))
        assert refs and refs <= ids
        assert f"https://elixir.bootlin.com/linux/{v.tag}/source/arch/arm64/" in r.text
    hyp = "lpa2-va52-nvhe-4k-pa48-va48"
    before = client.get("/matrix", params={"kernel": "v6.13"}).text
    after = client.get("/matrix", params={"kernel": "v6.14"}).text
    assert "TCR_EL2.DS=1 from kvm_lpa2_is_enabled()" in before.split(f'id="{hyp}"')[1]
    assert "TCR_EL2.DS=0 from the host" in after.split(f'id="{hyp}"')[1]


def test_matrix_unknown_kernel_is_a_clear_4xx(client):
    r = client.get("/matrix", params={"kernel": "<b>v9"})
    assert r.status_code == 422
    assert "kernel=&lt;b&gt;v9" in r.text and "<b>v9" not in r.text
    assert "not a kernel version this page knows" in r.text


def test_matrix_explorer_links_walk(client):
    html = client.get("/matrix", params={"kernel": "v6.13", "valid": "1"}).text
    links = re.findall(r'<a href="/\?([^"]+)">', html)
    assert len(links) > 100
    for query in links[:40]:
        r = client.get("/?" + query.replace("&amp;", "&"))
        assert r.status_code == 200


def test_explorer_linux_panel_release_links(client):
    query = encode(CONFIG_PRESETS["nvhe-hyp-lpa2"])
    page = client.get(f"/?{query}").text
    assert f'href="/?{query}&kernel=v6.8"'.replace("&", "&amp;") in page
    old = client.get(f"/?{query}&kernel=v6.8")
    assert old.status_code == 200 and 'In Linux terms <span class="why">(v6.8)' in old.text
    assert "kvm_lpa2_is_enabled()" in old.text and "from the host" not in old.text
    new = client.get(f"/?{query}&kernel=v7.2").text
    assert "from the host&#39;s lpa2_is_enabled()" in new
    bad = client.get(f"/?{query}&kernel=7.99")
    assert bad.status_code == 422 and "not a kernel version this page knows" in bad.text


def test_explorer_address_size_fault_at_level_minus_1_names_the_linux_macro(client):
    n = next(i for i, s in enumerate(tour.steps(), 1) if s.slug == "fault-l-1-addrsize")
    query = encode(tour.step(n).config)
    old = client.get(f"/?{query}&kernel=v6.13").text
    assert "ESR_ELx_FSC_ADDRSZ_nL(-1) gives 0x25" in old
    new = client.get(f"/?{query}").text
    assert "ESR_ELx_FSC_ADDRSZ_nL(-1) gives 0x29" in new


def test_tour_linux_facts_follow_the_release(client):
    n = next(i for i, s in enumerate(tour.steps(), 1) if s.slug == "nvhe-el2")
    old = client.get(f"/tour/{n}", params={"kernel": "v6.8"}).text
    new = client.get(f"/tour/{n}").text
    assert "arm64_sw.hvhe=1 on the command line" in old and "alias for arm64_sw.hvhe=1" in new
    assert client.get(f"/tour/{n}", params={"kernel": "x"}).status_code == 422


def test_glossary_and_decoder_explain_the_esr_macro(client):
    html = client.get("/glossary").text
    assert "6.9–7.1" in html and "ESR_ELx_FSC_ADDRSZ_nL" in html
    r = client.get("/decode", params={"reg": "ESR_ELx", "value": "0x96000029"})
    assert "Linux 6.9–7.1" in r.text and "Linux 7.2+" in r.text
