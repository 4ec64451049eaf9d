"""The registers section: each register as a ``<details>`` (summary line, value box, bit grid,
field controls, field help). A click that changes a register's value but not its layout or
disclosure state re-sends only its summary line and body (``register_update``)."""

from __future__ import annotations

from markupsafe import Markup

from app.cache import lru
from app.render.grids import bit_grid, field_help
from app.render.html import described_attrs, error_html, esc, invalid_attrs, oob_attr, options_html
from app.views.registers import RegisterView


def register_summary(r: RegisterView, oob: bool = False) -> str:
    """``<summary id="reg-…-sum">``: name, value, edited badge, key fields."""
    e = esc
    rid = e(r.id)
    kf = "".join(f' <span class="kf">{e(k)}</span>' for k in r.key_fields)
    badge = ' <span class="badge changed">✎ edited</span>' if r.edited else ""
    return (
        f'<summary class="reghead" id="{rid}-sum"{oob_attr(oob)}>\n'
        f'    <h3 id="{rid}-title">{e(r.name)} '
        f'<span class="layout">{e(r.title)}</span></h3>\n'
        f'    <span class="regsum"><code>{e(r.value)}</code>{badge}{kf}</span>\n'
        f"  </summary>"
    )


def register_body(r: RegisterView, oob: bool = False) -> str:
    """``<div id="reg-…-body">``: what a bit click changes inside a register (its value box,
    bit grid and field controls); the field help after it stays as it is."""
    e = esc
    hid = r.hex_id
    out = [
        f'<div id="{e(r.id)}-body"{oob_attr(oob)}>\n  <div class="hexctl">\n'
        f'    <label for="{e(hid)}">{e(r.name)} value</label>\n'
        f'    <input id="{e(hid)}" name="{e(r.hex_name)}" class="hex" '
        f'value="{e(r.hex_text)}" spellcheck="false" autocomplete="off"'
        f"{invalid_attrs(hid, r.error)}>\n"
        f"    {error_html(hid, r.error)}\n  </div>\n  {bit_grid(r.grid)}\n"
    ]
    if r.inputs:
        out.append('  <div class="fields">\n')
        for i in r.inputs:
            iid, err = i.id, i.error
            described = described_attrs(iid, i.help_id, err)
            out.append(
                f'    <div class="fctl">\n      <label for="{e(iid)}">{e(i.label)} '
                f'<span class="fr">{e(i.range)}</span></label>\n'
            )
            if i.options:
                out.append(
                    f'      <select id="{e(iid)}" name="{e(i.name)}"{described}>'
                    f"{options_html(i.options, i.value)}</select>\n"
                )
            else:
                kind, mode = ("hex", "text") if i.address else ("num", "numeric")
                out.append(
                    f'      <input id="{e(iid)}" name="{e(i.name)}" value="{e(i.value)}" '
                    f'class="{kind}" spellcheck="false" autocomplete="off" inputmode="{mode}"'
                    f"{described}>\n"
                )
            out.append(f"      {error_html(iid, err)}\n    </div>\n")
        out.append("  </div>\n")
    out.append("</div>")
    return "".join(out)


_registers = lru("register_html")


def register(r: RegisterView, oob: bool = False) -> Markup:
    """``<details id="reg-…">``: one register, summary, body and field help (the inside
    remembered by the view: a list of registers re-renders the unchanged ones from memory)."""
    inside = _registers.get_or_make(
        r, lambda: f"{register_summary(r)}\n  {register_body(r)}\n  {field_help(r.field_help)}"
    )
    return Markup(
        f'<details id="{esc(r.id)}" class="register{" edited" if r.edited else ""}"'
        f"{' open' if r.open else ''}{oob_attr(oob)}>\n  {inside}\n</details>"
    )


def register_update(r: RegisterView) -> Markup:
    """A changed register whose layout, help and disclosure state stay: only its summary line
    and body, each swapped out of band by id (the help block is not sent again)."""
    return Markup(f"{register_summary(r, True)}\n{register_body(r, True)}")


def registers_section(registers: tuple[RegisterView, ...], oob: bool = False) -> Markup:
    """``<section id="registers">``: every register of the regime."""
    body = "".join(register(r) for r in registers)
    return Markup(
        f'<section id="registers" class="registers" aria-labelledby="registers-title"'
        f"{oob_attr(oob)}>\n"
        f'  <h2 id="registers-title">Registers</h2>\n  {body}\n</section>'
    )
