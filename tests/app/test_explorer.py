"""The explorer route: full pages for links, 303s for plain form posts, out-of-band fragments for
htmx, and 422s with inline messages for bad input (never a 500)."""

import html
import html.parser
import re
from dataclasses import fields as dataclass_fields
from urllib.parse import parse_qsl

import pytest

from app.state import decode, encode
from app.views.walk import CHOICE_TITLES
from model.arch.cpu import Choices
from model.arch.fields import LAYOUTS
from model.explore.configs import CONFIG_PRESETS, run

HX = {"HX-Request": "true"}


def lpa2_query() -> str:
    return encode(CONFIG_PRESETS["4k-52-lpa2"])


def edit(client, htmx=True, **params):
    pairs = [("from", params.pop("from_", lpa2_query()))]
    for key, value in params.items():
        key = key.replace("__", ".")
        values = value if isinstance(value, list) else [value]
        pairs += [(key, v) for v in values]
    return client.get("/", params=pairs, headers=HX if htmx else {}, follow_redirects=False)


def replaced_config(response):
    url = response.headers["HX-Push-Url"]
    assert url.startswith("/?")
    decoded = decode(url[2:])
    assert decoded.ok
    return decoded.config


@pytest.mark.parametrize("slug", list(CONFIG_PRESETS))
def test_every_preset_page_renders(client, slug):
    config = CONFIG_PRESETS[slug]
    response = client.get(f"/?{encode(config)}")
    assert response.status_code == 200
    page = response.text
    assert page.startswith("<!DOCTYPE html>")
    assert config.title.replace("&", "&amp;") in page
    assert f'value="{encode(config)}"' in page.replace("&amp;", "&")  # the "from" state
    result = run(config)
    # One card per read, the stage-2 reads of stage-1 table addresses included.
    assert page.count('class="card ') == len(result.reads())
    if result.fault:
        assert f"{result.fault.fsc:#04x}" in page
    else:
        assert f"{result.output_address:#x}" in page


def test_home_is_the_default_preset(client):
    page = client.get("/").text
    assert "4KB granule, 48-bit VA (DS=0)" in page
    assert 'name="flip" value="r.tcr_el1:59"' in page
    assert 'hx-get="/"' in page and 'method="get"' in page
    assert "<script>" not in page and " style=" not in page and "onclick" not in page


def test_page_has_the_htmx_config_meta(client):
    page = client.get("/").text
    meta = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'', page)
    assert meta
    import json

    config = json.loads(meta.group(1))
    assert config["allowEval"] is False and config["includeIndicatorStyles"] is False
    codes = {rule["code"]: rule for rule in config["responseHandling"]}
    assert codes["422"]["swap"] is True and not codes["422"].get("error")


def test_every_shown_field_has_help(client):
    page = html.unescape(client.get(f"/?{lpa2_query()}").text)
    for name in ("TCR_EL1", "TTBR_52", "MAIR", "HCR_EL2", "SCTLR", "S1_TABLE_DS1", "S1_PAGE_DS1"):
        for spec in LAYOUTS[name].fields:
            assert spec.help in page, (name, spec.name)
    assert "LPA2: 12..15 for a 49..52-bit space" in page


def test_tg1_select_uses_tg1_encoding(client):
    page = client.get("/").text
    tg1 = re.search(r'<select id="f-tcr_el1-TG1".*?</select>', page, re.S).group(0)
    assert re.search(r'<option value="2" selected>0b10 4KB', tg1)
    assert "0b01 16KB" in tg1 and "0b00 reserved" in tg1


def test_link_problems_are_reported_with_422(client):
    response = client.get("/?v=2&tcr_el1=0xZZ&bogus=1")
    assert response.status_code == 422
    assert "Parts of this link could not be used" in response.text
    assert "tcr_el1=0xZZ" in response.text and "unknown parameter" in response.text


def test_plain_form_edit_redirects_to_the_canonical_link(client):
    response = edit(client, htmx=False, flip="r.tcr_el1:59")
    assert response.status_code == 303
    location, _, place = response.headers["location"].partition("#")
    config = decode(location[2:]).config
    assert config.registers["TCR_EL1"] == CONFIG_PRESETS["4k-52-lpa2"].registers["TCR_EL1"] ^ (
        1 << 59
    )
    assert location == "/?" + encode(config)
    assert place == "reg-tcr_el1"  # back where the bit was clicked


def test_without_javascript_a_click_returns_to_the_place_clicked(client):
    """The redirect's fragment is the id of what was clicked, on the page it leads to."""
    reads = run(CONFIG_PRESETS["4k-52-lpa2"]).levels
    l2 = reads[3].desc_address
    cases = [
        ({"flip": f"m.{l2:#x}:56"}, f"card-1-2-{l2:#x}"),  # a software bit: the same card
        ({"flip": "va:13"}, "addr-title"),
        ({"act": f"{l2:#x}:invalid"}, f"card-1-2-{l2:#x}"),
        ({"flip": "r.mair_el1:3"}, "reg-mair_el1"),
        ({"r__tcr_el1": "0x8000006b510350d", "apply": "1"}, None),  # Apply: no place
    ]
    for params, place in cases:
        response = edit(client, htmx=False, **params)
        assert response.status_code == 303, params
        location, hashed, fragment = response.headers["location"].partition("#")
        assert (fragment if hashed else None) == place, params
        if place:
            page = client.get(location).text
            assert f'id="{place}"' in page, params


def test_htmx_bit_flip_answers_a_small_fragment(client):
    response = edit(client, flip="r.tcr_el1:59")
    assert response.status_code == 200
    body = response.text
    assert "<!DOCTYPE" not in body and "<html" not in body
    config = replaced_config(response)
    assert not (config.registers["TCR_EL1"] >> 59) & 1
    # DS=0 with T0SZ=12: the walk faults at set-up.
    assert "Translation fault" in body
    assert 'id="reg-tcr_el1"' in body
    # The five level cards go: each slot is emptied, the walk section itself is not resent.
    assert 'id="walk"' not in body and 'id="walk-head"' in body
    for slot in range(5):
        assert f'<li id="slot-main-{slot}" hidden hx-swap-oob="morph"></li>' in body
    assert 'id="reg-mair_el1"' not in body  # unchanged registers are not sent
    assert 'id="setup"' not in body and 'id="registers"' not in body
    assert re.search(r'id="from" name="from" value="[^"]*" hx-swap-oob="morph"', body)
    assert 'id="status" hx-swap-oob="innerHTML"' in body


def test_ds_flip_brings_level_minus_one(client):
    ds_off = edit(client, flip="r.tcr_el1:59")
    query = replaced_config(ds_off)
    response = edit(client, from_=encode(query), flip="r.tcr_el1:59")
    assert "Stage 1, level -1" in response.text
    assert "OA[51:50]</b> ← L3 desc[9:8]" in response.text
    assert 'id="reg-ttbr0_el1"' in response.text  # TTBR0_EL1 changed format


def test_descriptor_flip_gives_translation_fault_at_its_level(client):
    result = run(CONFIG_PRESETS["4k-52-lpa2"])
    level1 = next(r for r in result.levels if r.level == 1)
    response = edit(client, flip=f"m.{level1.desc_address:#x}:0")
    assert response.status_code == 200
    config = replaced_config(response)
    assert config.memory[level1.desc_address] == level1.raw ^ 1
    assert "Translation fault, level 1" in response.text and "0x05" in response.text
    assert "set by this link" in response.text


def test_va_flip_and_field_edit(client):
    response = edit(client, flip="va:12", f__tcr_el1__T0SZ="13")
    config = replaced_config(response)
    assert config.address == CONFIG_PRESETS["4k-52-lpa2"].address ^ (1 << 12)
    assert config.registers["TCR_EL1"] & 0x3F == 13
    # Only the address box of the set-up bar changed: it alone is swapped.
    assert 'id="setup"' not in response.text
    assert re.search(r'<input id="va" name="va" [^>]*value="0xf123456788abc"', response.text)
    assert re.search(r'<input id="va" [^>]*hx-swap-oob="morph">', response.text)


def test_unchanged_controls_are_not_applied(client):
    config = CONFIG_PRESETS["4k-52-lpa2"]
    tcr = config.registers["TCR_EL1"]
    # The hex input still shows the old value and T0SZ its old field: only the flip applies.
    response = edit(client, r__tcr_el1=f"{tcr:#x}", f__tcr_el1__T0SZ="12", flip="r.tcr_el1:0")
    assert replaced_config(response).registers["TCR_EL1"] == tcr ^ 1


def test_hex_edit_then_field_edit_order(client):
    config = CONFIG_PRESETS["4k-52-lpa2"]
    response = edit(client, r__mair_el1="0x44", f__tcr_el1__T0SZ="14")
    new = replaced_config(response)
    assert new.registers["MAIR_EL1"] == 0x44
    assert new.registers["TCR_EL1"] & 0x3F == 14
    assert new.registers["TCR_EL1"] >> 6 == config.registers["TCR_EL1"] >> 6


@pytest.mark.parametrize(
    ("control", "value", "message"),
    [
        ("r.tcr_el1", "0xZZ", "is not a number"),
        ("r.tcr_el1", "0x1" + "0" * 16, "wider than 64 bits"),
        ("f.tcr_el1.T0SZ", "64", "out of range for T0SZ: 0 to 63"),
        ("f.tcr_el1.TG0", "9", "out of range for TG0"),
        ("va", "hello", "is not a number"),
    ],
)
def test_bad_input_answers_422_with_inline_message(client, control, value, message):
    response = client.get("/", params=[("from", lpa2_query()), (control, value)], headers=HX)
    assert response.status_code == 422
    body = response.text
    assert message in body
    assert 'aria-invalid="true"' in body
    assert f'value="{value}"' in body  # what the user typed is kept
    assert 'id="walk"' not in body  # the last good walk stays on screen
    assert "HX-Push-Url" not in response.headers
    describedby = re.search(r'aria-invalid="true" aria-describedby="([^" ]+)', body).group(1)
    assert f'id="{describedby}"' in body


def test_bad_descriptor_hex_marks_its_card(client):
    result = run(CONFIG_PRESETS["4k-52-lpa2"])
    address = result.levels[2].desc_address
    response = client.get(
        "/", params=[("from", lpa2_query()), (f"m.{address:#x}", "0xnope")], headers=HX
    )
    assert response.status_code == 422
    assert "is not a number" in response.text and 'class="card ' in response.text


def test_bad_input_without_htmx_is_a_422_page(client):
    response = edit(client, htmx=False, r__tcr_el1="0xZZ")
    assert response.status_code == 422
    assert response.text.startswith("<!DOCTYPE html>")
    assert "Not applied" in response.text and 'value="0xZZ"' in response.text


@pytest.mark.parametrize(
    "params",
    [
        {"flip": "r.nope:3"},
        {"flip": "r.tcr_el1:99"},
        {"flip": "m.0x8:0"},
        {"act": "0x8:invalid"},
        {"load": "no-such-preset"},
        {"regime": "el3"},
        {"c__setup_fault_level": "sometimes"},
    ],
)
def test_bogus_controls_are_422_not_500(client, params):
    response = edit(client, **params)
    assert response.status_code == 422
    assert "Not applied" in response.text


def test_quick_action_make_block(client):
    result = run(CONFIG_PRESETS["4k-52-lpa2"])
    level0 = next(r for r in result.levels if r.level == 0)
    response = edit(client, act=f"{level0.desc_address:#x}:block")
    assert response.status_code == 200
    assert "Walk complete" in response.text
    assert "offset in L0 block" in response.text
    disallowed = edit(client, act=f"{result.levels[0].desc_address:#x}:block")
    assert disallowed.status_code == 422


def test_load_preset_sends_every_region(client):
    response = edit(client, load="s1-48-over-s2-52")
    assert response.status_code == 200
    config = replaced_config(response)
    assert config.slug == "s1-48-over-s2-52"
    for region in ("setup", "presets", "registers", "choices", "walk", "share-region"):
        assert f'id="{region}"' in response.text, region
    assert "Stage 2 of the output IPA" in response.text
    assert "Stage 2 translated the table address" in response.text


def test_regime_change_rerenders_registers_and_keeps_e2h_in_step(client):
    response = edit(client, from_=encode(CONFIG_PRESETS["nvhe-hyp-lpa2"]), regime="el20")
    config = replaced_config(response)
    assert config.regime == "el20" and (config.registers["HCR_EL2"] >> 34) & 1
    assert 'id="registers"' in response.text and "TCR_EL2_E2H" not in response.text
    assert "VHE: the TCR_EL1 layout" in response.text


def test_choice_change(client):
    fault = encode(CONFIG_PRESETS["4k-52-lpa2"].with_registers(TCR_EL1=0x8000006B5103508))
    response = edit(client, from_=fault, c__setup_fault_level="start_level")
    assert replaced_config(response).choices.setup_fault_level == "start_level"
    assert 'id="choices"' in response.text


def test_share_context_is_the_canonical_link(client):
    page = client.get(f"/?{lpa2_query()}").text.replace("&amp;", "&")
    query = lpa2_query()
    assert f"/walk.txt?{query}" in page and f"/walk.json?{query}" in page
    assert f"http://testserver/?{query}" in page


def test_reload_of_replaced_url_gives_the_same_state(client):
    response = edit(client, flip=["r.tcr_el1:0", "va:13"])
    url = response.headers["HX-Push-Url"]
    page = client.get(url).text
    query = dict(parse_qsl(url[2:]))
    assert f'value="{url[2:]}"' in page.replace("&amp;", "&")
    assert query["va"] in page


class _VisibleText(html.parser.HTMLParser):
    """The text a reader sees: no tags, attributes, scripts or styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


@pytest.mark.parametrize("slug", list(CONFIG_PRESETS))
def test_no_python_values_in_visible_text(client, slug):
    page = client.get(f"/?{encode(CONFIG_PRESETS[slug])}").text
    parser = _VisibleText()
    parser.feed(page)
    text = " ".join(parser.parts)
    found = re.findall(r"\b(True|False|None)\b", text)
    assert not found, (slug, found)
    assert "{'" not in text and "':" not in text


def test_attributes_are_labelled(client):
    page = html.unescape(client.get(f"/?{lpa2_query()}").text)
    assert "Shareability</th><td>Inner Shareable (0b11), from TCR_EL1.SH0 because DS=1" in page
    assert "MAIR_EL1.Attr0 = 0xff" in page
    assert "Table attributes: APTable=0b00, PXNTable=0, UXNTable=0, NSTable=0 (applied: HPD=0)" in (
        page
    )
    assert "leaf kind" not in page and "device False" not in page


def test_edit_updates_linux_names_and_summary(client):
    # 4KB 52-bit -> the same walk with TCR_EL1.TG0 = 16KB changes the Linux configuration.
    response = edit(client, f__tcr_el1__TG0="2")
    assert response.status_code == 200
    assert 'id="linux-region" hx-swap-oob="morph"' in response.text
    assert 'id="summary"' in response.text


def test_click_sends_only_the_changed_cards(client):
    config = CONFIG_PRESETS["4k-52-lpa2"]
    result = run(config)
    leaf = result.levels[-1]
    # A software bit of the page descriptor: only the last card (and the attributes) change.
    response = edit(client, flip=f"m.{leaf.desc_address:#x}:56")
    assert response.status_code == 200
    body = response.text
    assert f'id="slot-main-{len(result.levels) - 1}" hx-swap-oob="morph"' in body
    assert 'id="slot-main-0"' not in body and 'id="walk"' not in body
    assert body.count('class="card ') == 1


def _sl0_select(html_text: str) -> str:
    return re.search(r'<select id="f-vtcr_el2-SL0".*?</select>', html_text, re.S).group(0)


STAGE2_PRESETS = [slug for slug, c in CONFIG_PRESETS.items() if "s2" in run(c).params]


@pytest.mark.parametrize("slug", STAGE2_PRESETS)
def test_sl0_offers_start_levels_the_walk_agrees_with(client, slug):
    """VTCR_EL2.SL0 is a choice of start levels named for the register's granule (and SL2),
    and the option shown as selected names the level the stage-2 walk starts at."""
    config = CONFIG_PRESETS[slug]
    start = run(config).params["s2"].start_level
    select = _sl0_select(client.get("/", params=encode(config)).text)
    selected = re.search(r'<option value="\d" selected>0b\d\d ([^<]*)', select).group(1)
    assert selected.startswith(f"level {start} with ")
    assert select.count("<option") == 4


def test_sl0_options_follow_tg0(client):
    base = CONFIG_PRESETS["s2-52-concat16"]
    page4 = _sl0_select(client.get("/", params=encode(base)).text)
    assert "0b10 level 0 with 4KB" in page4 and "0b11 level 3 with 4KB (FEAT_TTST)" in page4
    response = edit(client, from_=encode(base), f__vtcr_el2__TG0="2", htmx=False)
    page16 = _sl0_select(client.get(response.headers["location"]).text)
    assert "0b00 level 3 with 16KB" in page16 and "0b11 level 0 with 16KB (DS=1)" in page16


def test_every_implementation_defined_choice_has_a_title():
    assert sorted(CHOICE_TITLES) == sorted(f.name for f in dataclass_fields(Choices))
