"""The Jinja2 environment every page is rendered with, configured here and only here: its
loader, its globals (asset URLs, the explorer's regions) and its filters. Route modules use
``templates`` and add nothing to it."""

from __future__ import annotations

from types import SimpleNamespace

import jinja2
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from app import __version__
from app.assets import TEMPLATES_DIR, htmx_path, morph_path, static_url
from app.images import served_image
from app.render import glance, page, registers, share, walk
from model.teach import glossary


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


# The explorer page's regions (templates/explorer.html): the functions the htmx answer uses
# too (app.fragment), so each region's markup has one home.
REGIONS = SimpleNamespace(
    summary=page.summary,
    share=share.share_region,
    from_input=page.from_input,
    setup=page.setup,
    status=page.status,
    messages=page.messages,
    presets=page.presets,
    compare_with=page.compare_with,
    registers=registers.registers_section,
    walk=walk.walk_section,
    glance=glance.walk_glance,
    choices=page.choices,
    linux=page.linux_region,
)

templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=jinja2.select_autoescape()
    )
)
# Templates are read once: a running server never re-checks their files (restart to reload).
templates.env.auto_reload = False
templates.env.globals.update(
    served_image=served_image,  # the memory image this process serves (a module value, no I/O)
    static_url=static_url,
    htmx_src=htmx_path,
    morph_src=morph_path,
    app_version=__version__,
    region=REGIONS,
    share_panel=share.share_panel,
)
templates.env.filters["glossify"] = glossify
