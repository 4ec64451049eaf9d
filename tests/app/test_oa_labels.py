"""The page and the plain-text walk name the source of each output-address bit range alike
(one rule, ``model.arch.descriptors.source_label``): for every preset, the page's output
split says "OA[hi:lo] from <label>" for exactly the labels ``/walk.txt`` prints."""

import html
import re

import pytest

from model.explore.configs import CONFIG_PRESETS

PAGE_LABEL = re.compile(r'aria-label="OA(\[[0-9:]+\]) from ([^"=]+?) = ')
TEXT_LABEL = re.compile(r"^  OA(\[[0-9:]+\]) +=.*<- (.+)$", re.MULTILINE)


@pytest.mark.parametrize("slug", sorted(CONFIG_PRESETS))
def test_page_and_text_label_output_bits_alike(client, slug):
    page = client.get(f"/?v=1&preset={slug}")
    text = client.get(f"/walk.txt?v=1&preset={slug}")
    assert page.status_code == 200 and text.status_code == 200
    on_page = [(rng, html.unescape(label)) for rng, label in PAGE_LABEL.findall(page.text)]
    in_text = TEXT_LABEL.findall(text.text)
    assert on_page == in_text
    if "Output PA" in text.text:
        assert in_text, "a translated walk names its output bits"
