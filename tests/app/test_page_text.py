"""Pages speak to people: no Python reprs (True/False/None, dict syntax) in visible text."""

import re
from html.parser import HTMLParser
from urllib.parse import quote

import pytest

from model.explore.configs import CONFIG_PRESETS
from model.teach.tour import steps as tour_steps

PYTHON_WORDS = re.compile(r"\b(True|False|None)\b|\{'|': ")


class VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self.hidden += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template"):
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(parser.parts)


def onboarding_urls() -> list[str]:
    pair = f"a={quote('v=2')}&b={quote('v=2&preset=4k-52-lpa2')}"
    urls = ["/tour", "/geometry", "/matrix", "/glossary", f"/compare?{pair}"]
    urls += [f"/tour/{n}" for n in range(1, len(tour_steps()) + 1)]
    urls += ["/decode?reg=TCR_EL1&value=0x80000065b5103510", "/decode?reg=PAR_EL1&value=0x857"]
    return urls


@pytest.mark.parametrize("url", onboarding_urls())
def test_onboarding_pages_show_no_python_reprs(client, url):
    response = client.get(url)
    assert response.status_code == 200
    found = PYTHON_WORDS.findall(visible_text(response.text))
    assert not found, f"{url}: {found[:5]}"


@pytest.mark.parametrize("slug", list(CONFIG_PRESETS))
def test_text_walks_show_no_python_reprs(client, slug):
    response = client.get(f"/walk.txt?v=2&preset={slug}")
    assert response.status_code == 200
    assert not PYTHON_WORDS.findall(response.text)
