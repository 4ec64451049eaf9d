"""The explorer page's smaller regions: the summary bar, the set-up bar and its address box,
the status line, the state an edit starts from, messages, presets, choices and Linux names."""

from __future__ import annotations

from collections.abc import Iterable

from markupsafe import Markup

from app.cache import lru
from app.render.html import error_html, esc, invalid_attrs, oob_attr, options_html
from app.views.page import ACCESSES, CPUS, REGIME_LABELS, ChoiceView, ExplorerView, SetupView

e = esc
CURRENT = ' aria-current="true"'


def summary(view: ExplorerView, oob: bool = False) -> Markup:
    """``<div id="summary">``: the sticky one-line summary (outcome, output address or fault,
    copy link, jumps)."""
    s = view.summary
    ok = "ok" if s.ok else "bad"
    badge = "✓ translates" if s.ok else "✗ faults"
    output = ' <a href="#oa-title">Output</a>' if s.has_output else ""
    return Markup(
        f'<div id="summary" class="summary {ok}"{oob_attr(oob)}>\n'
        f'  <span class="badge {ok}">{badge}</span>\n'
        f'  <span class="sum-walk"><code>{e(s.input)}</code> → '
        f'<strong>{e(s.outcome)}</strong> <span class="sum-code">{e(s.code)}'
        "</span></span>\n"
        '  <span class="sum-links">\n'
        '    <button type="button" class="copy-button" data-copy-target="#share-link">'
        "Copy link</button>\n"
        '    <a href="#share-panel">Share</a> <a href="#registers">Registers</a> '
        f'<a href="#walk">Walk</a>{output}\n'
        "  </span>\n</div>"
    )


def va_input(setup: SetupView, oob: bool = False) -> Markup:
    """``<input id="va">``: the input address box; an edit that changes only the address swaps
    just this."""
    return Markup(
        f'<input id="va" name="va" class="hex" value="{e(setup.va)}" spellcheck="false" '
        f'autocomplete="off" inputmode="text"{invalid_attrs("va", setup.error("va"))}'
        f"{oob_attr(oob)}>"
    )


def _select(name: str, options: Iterable[tuple[str, str]], selected: str, attrs: str) -> str:
    return (
        f'    <select id="{name}" name="{name}"{attrs}>\n'
        f"      {options_html(options, selected)}\n    </select>\n"
    )


def setup(view: ExplorerView, oob: bool = False) -> Markup:
    """``<fieldset id="setup">``: regime, CPU, access and input address."""
    s = view.setup
    regime, cpu, access = s.error("regime"), s.error("cpu"), s.error("access")
    cpu_attrs = ' aria-describedby="cpu-help"' + (' aria-invalid="true"' if cpu else "")
    return Markup(
        f'<fieldset id="setup" class="setup"{oob_attr(oob)}>\n  <legend>Set-up</legend>\n'
        '  <div class="ctl">\n    <label for="regime">Translation regime</label>\n'
        + _select("regime", REGIME_LABELS.items(), s.regime, invalid_attrs("regime", regime))
        + f"    {error_html('regime', regime)}\n  </div>\n"
        '  <div class="ctl">\n    <label for="cpu">CPU</label>\n'
        + _select("cpu", ((slug, title) for slug, title, _ in CPUS), s.cpu, cpu_attrs)
        + f"    {error_html('cpu', cpu)}\n  </div>\n"
        '  <div class="ctl">\n    <label for="access">Access</label>\n'
        + _select("access", ACCESSES, s.access, invalid_attrs("access", access))
        + f"    {error_html('access', access)}\n  </div>\n"
        '  <div class="ctl ctl-va">\n'
        f'    <label for="va">{e(s.va_label)}</label>\n'
        f"    {va_input(s)}\n    {error_html('va', s.error('va'))}\n  </div>\n"
        '  <details class="cpu-about"><summary>What this CPU has</summary>\n'
        f'    <p class="hint" id="cpu-help">{e(s.cpu_description)}</p>\n  </details>\n'
        "</fieldset>"
    )


def status(view: ExplorerView, oob: bool = False) -> Markup:
    """``<div id="status">``: the live status line. An answer replaces only its text, so
    screen readers announce it."""
    if oob:
        return Markup(f'<div id="status" hx-swap-oob="innerHTML">{e(view.status)}</div>')
    return Markup(
        f'<div id="status" class="status" role="status" aria-live="polite">{e(view.status)}</div>'
    )


def from_input(view: ExplorerView, oob: bool = False) -> Markup:
    """``<input id="from">``: the canonical query of the state the page shows (the state the
    next edit starts from)."""
    return Markup(
        f'<input type="hidden" id="from" name="from" value="{e(view.page_query)}"{oob_attr(oob)}>'
    )


def messages(view: ExplorerView, oob: bool = False) -> Markup:
    """``<div id="messages">``: what could not be read from the link, and why an edit was not
    applied."""
    out = [f'<div id="messages" class="messages"{oob_attr(oob)}>\n']
    if view.link_problems:
        items = "".join(f"<li>{e(p)}</li>" for p in view.link_problems)
        out.append(
            '  <section class="problems" role="alert" aria-labelledby="problems-title">\n'
            '    <h2 id="problems-title">Parts of this link could not be used</h2>\n'
            f"    <ul>{items}</ul>\n  </section>\n"
        )
    if view.errors:
        fields = "field" if len(view.errors) == 1 else "fields"
        out.append(
            '  <section class="problems" aria-labelledby="errors-title">\n'
            f'    <h2 id="errors-title">Not applied: fix the marked {fields}</h2>\n'
            "    <p>The walk below is still the last good one.</p>\n"
        )
        if view.form_errors:
            items = "".join(f"<li>{e(m)}</li>" for m in view.form_errors)
            out.append(f"    <ul>{items}</ul>\n")
        out.append("  </section>\n")
    out.append("</div>")
    return Markup("".join(out))


def presets(view: ExplorerView, oob: bool = False) -> Markup:
    """``<details id="presets">``: load a preset (each a submit button)."""
    current = f"— based on: {e(view.preset.title)}" if view.preset else ""
    items = "".join(
        f'\n    <li><button type="submit" name="load" value="{e(p.slug)}" class="preset"'
        f"{CURRENT if p.current else ''}>\n"
        f'      <span class="pt">{e(p.title)}</span> <span class="ps">{e(p.summary)}</span>'
        "</button></li>\n  "
        for p in view.presets
    )
    return Markup(
        f'<details id="presets" class="presets"{oob_attr(oob)}>\n'
        f'  <summary>Presets <span class="current">{current}</span></summary>\n'
        f"  <ul>\n  {items}\n  </ul>\n</details>"
    )


def compare_a(view: ExplorerView, oob: bool = False) -> Markup:
    """``<input id="compare-a">``: the state "Compare with…" starts from (re-sent with
    ``from`` after every edit)."""
    return Markup(
        f'<input type="hidden" id="compare-a" name="a" value="{e(view.query)}"{oob_attr(oob)}>'
    )


def compare_with(view: ExplorerView) -> Markup:
    """``<details id="compare-with">``: compare this walk with a variant, a preset or a
    pasted link (a GET form to ``/compare``, outside the explorer form)."""
    variants = "".join(
        f'<option value="{value}">{label}</option>'
        for value, label in (("with:ds", "this walk with DS flipped"),
                             ("with:granule", "this walk at the other granule"))
    )  # fmt: skip
    presets = "".join(
        f'<option value="v=2&amp;preset={e(p.slug)}">preset: {e(p.title)}</option>'
        for p in view.presets
    )
    return Markup(
        '<details id="compare-with" class="presets compare-with">\n'
        "  <summary>Compare with…</summary>\n"
        '  <form class="compare-form" method="get" action="/compare">\n'
        f"    {compare_a(view)}\n"
        '    <label for="compare-b">Compare this walk with</label>\n'
        f'    <select id="compare-b" name="b">{variants}{presets}</select>\n'
        '    <label for="compare-link">or a pasted link</label>\n'
        '    <input id="compare-link" name="b_link" spellcheck="false" autocomplete="off" '
        'inputmode="url">\n'
        '    <button type="submit">Compare</button>\n  </form>\n</details>'
    )


def choices(choice_views: tuple[ChoiceView, ...], oob: bool = False) -> Markup:
    """``<fieldset id="choices">``: the IMPLEMENTATION DEFINED choices, one select each."""
    out = [
        f'<fieldset id="choices" class="choices"{oob_attr(oob)}>\n'
        "  <legend>IMPLEMENTATION DEFINED choices</legend>\n"
    ]
    for c in choice_views:
        cid = e(c.id)
        used = ' <span class="badge used">used by this walk</span>' if c.used else ""
        invalid = ' aria-invalid="true"' if c.error else ""
        options = options_html(((v, label) for v, label, _ in c.options), c.value)
        out.append(
            '  <div class="ctl">\n'
            f'    <label for="{cid}">{e(c.title)}{used}</label>\n'
            f'    <select id="{cid}" name="{e(c.name)}" aria-describedby="{cid}-help"'
            f"{invalid}>\n      {options}\n    </select>\n"
            f'    <p class="hint" id="{cid}-help">{e(c.help)}</p>\n'
            f"    {error_html(c.id, c.error)}\n  </div>\n"
        )
    out.append("</fieldset>")
    return Markup("".join(out))


# The Linux panel links each kernel release to this state's page for that release, so its
# markup depends on the state's link query: it is rendered once per panel with this in the
# query's place (``_linux_html``), and the query is put in per request.
_QUERY_SLOT = "\x00query\x00"
_RELEASES_START = '<p class="kf-select" id="linux-releases">'
_linux = lru("linux_html")


def _linux_html(view: ExplorerView) -> str:
    from app.templating import templates  # the environment imports this module

    template = templates.env.get_template("partials/linux_names.html")
    return _linux.get_or_make(
        view.linux_key, lambda: template.render(linux=view.linux, query=_QUERY_SLOT)
    )


def linux_region(view: ExplorerView, oob: bool = False) -> Markup:
    """``<div id="linux-region">``: the Linux names of the walk (templates/partials/
    linux_names.html, which the tour shows too)."""
    names = _linux_html(view).replace(_QUERY_SLOT, e(view.query))
    return Markup(f'<div id="linux-region"{oob_attr(oob)}>{names}</div>')


_releases = lru("linux_releases_html")


def linux_releases(view: ExplorerView, oob: bool = False) -> str:
    """``<p id="linux-releases">`` of the Linux panel: its links to the state's page for each
    release (what an edit that leaves the panel alone changes in it); empty without one. The
    same for every panel of a release, so remembered by the release."""
    linux = view.linux
    # The panel's own condition for showing (templates/partials/linux_names.html).
    if not (linux.get("stage1_statements") or linux.get("stage2_statements") or linux.get("extra")):
        return ""

    def cut() -> str:
        names = _linux_html(view)
        start = names.index(_RELEASES_START)
        return names[start : names.index("</p>", start) + len("</p>")]

    part = _releases.get_or_make(linux.get("version", ""), cut)
    return part.replace(_QUERY_SLOT, e(view.query)).replace(">", f"{oob_attr(oob)}>", 1)
