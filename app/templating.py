"""The Jinja2 environment every page is rendered with, configured here and only here: its
loader, its globals (asset URLs, the explorer's region renderers) and its filters. Route
modules use ``templates``; they add nothing to it."""

from __future__ import annotations

from typing import Any

import jinja2
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from app import __version__
from app.assets import TEMPLATES_DIR, htmx_path, static_url
from app.cache import lru
from app.fragment import (
    render_card_list,
    render_choices,
    render_va_input,
    render_walk_final,
    render_walk_head,
    render_walk_help,
    render_walk_warnings,
)
from app.images import served_image
from app.render.share import share_panel, share_region
from app.views import (
    card_slots,
    render_card,
    render_register,
    render_register_update,
    render_summary,
    render_walk_oa,
)
from model.teach import glossary

# Names a plain dict answers as attributes (``d.items``, ``d.get``...): Jinja looks these up
# as attributes first, so they keep doing so.
_DICT_ATTRIBUTES = frozenset(dir(dict))


class Environment(jinja2.Environment):
    """Jinja's environment with a fast path for ``view.name`` on a plain dict.

    The views are plain dicts, and Jinja resolves ``x.name`` by trying ``getattr`` first and
    the item only after the ``AttributeError``: a raised and caught exception for every field a
    template prints (hundreds per fragment). For a plain dict and a name that is not a dict
    attribute the answer is the same either way, so look the item up directly."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


def glossary_link(term: str) -> str:
    """URL of a glossary entry, by slug or spelling (``glossary_link("DS")``)."""
    return glossary.anchor_for(term)


def glossify(text: str) -> Markup:
    """Escape ``text`` and link the first mention of each glossary term."""
    out: list[str] = []
    pos = 0
    for start, end, term in glossary.find_terms(str(text)):
        out.append(str(escape(text[pos:start])))
        out.append(f'<a class="gl" href="/glossary#{term.anchor}">{escape(text[start:end])}</a>')
        pos = end
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


templates = Jinja2Templates(
    env=Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=jinja2.select_autoescape()
    )
)
# Templates are read once: a running server never re-checks their files (restart to reload).
templates.env.auto_reload = False

_FIELD_HELP = lru("field_help_html")


def field_help_html(items: list, title: str = "Field help", help_id: str = "") -> Markup:
    """The ``field_help`` macro of partials/macros.html, remembered: its items come from
    ``app.views.field_help`` (one list per layout and prefix) and never change, and a click
    re-renders registers whose help is the same as before. Keyed by the list's identity (the
    entry keeps the list alive, so the id is not reused while it is remembered)."""
    key = (id(items), title, help_id)
    entry = _FIELD_HELP.get(key)
    if entry is not None and entry[0] is items:
        return entry[1]
    macro = templates.env.get_template("partials/macros.html").module.field_help
    html = Markup(macro(items, title, help_id))
    _FIELD_HELP.put(key, (items, html))
    return html


templates.env.globals.update(
    served_image=served_image,
    static_url=static_url,
    htmx_src=htmx_path,
    app_version=__version__,
    share_panel=share_panel,
    share_region=share_region,
    render_card=render_card,
    render_card_list=render_card_list,
    card_slots=card_slots,
    field_help_html=field_help_html,
    render_register=lambda r, oob=False: render_register(r, field_help_html, oob),
    render_register_update=render_register_update,
    render_walk_oa=render_walk_oa,
    render_walk_head=render_walk_head,
    render_walk_final=render_walk_final,
    render_walk_warnings=render_walk_warnings,
    render_walk_help=lambda w, oob=False: render_walk_help(w, field_help_html, oob),
    render_choices=render_choices,
    render_va_input=render_va_input,
    render_summary=render_summary,
)
templates.env.filters["glossify"] = glossify
