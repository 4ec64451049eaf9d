"""Bit grids, the input-address strip, decoded-field tables and field help: the markup a
click re-renders most, built from plans of fixed strings (remembered per layout) so that a
value only picks and joins them."""

from __future__ import annotations

from markupsafe import Markup

from app.cache import lru, memo
from app.render.html import esc, escaped
from app.views.common import BitGrid, FieldHelp, bit_range, slug_id
from app.views.walk import AddressView, DecodedFields
from model.arch.fields import LAYOUTS, Layout

# A grid's markup is fixed by its layout, labels and the control it flips; only the pressed
# state of each bit and the value shown in each field's label follow the register or
# descriptor value. A plan holds the fixed strings once per layout and labels; rendering a
# value joins them. The control name (``r.tcr_el1``, ``m.0x…``) is written as a placeholder
# and put in with one ``str.replace``, so every descriptor address shares one plan.
_FLIP_SLOT = "\x00"
_RUN = 4


def bit_runs(hi: int, lo: int) -> list[tuple[int, int]]:
    """Bits ``hi`` down to ``lo`` in runs of at most ``_RUN`` bits, high run first."""
    return [(top, max(lo, top - _RUN + 1)) for top in range(hi, lo - 1, -_RUN)]


@memo("button_runs")
def button_run(hi: int, lo: int, control: str, field: str = "") -> tuple[str, ...]:
    """The bit buttons of bits ``hi`` down to ``lo`` (``value="<control>:<bit>"``) for every
    value of those bits (index = the bits' value): ``aria-pressed`` and the shown digit follow
    each bit. Each button's name starts with the digit it shows (so voice control's "click 1"
    finds it) and says the field and bit number ("1, DS bit 59"); static/js/explorer.js shows
    the same words in one shared tooltip on hover and focus (no element per bit)."""
    named = f"{esc(field)} bit" if field else "bit"

    def button(b: int, on: int) -> str:
        return (
            f'<button name="flip" value="{control}:{b}" '
            f'aria-pressed="{"true" if on else "false"}" aria-label="{on}, {named} {b}">'
            f"{on}</button>"
        )

    return tuple(
        "".join(button(b, (v >> (b - lo)) & 1) for b in range(hi, lo - 1, -1))
        for v in range(1 << (hi - lo + 1))
    )


class GridPlan:
    """The fixed strings of one bit grid: ``head``, then per field group the text before its
    value (``pre``), the field whose value the label shows (``None`` for gaps), the text up to
    the buttons (``mid``) and the group's runs of buttons (see ``button_run``)."""

    __slots__ = ("head", "groups")

    def __init__(self, layout: Layout, id_prefix: str, label: str, cls: str, compact: bool):
        self.head = f'<div class="bitgrid {esc(cls)}" role="group" aria-label="{esc(label)}">'
        self.groups: list[tuple[str, tuple[int, int, bool] | None, str, tuple]] = []
        top = layout.width - 1
        for spec in layout.fields:
            if spec.hi < top and not compact:
                self._group("", top, spec.hi + 1, None, "", "gap", False)
            address = spec.kind == "address" or spec.name.startswith(("OA", "NLTA"))
            shown = (spec.lo, (1 << spec.width) - 1, spec.width == 1)
            help_id = f"{id_prefix}-h-{slug_id(spec.name)}"
            self._group(spec.name, spec.hi, spec.lo, shown, help_id, spec.kind, address)
            top = spec.lo - 1
        if top >= 0 and not compact:
            self._group("", top, 0, None, "", "gap", False)

    def _group(
        self,
        name: str,
        hi: int,
        lo: int,
        shown: tuple[int, int, bool] | None,
        help_id: str,
        kind: str,
        address: bool,
    ) -> None:
        n = hi - lo + 1
        classes = f"fg k-{kind}" + (" addr" if address else "")
        classes += " w1" if n == 1 else " wide" if n > 16 else ""
        # The label reads "<field> [hi:lo] = <value>"; the value is the only part that varies
        # and is a number (decimal or 0x-hex), so it needs no escaping.
        pre = f'<div class="{classes}" role="group" aria-label="{esc(name or "not described")}'
        pre += f" {bit_range(hi, lo)}"
        described = f' aria-describedby="{esc(help_id)}"' if help_id else ""
        mid = (
            f'"{described}><span class="fl" aria-hidden="true">'
            f'<span class="fn">{esc(name or "·")}</span>'
            f' <span class="fr">{bit_range(hi, lo)}</span></span><span class="bits">'
        )
        # The buttons in runs of up to four bits, each run as all its 16 pressed/unpressed
        # variants: a value picks one string per run instead of testing every bit.
        runs = tuple(
            (run_lo, (1 << (run_hi - run_lo + 1)) - 1, button_run(run_hi, run_lo, _FLIP_SLOT, name))
            for run_hi, run_lo in bit_runs(hi, lo)
        )
        self.groups.append((pre, shown if name else None, mid, runs))

    def render(self, value: int, flip: str) -> Markup:
        out = [self.head]
        append = out.append
        for pre, shown, mid, runs in self.groups:
            append(pre)
            if shown is not None:
                lo, mask, one_bit = shown
                v = (value >> lo) & mask
                append(f" = {v}" if one_bit else f" = {v:#x}")
            append(mid)
            for run_lo, mask, variants in runs:
                append(variants[(value >> run_lo) & mask])
            append("</span></div>")
        append("</div>")
        return Markup("".join(out).replace(_FLIP_SLOT, esc(flip)))


@memo("grid_plans")
def grid_plan(layout_name: str, id_prefix: str, label: str, cls: str, compact: bool) -> GridPlan:
    """One plan per layout and labels (a bounded set: the model's layouts times the page's
    registers and levels)."""
    return GridPlan(LAYOUTS[layout_name], id_prefix, label, cls, compact)


_grids = lru("grid_html")


def bit_grid(grid: BitGrid) -> Markup:
    """A 64-bit grid: one ``<button aria-pressed>`` per bit, grouped and labelled by field
    (gaps between fields become unnamed groups); remembered, as a click changes one or two."""
    html = _grids.get(grid)
    if html is None:
        plan = grid_plan(grid.layout, grid.id_prefix, grid.label, grid.cls, grid.compact)
        html = _grids.put(grid, plan.render(grid.value, grid.control))
    return html


_strips = lru("strip_html")


def address_strip(a: AddressView) -> str:
    """The input-address strip: one group per role, one ``<button aria-pressed>`` per bit
    (remembered by the view: a fault edit re-sends the walk head, not a new address)."""
    return _strips.get_or_make(a, lambda: _address_strip(a))


def _address_strip(a: AddressView) -> str:
    name, address = a.name, a.address
    out = [f'<div class="strip" role="group" aria-label="{name} bits by role">']
    for s in a.segments:
        label = esc(s.label)
        note = f" · {esc(s.note)}" if s.note else ""
        head = f"{name}{s.range} = {s.value:#x}"
        buttons = "".join(
            button_run(top, bottom, "va", name)[
                (address >> bottom) & ((1 << (top - bottom + 1)) - 1)
            ]
            for top, bottom in bit_runs(s.hi, s.lo)
        )
        out.append(
            f'<div class="seg r-{esc(s.role)}" role="group" aria-label="{label} {head}">'
            f'<span class="sl" aria-hidden="true"><b>{label}</b> {head}{note}</span>'
            f'<span class="bits">{buttons}</span></div>'
        )
    out.append("</div>")
    return "".join(out)


# -- decoded fields ---------------------------------------------------------------------------


class _RowsPlan:
    """Per layout, the fixed start of each shown field's row; a value adds its number and
    meaning (``Field.meaning``, the same text ``Layout.decode_rows`` gives)."""

    def __init__(self, layout: Layout) -> None:
        self.rows = [
            (
                f'<tr><th scope="row">{esc(f.name)}</th><td>{bit_range(f.hi, f.lo)}</td><td><code>',
                f,
                f.name.startswith("RES"),
            )
            for f in layout.fields
            if not f.name.startswith("IGN")
        ]

    def render(self, raw: int) -> str:
        out = []
        for start, f, hidden_when_zero in self.rows:
            v = (raw >> f.lo) & ((1 << (f.hi - f.lo + 1)) - 1)
            if hidden_when_zero and v == 0:
                continue
            out.append(f"{start}{v:#x}</code></td><td>{escaped(f.meaning_in(raw, v))}</td></tr>")
        return "".join(out)


@memo("rows_plans")
def _rows_plan(layout_name: str) -> _RowsPlan:
    return _RowsPlan(LAYOUTS[layout_name])


_rows = lru("rows_html")


def decoded_rows(decoded: DecodedFields) -> str:
    """A descriptor's decoded-fields table rows (IGN fields and zero RES0 fields left out),
    remembered per layout and value."""
    return _rows.get_or_make(decoded, lambda: _rows_plan(decoded.layout).render(decoded.value))


# -- field help -------------------------------------------------------------------------------

_help = lru("field_help_html")


def field_help(help_: FieldHelp) -> str:
    """A layout's field help as a disclosure: name, bits, sentence, LPA2 note, encodings."""
    return _help.get_or_make(help_, lambda: _field_help(help_))


def _field_help(help_: FieldHelp) -> str:
    e = esc
    id_attr = f' id="{e(help_.id)}"' if help_.id else ""
    out = [f'<details class="fhelp"{id_attr}><summary>{e(help_.title)}</summary>\n<dl>']
    for h in help_.entries:
        lpa2 = f' <strong class="lpa2">LPA2: {e(h.lpa2)}</strong>' if h.lpa2 else ""
        values = ""
        if h.encodings:
            listed = "; ".join(f"{e(k)} = {e(v)}" for k, v in h.encodings)
            values = f' <span class="vals">Values: {listed}.</span>'
        out.append(
            f'\n<dt>{e(h.name)} <span class="fr">{e(h.range)}</span></dt>\n'
            f'<dd id="{e(h.id)}">{e(h.text)}{lpa2}{values}</dd>'
        )
    out.append("\n</dl>\n</details>")
    return "".join(out)
