"""Each region of the explorer has one home: the full page and the htmx answer for the same
state carry the same HTML for it, and a page with an answer swapped in is the page of the
state the answer leads to (so an answer sends every region that changed)."""

from __future__ import annotations

import random

import pytest

from app.fragment import WALK_PARTS, Regions, render_fragment
from app.links import Links
from app.state import decode, encode
from app.views import explorer_view
from app.walks import state_of
from model.arch.result import NESTED
from model.explore.configs import CONFIG_PRESETS, run
from tests.app.html_regions import Html, apply_answer, main_of
from tests.app.test_click_views import random_states

HX = {"HX-Request": "true"}
# Every swappable region of the explorer, by id (numbered and per-register ones by prefix).
REGION_IDS = (
    "summary", "share-region", "share-panel", "share-link", "share-short", "share-twins",
    "from", "compare-a", "setup", "va", "status", "messages", "presets", "registers", "choices",
    "walk", "glance",
    "walk-head", "cards-main", "walk-final", "walk-final-head", "cards-final", "walk-oa",
    "walk-warnings", "walk-help", "linux-region",
)  # fmt: skip
REGION_PREFIXES = ("reg-", "slot-main-", "slot-final-", "card-")


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LPA2_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LPA2_PUBLIC_URL", raising=False)


def region_ids(page: Html) -> set[str]:
    return {i for i in page.ids() if i in REGION_IDS or i.startswith(REGION_PREFIXES)} - {
        i for i in page.ids() if i.endswith("-title") or i.endswith("-err")
    }


def assert_same_regions(page_text: str, answer_text: str, expect_all: bool) -> int:
    """Every region the answer carries equals the page's; with ``expect_all``, the answer
    carries every region of the page. Returns how many regions were compared."""
    page, answer = Html(page_text), Html(answer_text)
    assert not page.duplicate_ids and not answer.duplicate_ids
    compared = 0
    for element_id in region_ids(page):
        if element_id not in answer.spans:
            assert not expect_all, f"#{element_id} is on the page but not in the answer"
            continue
        if element_id == "status":  # swapped by its content: the live region stays
            assert answer.inner("status") == page.inner("status")
        else:
            assert answer.region(element_id) == page.region(element_id), element_id
        compared += 1
    return compared


def edited_states() -> list:
    """Every preset, and states reached from some by random register, descriptor and address
    bit clicks (two stages, stage 2 alone, faults and added or removed levels among them)."""
    states = list(CONFIG_PRESETS.values())
    for slug in ("4k-52-lpa2", "s1-48-over-s2-52", "s2-l-1-sl2", "fault-permission", "4k-48"):
        states += random_states(slug, 12, seed=len(slug))[1:]
    return states


def test_a_preset_load_answers_every_region_as_the_page_has_it(client):
    for slug, config in CONFIG_PRESETS.items():
        other = "4k-48" if slug != "4k-48" else "4k-52-lpa2"
        answer = client.get(
            "/", params=[("load", slug), ("from", encode(CONFIG_PRESETS[other]))], headers=HX
        )
        assert answer.status_code == 200
        page = client.get(answer.headers["HX-Push-Url"]).text
        assert answer.headers["HX-Push-Url"] == f"/?{encode(config)}"
        assert assert_same_regions(page, answer.text, expect_all=True) > 20, slug


@pytest.mark.parametrize("parts", ["whole", "parts"])
def test_every_region_of_every_state_is_the_pages(client, parts):
    """For each state, an answer with every region (whole sections, or every part a click can
    send: register lines and bodies, walk head, card slots, output...) equals the page."""
    links = Links("http://testserver")
    everything = Regions.everything()
    for config in edited_states():
        state = state_of(config)
        view = explorer_view(config, state.result, query=state.query)
        if parts == "whole":
            regions = everything
        else:
            regions = Regions(
                share="links",
                address_box=True,
                register_part={r.param for r in view.registers},
                walk_parts=set(WALK_PARTS),
                slots=set(range(5)),
                final_head=True,
                final_slots=set(range(5)),
            )
        answer = render_fragment(view, regions, share_links=links.share(state.query, None))
        page = client.get(f"/?{state.query}")
        assert page.status_code == 200
        assert assert_same_regions(page.text, answer, expect_all=parts == "whole") > 15


def click_targets(config, rng: random.Random) -> list[tuple[str, str]]:
    """What a user might do next: a register, descriptor or address bit, a field typed in,
    a bad value typed, or a quick action."""
    result = run(config)
    reads = [r for r in result.reads() if r.role != NESTED and r.read.raw is not None]
    controls = [f"r.{name.lower()}" for name in config.registers] + ["va"]
    controls += [f"m.{r.read.desc_address:#x}" for r in reads]
    choice = rng.random()
    if choice < 0.08 and reads:
        return [("act", f"{rng.choice(reads).read.desc_address:#x}:invalid")]
    if choice < 0.14:
        return [(rng.choice(["r.tcr_el1", "va", "f.tcr_el1.T0SZ"]), rng.choice(["0xzz", "99"]))]
    if choice < 0.18 and reads:
        return [(f"m.{rng.choice(reads).read.desc_address:#x}", "0x")]
    return [("flip", f"{rng.choice(controls)}:{rng.randrange(64)}")]


@pytest.mark.parametrize(
    ("slug", "kernel"),
    [
        ("4k-52-lpa2", ""),
        ("s1-48-over-s2-52", ""),
        ("s2-52-concat16", ""),
        ("nvhe-hyp-lpa2", "v6.8"),
    ],
)
def test_an_answer_swapped_into_the_page_is_the_next_page(client, slug, kernel):
    """Click by click, htmx's swap of the answer into the page gives the page of the new
    state; a refused edit gives the page that marks the bad field (422). A kernel release
    chosen for the Linux panel stays from click to click."""
    rng = random.Random(slug)
    config = CONFIG_PRESETS[slug]
    query = encode(config) + (f"&kernel={kernel}" if kernel else "")
    page = client.get(f"/?{query}").text
    refused = 0
    for _ in range(25):
        params = [*click_targets(config, rng), ("from", query)]
        answer = client.get("/", params=params, headers=HX)
        assert answer.status_code in (200, 422), answer.text[:200]
        swapped = apply_answer(page, answer.text)
        if answer.status_code == 422:
            refused += 1
            expected = client.get("/", params=params)
            assert expected.status_code == 422
            assert main_of(swapped) == main_of(expected.text)
            continue  # the page keeps showing the last good state
        query = answer.headers["HX-Push-Url"][2:]
        assert query.endswith(f"&kernel={kernel}") if kernel else "kernel=" not in query
        page = client.get(f"/?{query}").text
        assert main_of(swapped) == main_of(page)
        config = decode(query).config
    assert refused


@pytest.mark.parametrize("slug", ["fault-translation-l-1", "fault-access-flag"])
def test_set_up_edits_swap_in_as_the_next_page(client, slug):
    """Edits of the set-up bar: a write instead of a read faults the same way but with
    ESR_ELx.ISS.WnR set, so the fault's syndrome is sent again with the set-up bar."""
    query = encode(CONFIG_PRESETS[slug])
    page = client.get(f"/?{query}").text
    for name, value in (("access", "el1w"), ("access", "el0r"), ("cpu", "lpa2-s1-only")):
        if f'value="{value}"' not in page:
            continue
        answer = client.get("/", params=[(name, value), ("from", query)], headers=HX)
        assert answer.status_code == 200
        query = answer.headers["HX-Push-Url"][2:]
        swapped = apply_answer(page, answer.text)
        page = client.get(f"/?{query}").text
        assert main_of(swapped) == main_of(page)


@pytest.mark.parametrize("slug", ["4k-52-lpa2", "s1-48-over-s2-52"])
def test_history_navigation_swaps_in_as_the_page_of_its_state(client, slug):
    """Back, Forward, Undo and Redo ask for a state of the page's history (``goto``): the answer
    swapped into the page that shows another state is that state's page, and it carries only
    what differs between the two."""
    states = [encode(c) for c in random_states(slug, 6, seed=3)]
    for shown, target in ((states[-1], states[0]), (states[0], states[-1]), (states[2], states[3])):
        page = client.get(f"/?{shown}").text
        answer = client.get("/", params=[("goto", target), ("from", shown)], headers=HX)
        assert answer.status_code == 200
        assert answer.headers["HX-Push-Url"] == f"/?{target}"
        assert main_of(apply_answer(page, answer.text)) == main_of(client.get(f"/?{target}").text)
        everything = render_fragment(
            state_view_of(target), Regions.everything(), share_links=Links("x").share(target, None)
        )
        assert len(answer.text) < len(everything) / 2  # only what differs
    # To the same state: nothing but the state line and what every answer carries.
    same = client.get("/", params=[("goto", states[0]), ("from", states[0])], headers=HX)
    assert 'id="walk"' not in same.text and 'id="registers"' not in same.text


def test_history_navigation_to_a_link_with_problems_reloads(client):
    answer = client.get(
        "/", params=[("goto", "v=2&tcr_el1=zz"), ("from", encode(CONFIG_PRESETS["4k-48"]))],
        headers=HX,
    )  # fmt: skip
    assert answer.status_code == 200 and answer.headers["HX-Refresh"] == "true"
    plain = client.get(
        "/", params=[("goto", "v=2&tcr_el1=zz"), ("from", "v=2")], follow_redirects=False
    )
    assert plain.status_code == 303 and plain.headers["location"] == "/?v=2&tcr_el1=zz"


def state_view_of(query: str):
    state = state_of(decode(query).config)
    return explorer_view(state.config, state.result, query=state.query)
