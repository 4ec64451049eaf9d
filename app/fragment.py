"""The htmx answer to an edit, and the walk partials it sends most, built as strings.

A bit click answers with the regions of the page that changed (``app.routes.explorer``
decides which), each swapped out of band by id. Most clicks send the summary, the share
panel's links, one or two cards and a few walk parts; Jinja's per-include cost (a new
context, macro calls) was most of a click's rendering time, so these parts are Python and
the page's templates call the same functions (one source of markup). Regions an edit rarely
changes as a whole (the set-up bar, presets, the register list, the whole walk, the Linux
names, the full share panel) are still templates, rendered here with ``oob`` set.

Every value that is not already ``Markup`` is escaped.
"""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup

from app.links import ShareLinks
from app.render.share import share_region, share_update
from app.views import (
    OOB,
    _error_html,
    _invalid_attrs,
    card_slots,
    esc,
    render_card,
    render_register,
    render_register_update,
    render_summary,
    render_walk_oa,
)

e = esc


def _oob(oob: bool) -> str:
    return OOB if oob else ""


def render_fault(w: dict) -> str:
    """The walk's fault: kind, level, stage, FSC, PAR_EL1, ESR ISS, the rule and the fix."""
    f = w["fault"]
    s1ptw = " (on a stage-1 table walk)" if f["s1ptw"] else ""
    esr = f"<dt>ESR ISS</dt><dd><code>{e(w['esr_iss'])}</code></dd>" if w["esr_iss"] else ""
    return (
        '<section class="fault" aria-labelledby="fault-title">\n'
        f'  <h2 id="fault-title"><span aria-hidden="true">✗ </span>'
        f"{e(f['kind'].capitalize())} fault, level {e(f['level'])}, stage {e(f['stage'])}"
        f"{s1ptw}</h2>\n"
        '  <dl class="faultinfo">\n'
        f"    <dt>FSC</dt><dd><code>{e(f['fsc'])}</code> (<code>{e(f['fsc_bin'])}</code>) "
        f"{e(f['fsc_name'])}</dd>\n"
        f"    <dt>PAR_EL1</dt><dd><code>{e(w['par'])}</code></dd>\n"
        f"    {esr}\n"
        f'    <dt>Rule</dt><dd>{e(f["message"])} <span class="rule">({e(f["rule"])})</span>'
        "</dd>\n"
        f"    <dt>What to change</dt><dd>{e(f['fix'])}</dd>\n"
        "  </dl>\n</section>"
    )


def render_walk_head(w: dict, oob: bool = False) -> Markup:
    """``<div id="walk-head">``: the outcome badge, the fault, the input address strip and the
    walk parameters."""
    badge = (
        '<span class="badge ok">✓ translates</span>'
        if w["ok"]
        else '<span class="badge bad">✗ faults</span>'
    )
    out = [
        f'<div id="walk-head"{_oob(oob)}>\n  <h2 id="walk-title">The walk {badge}</h2>\n',
    ]
    if w["fault"]:
        out.append(f"  {render_fault(w)}\n")
    a = w["address"]
    if a:
        params = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in a["params"])
        out.append(
            '  <section class="addr" aria-labelledby="addr-title">\n'
            f'    <h3 id="addr-title">Input address {e(a["name"])} <code>{e(a["value"])}</code>'
            f"</h3>\n    {e(a['strip'])}\n"
            '    <details class="params"><summary>Walk parameters</summary>\n'
            f"      <dl>{params}</dl>\n    </details>\n  </section>\n"
        )
    out.append("</div>")
    return Markup("".join(out))


def render_walk_final_head(w: dict, oob: bool = False) -> Markup:
    """The title of a two-stage walk's final stage 2 (empty when there is none)."""
    title = ""
    if w["final_cards"] or w["final_fault"]:
        title = f'<h3 class="s2title">Stage 2 of the output IPA <code>{e(w["ipa"])}</code></h3>'
    return Markup(f'<div id="walk-final-head"{_oob(oob)}>{title}</div>')


def card_slot(kind: str, cards: list[dict], i: int, oob: bool = False) -> str:
    """Slot ``i`` of a card list (``slot-main-N``, ``slot-final-N``): the card, or an empty,
    hidden item when the walk has fewer cards than slots."""
    if i < len(cards):
        return f'<li id="slot-{kind}-{i}"{_oob(oob)}>{render_card(cards[i])}</li>'
    return f'<li id="slot-{kind}-{i}" hidden{_oob(oob)}></li>'


def render_card_list(kind: str, cards: list[dict]) -> Markup:
    """A walk's card list with every slot, for the full walk."""
    return Markup("".join(card_slot(kind, cards, i) for i in range(card_slots(cards))))


def render_walk_final(w: dict, oob: bool = False) -> Markup:
    """``<div id="walk-final">``: the stage-2 walk of a two-stage walk's output IPA, its title
    and card slots swapped one by one like the main walk's."""
    return Markup(
        f'<div id="walk-final"{_oob(oob)}>\n  {render_walk_final_head(w)}\n'
        f'  <ol class="cards" id="cards-final">{render_card_list("final", w["final_cards"])}</ol>'
        "\n</div>"
    )


def render_walk_warnings(w: dict, oob: bool = False) -> Markup:
    """``<div id="walk-warnings">``: the model's warnings and the IMPLEMENTATION DEFINED
    choices the walk depended on."""
    out = [f'<div id="walk-warnings"{_oob(oob)}>\n']
    if w["warnings"] or w["choices_used"]:
        items = [
            f'<li><span class="badge warn">⚠ {e(x["code"])}</span> {e(x["message"])}</li>'
            for x in w["warnings"]
        ]
        items += [
            f'<li><span class="badge used">IMPLEMENTATION DEFINED</span> {e(title)}: '
            f"<strong>{e(value)}</strong>{f' — {e(help_)}' if help_ else ''}</li>"
            for title, value, help_ in w["choices_used"]
        ]
        out.append(
            '  <section class="warnings" aria-labelledby="warn-title">\n'
            '    <h3 id="warn-title">Warnings and choices taken</h3>\n'
            f"    <ul>\n      {''.join(items)}\n    </ul>\n  </section>\n"
        )
    out.append("</div>")
    return Markup("".join(out))


def render_walk_help(w: dict, field_help_html: Callable[..., Markup], oob: bool = False) -> Markup:
    """``<div id="walk-help">``: field help for each descriptor format the walk shows, once
    per format (the cards link here; their bit groups point here with aria-describedby)."""
    out = [f'<div id="walk-help"{_oob(oob)}>\n']
    if w["help"]:
        blocks = "".join(str(field_help_html(h["fields"], h["title"], h["id"])) for h in w["help"])
        out.append(
            '  <section class="deschelp" aria-labelledby="deschelp-title">\n'
            '    <h3 id="deschelp-title">Descriptor fields</h3>\n'
            f"    {blocks}\n  </section>\n"
        )
    out.append("</div>")
    return Markup("".join(out))


def render_choices(choices: list[dict], oob: bool = False) -> Markup:
    """``<fieldset id="choices">``: the IMPLEMENTATION DEFINED choices, one select each."""
    out = [
        f'<fieldset id="choices" class="choices"{_oob(oob)}>\n'
        "  <legend>IMPLEMENTATION DEFINED choices</legend>\n"
    ]
    for c in choices:
        cid = e(c["id"])
        used = ' <span class="badge used">used by this walk</span>' if c["used"] else ""
        invalid = ' aria-invalid="true"' if c["error"] else ""
        options = "".join(
            f'<option value="{e(v)}"{" selected" if v == c["value"] else ""}>{e(label)}</option>'
            for v, label, _ in c["options"]
        )
        out.append(
            '  <div class="ctl">\n'
            f'    <label for="{cid}">{e(c["title"])}{used}</label>\n'
            f'    <select id="{cid}" name="{e(c["name"])}" aria-describedby="{cid}-help"'
            f"{invalid}>\n      {options}\n    </select>\n"
            f'    <p class="hint" id="{cid}-help">{e(c["help"])}</p>\n'
            f"    {_error_html(c['id'], c['error'])}\n  </div>\n"
        )
    out.append("</fieldset>")
    return Markup("".join(out))


def render_va_input(setup: dict, oob: bool = False) -> Markup:
    """The input address box; an edit that changes only the address swaps just this."""
    message = setup["errors"].get("va", "")
    return Markup(
        f'<input id="va" name="va" class="hex" value="{e(setup["va"])}" spellcheck="false" '
        f'autocomplete="off" inputmode="text"{_invalid_attrs("va", message)}{_oob(oob)}>'
    )


def render_fragment(
    view: dict,
    regions: dict,
    *,
    cards: list[dict],
    share: ShareLinks,
    template: Callable[[str, dict], str],
    field_help_html: Callable[..., Markup],
) -> str:
    """The out-of-band regions of an htmx answer. ``regions`` names what to send (see
    ``app.routes.explorer.changed_regions``); ``cards`` are single cards to re-send (the
    marked ones of a rejected edit); ``share`` the share panel's links of the state;
    ``template(name, view)`` renders a partial template with ``oob`` set, for the regions
    that are still templates."""
    out = [
        f'<input type="hidden" id="from" name="from" value="{e(view["query"])}"{OOB}>',
        f'<div id="status" hx-swap-oob="innerHTML">{e(view["status_message"])}</div>',
    ]
    if view["link_problems"] or view["errors"]:
        out.append(template("partials/messages.html", view))
    else:
        out.append(f'<div id="messages" class="messages"{OOB}></div>')
    if "summary" in regions:
        out.append(render_summary(view))
    if "setup" in regions:
        out.append(template("partials/setup.html", view))
    elif "setup-va" in regions:
        out.append(render_va_input(view["setup"], oob=True))
    if "presets" in regions:
        out.append(template("partials/presets.html", view))
    share_part = regions.get("share")
    if share_part == "update":
        out.append(share_update(share))
    elif share_part:
        out.append(share_region(share, oob=True))
    if "registers" in regions:
        out.append(template("partials/registers.html", view))
    else:
        whole, part = regions.get("register", ()), regions.get("register_part", ())
        for r in view["registers"]:
            if r["param"] in whole:
                out.append(render_register(r, field_help_html, oob=True))
            elif r["param"] in part:
                out.append(render_register_update(r))
    if "choices" in regions:
        out.append(render_choices(view["choices"], oob=True))
    w = view["walk"]
    if "walk" in regions:
        out.append(template("partials/walk.html", view))
    else:
        if "walk-head" in regions:
            out.append(render_walk_head(w, oob=True))
        for i in sorted(regions.get("slots", ())):
            out.append(card_slot("main", w["cards"], i, oob=True))
        if "walk-final-head" in regions:
            out.append(render_walk_final_head(w, oob=True))
        for i in sorted(regions.get("final_slots", ())):
            out.append(card_slot("final", w["final_cards"], i, oob=True))
        if "walk-oa" in regions:
            out.append(render_walk_oa(w, oob=True))
        if "walk-warnings" in regions:
            out.append(render_walk_warnings(w, oob=True))
        if "walk-help" in regions:
            out.append(render_walk_help(w, field_help_html, oob=True))
        out.extend(render_card(c, oob=True) for c in cards)
    if "linux" in regions:
        out.append(template("partials/linux_region.html", view))
    return "\n".join(str(part) for part in out)
