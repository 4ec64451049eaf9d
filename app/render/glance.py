"""``<nav id="glance">``: the walk at a glance, the first thing the explorer shows under its
summary bar: one small card per level read (each a link to its full card) and the output
address split by source (DS=1: OA[51:50] from descriptor bits [9:8]) or the fault."""

from __future__ import annotations

from markupsafe import Markup

from app.render.html import esc, oob_attr
from app.views.glance import GlanceLevel, GlanceView, glance_view
from app.views.walk import WalkView

e = esc
_SET = (
    ' <span class="gv-set"><span aria-hidden="true">✎</span>'
    '<span class="visually-hidden">set by this link</span></span>'
)


def _nested(levels: tuple[GlanceLevel, ...]) -> str:
    if not levels:
        return ""
    items = "".join(
        f'<li><a href="#{e(n.card)}" aria-label="{e(n.label)} {e(n.kind)}, {e(n.gives)}">'
        f"{e(n.label)}</a></li>"
        for n in levels
    )
    return f'<ol class="gv-nested" aria-label="Stage-2 reads of its table address">{items}</ol>'


def _levels(levels: tuple[GlanceLevel, ...], label: str) -> str:
    items = "".join(
        f'<li class="gv k-{e(c.kind)}{" changed" if c.changed else ""}">'
        f'<a href="#{e(c.card)}"><span class="lv">{e(c.label)}</span> '
        f'<span class="gv-k">{e(c.kind)}</span>'
        f"{_SET if c.changed else ''}"
        f' <span class="gv-i">{e(c.index)}</span> <span class="gv-g">{e(c.gives)}</span></a>'
        f"{_nested(c.nested)}</li>"
        for c in levels
    )
    return f'<ol class="gv-levels" aria-label="{label}">{items}</ol>'


def glance(g: GlanceView, oob: bool = False) -> Markup:
    reads = len(g.levels) + len(g.final) + sum(len(c.nested) for c in (*g.levels, *g.final))
    outcome = (
        f'<span class="badge ok">✓ translates</span> to <code>{e(g.output)}</code>'
        if g.ok
        else f'<span class="badge bad">✗ faults</span> {e(g.fault)}'
    )
    out = [
        f'<nav id="glance" class="glance" aria-labelledby="glance-title" tabindex="-1"'
        f"{oob_attr(oob)}>\n"
        f'  <h2 id="glance-title">The walk at a glance</h2>'
        f' <p class="gv-outcome">{outcome} · {reads} descriptor read{"s" if reads != 1 else ""}'
        "</p>\n"
        f'  <div class="gv-roving" data-roving>{_levels(g.levels, "Levels read")}'
    ]
    if g.final:
        out.append(
            f'<p class="gv-final">Stage 2 of the output IPA <code>{e(g.final_ipa)}</code>:</p>'
            f"{_levels(g.final, 'Stage-2 levels read')}"
        )
    out.append("</div>\n")
    if g.segments:
        segs = "".join(
            f'<li class="gv-seg src-{e(s.source)}"><b>OA{e(s.range)}</b> = <code>{e(s.value)}'
            f"</code> <span>← {e(s.origin)}"
            f"{' <span class=moved>(moved)</span>' if s.moved else ''}</span></li>"
            for s in g.segments
        )
        out.append(
            f'  <ol class="gv-oa" aria-label="Output address {e(g.output)} by source">{segs}</ol>\n'
        )
    out.append("</nav>")
    return Markup("".join(out))


def walk_glance(w: WalkView, oob: bool = False) -> Markup:
    """The glance of a walk's view."""
    return glance(glance_view(w), oob)
