"""Elements by id in server-rendered HTML, and htmx's out-of-band swaps applied to a page,
for the tests that compare a page with the htmx answers for the same state."""

from __future__ import annotations

import html.parser
import re

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
OOB_ATTR = re.compile(r' hx-swap-oob="([^"]*)"')


class _Elements(html.parser.HTMLParser):
    """(start, end) offsets of every element with an id, and of the top-level elements."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=False)
        self.text = text
        self.line_starts = [0]
        for i, ch in enumerate(text):
            if ch == "\n":
                self.line_starts.append(i + 1)
        self.by_id: dict[str, tuple[int, int]] = {}
        self.top: list[tuple[int, int]] = []
        self.duplicates: list[str] = []
        self._stack: list[tuple[str, int, str | None]] = []
        self.feed(text)
        self.close()

    def _offset(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def _done(self, element_id: str | None, start: int, end: int) -> None:
        if element_id is not None:
            if element_id in self.by_id:
                self.duplicates.append(element_id)
            self.by_id[element_id] = (start, end)
        if not self._stack:
            self.top.append((start, end))

    def handle_starttag(self, tag, attrs):
        start = self._offset()
        element_id = dict(attrs).get("id")
        if tag in VOID:
            self._done(element_id, start, start + len(self.get_starttag_text()))
        else:
            self._stack.append((tag, start, element_id))

    def handle_startendtag(self, tag, attrs):
        start = self._offset()
        self._done(dict(attrs).get("id"), start, start + len(self.get_starttag_text()))

    def handle_endtag(self, tag):
        end = self.text.index(">", self._offset()) + 1
        while self._stack:
            open_tag, start, element_id = self._stack.pop()
            if open_tag == tag:
                self._done(element_id, start, end)
                return


class Html:
    """A page or an htmx answer, with its elements by id."""

    def __init__(self, text: str) -> None:
        self.text = text
        parsed = _Elements(text)
        self.spans = parsed.by_id
        self.top = parsed.top
        self.duplicate_ids = parsed.duplicates

    def ids(self) -> set[str]:
        return set(self.spans)

    def outer(self, element_id: str) -> str:
        start, end = self.spans[element_id]
        return self.text[start:end]

    def inner(self, element_id: str) -> str:
        outer = self.outer(element_id)
        return outer[outer.index(">") + 1 : outer.rindex("</")]

    def region(self, element_id: str) -> str:
        """An element as the page shows it: its out-of-band attribute left out."""
        return OOB_ATTR.sub("", self.outer(element_id), count=1)

    def oob_swaps(self) -> list[tuple[str, str, str]]:
        """The answer's out-of-band elements: (id, swap style, element without the attribute)."""
        out = []
        for start, end in self.top:
            element = self.text[start:end]
            head = element[: element.index(">")]
            style = OOB_ATTR.search(head)
            if style is None:
                continue
            element_id = re.search(r' id="([^"]*)"', head).group(1)
            out.append((element_id, style.group(1), OOB_ATTR.sub("", element, count=1)))
        return out


def apply_answer(page: str, answer: str) -> str:
    """The page after htmx swaps an answer's out-of-band elements into it by id (an outer
    swap, or an inner one for ``innerHTML``); an id the page lacks is an error."""
    for element_id, style, element in Html(answer).oob_swaps():
        target = Html(page)
        assert element_id in target.spans, f"the answer swaps #{element_id}, not on the page"
        start, end = target.spans[element_id]
        if style == "innerHTML":
            old = page[start:end]
            inner_start = start + old.index(">") + 1
            inner_end = start + old.rindex("</")
            inner = element[element.index(">") + 1 : element.rindex("</")]
            page = page[:inner_start] + inner + page[inner_end:]
        else:
            assert style == "morph", style  # an outer swap, node by node (static/js/morph.js)
            page = page[:start] + element + page[end:]
    return page


def main_of(page: str) -> str:
    """The page's ``<main>`` element (what the explorer's regions live in)."""
    return Html(page).outer("main")
