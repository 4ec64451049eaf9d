"""The walk section, in regions an edit can replace one by one: the head (outcome, fault,
input address), a fixed number of card slots per card list (unused ones empty and hidden, so
cards that come or go are slot swaps), the final stage-2 head, the output, warnings and
descriptor field help."""

from __future__ import annotations

from markupsafe import Markup

from app.cache import lru
from app.render.grids import address_strip, bit_grid, decoded_rows, field_help
from app.render.html import error_html, esc, invalid_attrs, oob_attr, yesno
from app.views.fault import FaultView
from app.views.walk import CardView, NestedWalk, UpdateView, WalkView, card_slots

e = esc


# -- cards --------------------------------------------------------------------------------------

_cards = lru("card_html")


def card(c: CardView, oob: bool = False) -> str:
    """``<article id="card-…">``: one descriptor read, its editor and decoded fields (the
    inside remembered by the view)."""
    cid = e(c.id)
    inside = _cards.get_or_make(c, lambda: _card_inside(c))
    # The read's address and value ride on the card itself, for scripts and tests that read
    # the page (a descriptor read twice has its value box on one card only).
    data = f' data-address="{e(c.desc_address)}" data-value="{e(c.raw)}"' if c.grid else ""
    return (
        f'<article id="{cid}" class="card k-{e(c.kind)}{" changed" if c.changed else ""}" '
        f'aria-labelledby="{cid}-title"{data}{oob_attr(oob)}>\n{inside}</article>'
    )


# Where a card's descriptor came from, as a badge.
_SOURCE_BADGES = {
    "set": '<span class="badge changed">✎ set by this link</span>',
    "background": '<span class="badge synth">background tables</span>',
    "empty": '<span class="badge empty">nothing stored here (reads 0)</span>',
    "image": '<span class="badge image">from the memory image</span>',
}


def _card_inside(c: CardView) -> str:
    cid = e(c.id)
    heading = f"Stage {c.stage}, level {c.level}"
    if c.nested_in:
        heading += f" (for the {c.nested_in} table read)"
    out = [
        f'  <header class="cardhead">\n'
        f'    <h3 id="{cid}-title"><span class="lv">{"S2 " if c.stage == 2 else ""}'
        f"L{c.level}</span> {heading}: "
        f'<span class="kind">{e(c.kind)}</span></h3>\n'
    ]
    badge = _SOURCE_BADGES.get(c.source)
    if badge:
        out.append(f"    {badge}\n")
    base = e(c.table_base)
    ipa = c.desc_ipa
    out.append(
        f'  </header>\n  <dl class="calc">\n'
        f"    <dt>Table base</dt><dd><code>{base}</code> "
        f'<span class="why">from {e(c.origin)}</span></dd>\n'
        f"    <dt>Index</dt><dd>{e(c.input_name)}{e(c.index_range)} = "
        f"<code>{e(c.index_hex)}</code> ({c.index})</dd>\n"
        f"    <dt>Descriptor address</dt><dd><code>{base}</code> + {c.index} × 8 = "
        f"<code>{e(ipa or c.desc_address)}</code>"
        + (f" (an IPA) → PA <code>{e(c.desc_address)}</code>" if ipa else "")
        + "</dd>\n  </dl>\n"
    )
    if c.nested:
        out.append(_nested(c.nested))
    if c.update:
        out.append(_update(c.update))
    if c.grid is not None:
        out.append(_editor(c))
    return "".join(out)


def _update(u: UpdateView) -> str:
    """A hardware update of the descriptor (FEAT_HAFDBS): old -> new value and what memory
    would hold; the walk never changes memory itself."""
    out = (
        '  <div class="hwupdate" role="group" aria-label="Hardware update">\n'
        f'    <p class="nt">Hardware update ({e(u.changes)}): <code>{e(u.old)}</code> → '
        f"<code>{e(u.new)}</code>{'' if u.written else ' (not written)'}</p>\n"
        f'    <p class="why">{e(u.explanation)}</p>\n'
    )
    if u.fault:
        out += f'    <p class="err">{e(u.fault)}</p>\n'
    return out + "  </div>\n"


def _nested(nested: NestedWalk) -> str:
    """The stage-2 walk that translated the table address: its reads as cards (editable like
    any other), folded unless that walk faulted."""
    fault = f' <span class="err">{e(nested.fault)}</span>' if nested.fault else ""
    cards = "".join(f"<li>{card(c)}</li>" for c in nested.cards)
    return (
        f'  <details class="nested"{" open" if nested.fault else ""}>\n'
        f"    <summary>Stage 2 translated the table address <code>{e(nested.input)}</code>"
        f" → <code>{e(nested.output)}</code> ({len(nested.cards)} reads){fault}</summary>\n"
        f'    <ol class="cards nested-cards">{cards}</ol>\n  </details>\n'
    )


def _editor(c: CardView) -> str:
    """The descriptor's value box, bit grid, result, quick actions and decoded fields."""
    hid = c.hex_id
    if c.hex_name:
        box = (
            f'    <label for="{e(hid)}">Descriptor value</label>\n'
            f'    <input id="{e(hid)}" name="{e(c.hex_name)}" class="hex" '
            f'value="{e(c.hex_text)}"'
            f' spellcheck="false" autocomplete="off"{invalid_attrs(hid, c.error)}>\n'
            f"    {error_html(hid, c.error)}\n"
        )
    else:  # the same descriptor read again: its value box is on its first card
        box = f'    <span class="hexro">Descriptor value <code>{e(c.raw)}</code></span>\n'
    out = [
        f'  <div class="hexctl">\n{box}'
        f'    <span class="layout">{e(c.layout_title)} · '
        f'<a href="#{e(c.help_ref)}">field help</a></span>\n'
        f'  </div>\n  {bit_grid(c.grid) if c.grid else ""}\n  <p class="result">\n'
    ]
    if c.next_address:
        out.append(f"    Next table at <code>{e(c.next_address)}</code>\n")
    if c.output_address:
        out.append(f"    Output address <code>{e(c.output_address)}</code>\n")
    if c.table_attrs:
        out.append(f'    <span class="tattrs">Table attributes: {e(c.table_attrs)}</span>\n')
    out.append("  </p>\n")
    if c.actions:
        buttons = "".join(
            f'<button type="submit" name="act" value="{e(a.value)}" class="act" '
            f'title="{e(a.why)}"{"" if a.allowed else " disabled"}>'
            f"{e(a.label)}</button>"
            for a in c.actions
        )
        out.append(
            f'  <div class="actions" role="group" aria-label="Quick actions for level '
            f'{c.level}">\n    {buttons}\n  </div>\n'
        )
    if c.decoded:
        out.append(
            '  <details class="decoded"><summary>Decoded fields</summary>\n'
            '    <table><thead><tr><th scope="col">Field</th><th scope="col">Bits</th>'
            '<th scope="col">Value</th><th scope="col">Meaning</th></tr></thead>\n'
            f"    <tbody>{decoded_rows(c.decoded)}</tbody></table>\n  </details>\n"
        )
    return "".join(out)


def card_slot(kind: str, cards: tuple[CardView, ...], i: int, oob: bool = False) -> str:
    """``<li id="slot-<kind>-<i>">``: card ``i`` of a card list (``main``, ``final``), or an
    empty, hidden item when the walk has fewer cards than slots."""
    if i < len(cards):
        return f'<li id="slot-{kind}-{i}"{oob_attr(oob)}>{card(cards[i])}</li>'
    return f'<li id="slot-{kind}-{i}" hidden{oob_attr(oob)}></li>'


def card_list(kind: str, cards: tuple[CardView, ...]) -> str:
    """A walk's card list with every slot."""
    return "".join(card_slot(kind, cards, i) for i in range(card_slots(cards)))


# -- the head -------------------------------------------------------------------------------------


def _field_table(caption: str, rows: tuple) -> str:
    body = "".join(
        f'<tr><th scope="row">{e(r.name)}</th><td>{e(r.bits)}</td><td><code>{e(r.value)}</code>'
        f"</td><td>{e(r.meaning)}</td></tr>"
        for r in rows
    )
    return (
        f'<details class="decoded"><summary>{caption}</summary><table><thead><tr>'
        '<th scope="col">Field</th><th scope="col">Bits</th><th scope="col">Value</th>'
        f'<th scope="col">Meaning</th></tr></thead><tbody>{body}</tbody></table></details>'
    )


def _remedies(f: FaultView) -> str:
    if not f.remedies:
        return f"<dd>{e(f.fix)}</dd>"
    items = "".join(
        f'<li><a href="{e(r.href)}">{e(r.label)}</a></li>'
        if r.href
        else f'<li><button type="submit" name="{e(r.name)}" value="{e(r.value)}" class="fix">'
        f"{e(r.label)}</button></li>"
        for r in f.remedies
    )
    return f'<dd>{e(f.fix)}<ul class="fixes" aria-label="Apply a change">{items}</ul></dd>'


def fault(w: WalkView) -> str:
    """The walk's fault in full: kind, level, stage, FSC; for a stage-2 fault on a stage-1
    table walk, S1PTW and the IPA of the table read; PAR_EL1, and the exception an access
    would take (ESR_ELx decoded, FAR, HPFAR_EL2), each decoded by its field table; the rule,
    and the changes that avoid it as buttons."""
    f = w.fault
    if f is None:
        return ""
    s1ptw = " (on a stage-1 table walk)" if f.s1ptw else ""
    out = [
        '<section class="fault" aria-labelledby="fault-title">\n'
        f'  <h2 id="fault-title"><span aria-hidden="true">✗ </span>'
        f"{e(f.kind.capitalize())} fault, level {e(f.level)}, stage {f.stage}"
        f"{s1ptw}</h2>\n"
        '  <dl class="faultinfo">\n'
        f"    <dt>FSC</dt><dd><code>{e(f.fsc)}</code> (<code>{e(f.fsc_bin)}</code>) "
        f"{e(f.fsc_name)}</dd>\n"
    ]
    if f.s1ptw:
        table = f"the level {f.table_level} table entry" if f.table_level is not None else "a table"
        out.append(
            f"    <dt>S1PTW</dt><dd>1: stage 2 faulted while translating {table} at IPA "
            f"<code>{e(f.ipa)}</code> for stage 1</dd>\n"
        )
    elif f.stage == 2 and f.ipa:
        out.append(f"    <dt>IPA</dt><dd><code>{e(f.ipa)}</code></dd>\n")
    out.append(
        f"    <dt>PAR_EL1</dt><dd><code>{e(f.par)}</code> (after AT) "
        f"{_field_table('PAR_EL1 fields', f.par_fields)}</dd>\n"
    )
    s = f.syndrome
    if s is not None:
        el = s.target_el
        out.append(
            f"    <dt>ESR_EL{el}</dt><dd><code>{e(s.esr)}</code>: EC <code>{e(s.ec)}</code> "
            f"{e(s.ec_name)}, IL=1, ISS <code>{e(s.iss)}</code> (WnR={int(f.wnr)}, "
            f"S1PTW={int(f.s1ptw)}), taken to EL{el} "
            f"{_field_table('ISS fields', s.iss_fields)}</dd>\n"
        )
        if s.far:
            out.append(f"    <dt>FAR_EL{el}</dt><dd><code>{e(s.far)}</code> (the VA)</dd>\n")
        if s.hpfar:
            out.append(
                f"    <dt>HPFAR_EL2</dt><dd><code>{e(s.hpfar)}</code> "
                f"(FIPA = IPA[51:12] = <code>{e(s.fipa)}</code>)</dd>\n"
            )
    out.append(
        f'    <dt>Rule</dt><dd>{e(f.message)} <span class="rule">({e(f.rule)})</span></dd>\n'
        f"    <dt>What to change</dt>{_remedies(f)}\n  </dl>\n</section>"
    )
    return "".join(out)


def _memory(w: WalkView) -> str:
    """What the walk reads: the descriptors the link sets over background tables, and a
    Re-fill button when those tables were built for other registers."""
    m = w.memory
    if m.image:
        return ""
    refill = (
        ' <button type="submit" name="refill" value="1" class="act">Re-fill the tables for '
        "the current registers</button>"
        if m.can_refill
        else ""
    )
    count = f"{m.set_count} descriptor{'s' if m.set_count != 1 else ''}"
    return (
        f'  <p class="memory">Memory: {count} set by this link, over background tables built '
        f"for {e(m.tables_for)}.{refill}</p>\n"
    )


def walk_head(w: WalkView, oob: bool = False) -> Markup:
    """``<div id="walk-head">``: the outcome badge, the fault, the input address strip and the
    walk parameters."""
    badge = (
        '<span class="badge ok">✓ translates</span>'
        if w.ok
        else '<span class="badge bad">✗ faults</span>'
    )
    out = [f'<div id="walk-head"{oob_attr(oob)}>\n  <h2 id="walk-title">The walk {badge}</h2>\n']
    out.append(_memory(w))
    if w.fault:
        out.append(f"  {fault(w)}\n")
    a = w.address
    if a:
        params = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in a.params)
        out.append(
            '  <section class="addr" aria-labelledby="addr-title">\n'
            f'    <h3 id="addr-title">Input address {e(a.name)} <code>{a.address:#x}</code>'
            f"</h3>\n    {address_strip(a)}\n"
            '    <details class="params"><summary>Walk parameters</summary>\n'
            f"      <dl>{params}</dl>\n    </details>\n  </section>\n"
        )
    out.append("</div>")
    return Markup("".join(out))


def walk_final_head(w: WalkView, oob: bool = False) -> Markup:
    """``<div id="walk-final-head">``: the title of a two-stage walk's final stage 2 (empty
    when there is none)."""
    title = ""
    if w.has_final:
        title = f'<h3 class="s2title">Stage 2 of the output IPA <code>{e(w.ipa)}</code></h3>'
    return Markup(f'<div id="walk-final-head"{oob_attr(oob)}>{title}</div>')


def walk_final(w: WalkView) -> str:
    """``<div id="walk-final">``: the stage-2 walk of a two-stage walk's output IPA, its title
    and card slots."""
    return (
        f'<div id="walk-final">\n  {walk_final_head(w)}\n'
        f'  <ol class="cards" id="cards-final">{card_list("final", w.final_cards)}</ol>'
        "\n</div>"
    )


# -- the output ----------------------------------------------------------------------------------


def _attr_table(caption: str, rows: tuple[tuple[str, str], ...]) -> str:
    body = "".join(f'<tr><th scope="row">{e(k)}</th><td>{e(v)}</td></tr>' for k, v in rows)
    return f'<table class="attrtable"><caption>{caption}</caption><tbody>{body}</tbody></table>'


def walk_output(w: WalkView, oob: bool = False) -> Markup:
    """``<div id="walk-oa">``: the output address by source, the attributes, the permissions
    and PAR_EL1."""
    out = []
    oa = w.output
    if oa:
        out.append(
            '  <section class="oa" aria-labelledby="oa-title">\n'
            f'    <h3 id="oa-title">Output address <code>{oa.address:#x}</code></h3>\n'
            '    <div class="strip" role="group" aria-label="Output address bits by source">\n'
        )
        for s in oa.segments:
            bits = "".join(
                f'<span class="rbit" title="OA bit {b}">{(oa.address >> b) & 1}</span>'
                for b in range(s.hi, s.lo - 1, -1)
            )
            moved = ' <span class="moved">(moved)</span>' if s.moved else ""
            rng, origin, value = s.range, e(s.origin), f"{s.value:#x}"
            out.append(
                f'      <div class="seg src-{e(s.source)}" role="group" '
                f'aria-label="OA{rng} from {origin} = {value}">\n'
                f'        <span class="sl"><b>OA{rng}</b> ← {origin}{moved} = {value}</span>\n'
                f'        <span class="bits ro">{bits}</span>\n      </div>\n'
            )
        out.append('    </div>\n    <div class="attrs">\n')
        caption = "Attributes (combined)" if w.attrs_stages else "Attributes"
        out.append(f"      {_attr_table(caption, w.attrs)}\n")
        for title, rows in w.attrs_stages:
            out.append(f"      {_attr_table(f'{e(title)} attributes', rows)}\n")
        for p in w.perms:
            rows_html = "".join(
                f'<tr><th scope="row">{e(el)}</th>'
                + "".join(f"<td>{yesno(ok)}</td>" for _, ok in cells)
                + "</tr>"
                for el, cells in p.rows
            )
            title = f" ({e(p.title)})" if p.title else ""
            notes = (
                '<ul class="why">' + "".join(f"<li>{e(n)}</li>" for n in p.notes) + "</ul>"
                if p.notes
                else ""
            )
            out.append(
                '      <div class="permblock">\n'
                f'      <table class="perms"><caption>Permissions{title}</caption>\n'
                '        <thead><tr><th scope="col">Level</th><th scope="col">Read</th>'
                '<th scope="col">Write</th><th scope="col">Execute</th></tr></thead>\n'
                f"        <tbody>{rows_html}</tbody>\n      </table>\n      {notes}\n"
                "      </div>\n"
            )
        out.append(f"      <p>PAR_EL1 <code>{e(w.par)}</code></p>\n    </div>\n  </section>\n")
    return _holder("walk-oa", "".join(out), oob)


def _holder(region_id: str, inside: str, oob: bool) -> Markup:
    """A region that is a ``<div>`` holding a section, or nothing, by id."""
    return Markup(f'<div id="{region_id}"{oob_attr(oob)}>\n{inside}</div>')


def _section(cls: str, title_id: str, title: str, body: str) -> str:
    return (
        f'  <section class="{cls}" aria-labelledby="{title_id}">\n'
        f'    <h3 id="{title_id}">{title}</h3>\n    {body}\n  </section>\n'
    )


def walk_warnings(w: WalkView, oob: bool = False) -> Markup:
    """``<div id="walk-warnings">``: the model's warnings and the IMPLEMENTATION DEFINED
    choices the walk depended on."""
    section = ""
    if w.warnings or w.choices_used:
        items = [
            f'<li><span class="badge warn">⚠ {e(code)}</span> {e(message)}</li>'
            for code, message in w.warnings
        ]
        items += [
            f'<li><span class="badge used">IMPLEMENTATION DEFINED</span> {e(title)}: '
            f"<strong>{e(value)}</strong>{f' — {e(help_)}' if help_ else ''}</li>"
            for title, value, help_ in w.choices_used
        ]
        listed = f"<ul>\n      {''.join(items)}\n    </ul>"
        section = _section("warnings", "warn-title", "Warnings and choices taken", listed)
    return _holder("walk-warnings", section, oob)


def walk_help(w: WalkView, oob: bool = False) -> Markup:
    """``<div id="walk-help">``: field help for each descriptor format the walk shows, once
    per format (the cards link here; their bit groups point here with aria-describedby)."""
    section = ""
    if w.help:
        blocks = "".join(field_help(h) for h in w.help)
        section = _section("deschelp", "deschelp-title", "Descriptor fields", blocks)
    return _holder("walk-help", section, oob)


def walk_section(w: WalkView, oob: bool = False) -> Markup:
    """``<section id="walk">``: the whole walk, region by region."""
    return Markup(
        f'<section id="walk" class="walk" aria-labelledby="walk-title" tabindex="-1"'
        f"{oob_attr(oob)}>\n"
        f"  {walk_head(w)}\n"
        f'  <ol class="cards" id="cards-main">\n    {card_list("main", w.cards)}\n  </ol>\n'
        f"  {walk_final(w)}\n  {walk_output(w)}\n  {walk_warnings(w)}\n  {walk_help(w)}\n"
        "</section>"
    )
