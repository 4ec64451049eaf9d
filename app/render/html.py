"""Markup primitives the region renderers share: escaping, the out-of-band attribute, field
error messages and their ARIA links."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape as _html_escape

from markupsafe import Markup

from app.cache import memo

# An htmx answer swaps each region it carries by id, out of band, with idiomorph's morph
# (static/js/morph.js): the region on the page is changed into this one node by node.
OOB = ' hx-swap-oob="morph"'


def oob_attr(oob: bool) -> str:
    return OOB if oob else ""


def esc(value: object) -> str:
    """Text made safe for HTML content and attribute values (``& < > " '``); ``Markup`` is
    already safe and passes as it is. The renderers use this rather than
    ``markupsafe.escape``, which wraps every result in a new ``Markup`` (about three times the
    cost, and a click escapes a few hundred values)."""
    if isinstance(value, Markup):
        return value
    return _html_escape(str(value))


@memo("escaped")
def escaped(text: str) -> str:
    """``esc`` for the model's own texts (field names, meanings): a finite set, so the
    escaped form is remembered."""
    return esc(text)


def error_html(id_: str, message: str) -> str:
    """A control's error message (``<p id="<id>-err">``), or nothing."""
    if not message:
        return ""
    return (
        f'<p class="err" id="{esc(id_)}-err"><span aria-hidden="true">⚠ </span>{esc(message)}</p>'
    )


def invalid_attrs(id_: str, message: str) -> str:
    """A control's ``aria-invalid`` and the link to its error message, when it has one."""
    return f' aria-invalid="true" aria-describedby="{esc(id_)}-err"' if message else ""


def described_attrs(id_: str, help_id: str, message: str) -> str:
    """A control's ``aria-describedby``: its error first, when it has one, then its help."""
    if message:
        return f' aria-invalid="true" aria-describedby="{esc(id_)}-err {esc(help_id)}"'
    return f' aria-describedby="{esc(help_id)}"'


def yesno(flag: bool) -> str:
    return '<span class="yes">✓ yes</span>' if flag else '<span class="no">✗ no</span>'


def options_html(options: Iterable[tuple[str, str]], selected: str) -> str:
    """``<option>`` elements of ``(value, label)`` pairs, ``selected`` marked."""
    return "".join(
        f'<option value="{esc(v)}"{" selected" if v == selected else ""}>{esc(label)}</option>'
        for v, label in options
    )
