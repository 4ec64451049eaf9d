"""The share panel: the full-state link, the short-link slot, the ``.txt``/``.json`` twins and
copy buttons (static/js/share.js handles every ``[data-copy*]`` button; no inline script).

A click re-sends only the parts that name the state (``share_update``); ``POST /s`` answers
the short-link slot alone (``short_slot``); the page and ``/s/<id>/info`` show the whole
panel (``share_panel``)."""

from __future__ import annotations

from markupsafe import Markup

from app.assets import static_url
from app.links import ShareLinks, ptdump_path
from app.render.html import esc, oob_attr


def link_input(share: ShareLinks, oob: bool = False) -> str:
    return (
        f'<input id="share-link" class="share-url" type="text" readonly '
        f'value="{esc(share.link)}"{oob_attr(oob)}>'
    )


def short_slot(share: ShareLinks, error: str = "", oob: bool = False) -> Markup:
    """``<div id="share-short">``: the short link when one is stored, else the form that
    stores one; ``error`` when the state could not be stored."""
    if share.short:
        body = (
            '\n  <label for="share-short-link">Short link</label>\n'
            '  <input id="share-short-link" class="share-url" type="text" readonly '
            f'value="{esc(share.short)}">\n'
            '  <button type="button" class="copy-button" data-copy-target="#share-short-link">'
            "Copy</button>"
        )
    else:
        body = (
            '\n  <form class="share-short-form" method="post" action="/s"\n'
            '        hx-post="/s" hx-target="#share-short" hx-swap="outerHTML">\n'
            f'    <input type="hidden" name="query" value="{esc(share.query)}">\n'
            '    <button type="submit">Short link</button>\n'
            '    <span class="share-hint">for 72-column mail: stores this state and gives a '
            "/s/&hellip; link</span>\n  </form>"
        )
    if error:
        body += f'\n  <p class="share-error" role="alert">{esc(error)}</p>'
    return Markup(
        f'<div class="share-row share-short" id="share-short"{oob_attr(oob)}>{body}\n</div>'
    )


def twins(share: ShareLinks, oob: bool = False) -> str:
    txt = esc(share.txt)
    return (
        f'<div class="share-row share-twins" id="share-twins"{oob_attr(oob)}>\n'
        f'    <a href="{txt}" type="text/plain">Plain-text walk (.txt)</a>\n'
        f'    <button type="button" class="copy-button" data-copy-url="{txt}">Copy text</button>\n'
        f'    <a href="{esc(share.json)}" type="application/json">JSON (.json)</a>\n'
        f"{_mappings(share)}"
        "  </div>"
    )


def _mappings(share: ShareLinks) -> str:
    """A state that reads a memory image lists its tables' mappings (``/ptdump``)."""
    if "&image=" not in "&" + share.query:
        return ""
    return f'    <a href="{esc(ptdump_path(share.query))}">Mappings of these tables</a>\n'


def share_panel(share: ShareLinks) -> Markup:
    """The whole panel (``<section id="share-panel">``)."""
    return Markup(
        '<section class="share" id="share-panel" aria-labelledby="share-title">\n'
        '  <h2 id="share-title">Share this walk</h2>\n'
        '  <div class="share-row">\n'
        '    <label for="share-link">Link</label>\n'
        f"    {link_input(share)}\n"
        '    <button type="button" class="copy-button" data-copy-target="#share-link">Copy'
        "</button>\n  </div>\n"
        f"  {short_slot(share)}\n"
        f"  {twins(share)}\n"
        '  <p class="copy-status" id="copy-status" aria-live="polite" role="status"></p>\n'
        f'  <script src="{static_url("js/share.js")}" defer></script>\n'
        "</section>"
    )


def share_region(share: ShareLinks, oob: bool = False) -> Markup:
    """``<div id="share-region">``: the panel, as the explorer page places it."""
    return Markup(f'<div id="share-region"{oob_attr(oob)}>{share_panel(share)}</div>')


def share_update(share: ShareLinks) -> Markup:
    """What a click sends of the panel: its parts that name the state, each out of band."""
    return Markup(f"{link_input(share, True)}\n{short_slot(share, oob=True)}\n{twins(share, True)}")
