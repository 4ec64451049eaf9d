"""View models: a ``Configuration`` and its ``WalkResult`` turned into plain dicts and lists for
the templates. Presentation only; every architectural answer comes from ``model``."""

from __future__ import annotations

from dataclasses import fields as dc_fields
from functools import cache, lru_cache
from html import escape as _html_escape
from typing import get_args, get_type_hints

from markupsafe import Markup

from app.cache import LRU
from app.state import encode
from model import CHOICE_HELP, CPU_PRESETS, Choices, CombinedAttributes, Regime
from model.arch.fields import Layout
from model.arch.geometry import FINAL_LEVEL
from model.arch.walker import StageWalk, WalkResult
from model.explore.actions import (
    ReadRef,
    address_segments,
    display_layout,
    quick_actions,
    regime_registers,
    register_layout,
)
from model.explore.configs import CONFIG_PRESETS, Configuration
from model.teach.linux import linux_view, view_key

MASK64 = (1 << 64) - 1

REGIME_LABELS = {
    Regime.EL10.value: "EL1&0 stage 1",
    Regime.EL2.value: "EL2 stage 1 (nVHE hyp)",
    Regime.EL20.value: "EL2&0 (VHE)",
    Regime.STAGE2.value: "Stage 2 alone",
    Regime.EL10_S12.value: "EL1&0 two-stage",
}
ACCESS_KINDS = {"r": "read", "w": "write", "x": "execute"}
# Registers shown as their named fields only (their other bits are not modelled).
COMPACT_REGISTERS = {"HCR_EL2", "SCTLR_EL1", "SCTLR_EL2"}
CHOICE_TITLES = {
    "txsz_out_of_range": "TxSZ out of range",
    "unimplemented_granule": "Unimplemented granule",
    "setup_fault_level": "Set-up fault level",
    "ds_validity": "When DS takes effect",
    "high_oa_bits": "High OA bits with a small PS",
}


def esc(value) -> str:
    """Text made safe for HTML content and attribute values (``& < > " '``); ``Markup`` is
    already safe and passes as it is. The hot renderers use this rather than
    ``markupsafe.escape``, which wraps every result in a new ``Markup`` (about three times
    the cost, and a click escapes a few hundred values)."""
    if isinstance(value, Markup):
        return value
    return _html_escape(str(value))


def hexv(value: int | None) -> str:
    return "—" if value is None else f"{value:#x}"


def bit_range(hi: int, lo: int) -> str:
    return f"[{hi}]" if hi == lo else f"[{hi}:{lo}]"


@lru_cache(maxsize=4096)
def slug_id(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text)


# -- bit grids --------------------------------------------------------------------------------


# A grid's markup is fixed by its layout, labels and the control it flips; only the pressed
# state of each bit and the value shown in each field's label follow the register or descriptor
# value. A plan holds the fixed strings once per layout and labels; rendering a value joins
# them. The control name (``r.tcr_el1``, ``m.0x…``) is written as a placeholder and put in with
# one ``str.replace``, so every descriptor address shares one plan.
_FLIP_SLOT = "\x00"


class GridPlan:
    """The fixed strings of one bit grid: ``head``, then per field group the text before its
    value (``pre``), the field whose value the label shows (``None`` for gaps), the text up to
    the buttons (``mid``) and the group's runs of buttons (see ``_button_run``)."""

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

    def _group(self, name, hi, lo, shown, help_id, kind, address) -> None:
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
            (run_lo, (1 << (run_hi - run_lo + 1)) - 1, _button_run(run_hi, run_lo, _FLIP_SLOT))
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


_RUN = 4


def bit_runs(hi: int, lo: int) -> list[tuple[int, int]]:
    """Bits ``hi`` down to ``lo`` in runs of at most ``_RUN`` bits, high run first."""
    return [(top, max(lo, top - _RUN + 1)) for top in range(hi, lo - 1, -_RUN)]


@cache
def _button_run(hi: int, lo: int, control: str, title: str = "") -> tuple[str, ...]:
    """The bit buttons of bits ``hi`` down to ``lo`` (``value="<control>:<bit>"``) for every
    value of those bits (index = the bits' value): ``aria-pressed`` and the shown digit follow
    each bit. ``title``: a tooltip "<title> bit <n>" (the address strip's)."""

    def button(b: int, on: int) -> str:
        tip = f' title="{title} bit {b}"' if title else ""
        return (
            f'<button name="flip" value="{control}:{b}" '
            f'aria-pressed="{"true" if on else "false"}" aria-label="bit {b}"{tip}>{on}</button>'
        )

    return tuple(
        "".join(button(b, (v >> (b - lo)) & 1) for b in range(hi, lo - 1, -1))
        for v in range(1 << (hi - lo + 1))
    )


_PLANS: dict[tuple, GridPlan] = {}


def grid_plan(layout: Layout, id_prefix: str, label: str, cls: str, compact: bool) -> GridPlan:
    """One plan per layout and labels (a bounded set: the model's layouts times the page's
    registers and levels)."""
    key = (layout.name, id_prefix, label, cls, compact)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = GridPlan(layout, id_prefix, label, cls, compact)
    return plan


_GRIDS: LRU[tuple, Markup] = LRU(4096)


def bit_grid(
    layout: Layout,
    value: int,
    flip: str,
    id_prefix: str,
    label: str,
    cls: str = "",
    compact: bool = False,
) -> Markup:
    """A 64-bit grid: one ``<button aria-pressed>`` per bit, grouped and labelled by field
    (gaps between fields become unnamed groups); remembered, as a click changes one or two."""
    key = (layout.name, value, flip, id_prefix, label, cls, compact)
    html = _GRIDS.get(key)
    if html is None:
        html = grid_plan(layout, id_prefix, label, cls, compact).render(value, flip)
        _GRIDS.put(key, html)
    return html


_HELP: LRU[tuple, list] = LRU(256)


def field_help(layout: Layout, id_prefix: str) -> list[dict]:
    return _HELP.get_or_make((layout.name, id_prefix), lambda: _field_help(layout, id_prefix))


def _field_help(layout: Layout, id_prefix: str) -> list[dict]:
    return [
        {
            "id": f"{id_prefix}-h-{slug_id(spec.name)}",
            "name": spec.name,
            "range": bit_range(spec.hi, spec.lo),
            "summary": spec.summary,
            "help": spec.help,
            "lpa2": spec.lpa2,
            "enc": [(f"{k:#x}" if spec.width > 1 else str(k), v) for k, v in spec.values.items()],
        }
        for spec in layout.fields
    ]


def layout_help(layout: Layout) -> dict:
    """One descriptor format's field reference (shown once per page, not once per card)."""
    return {
        "id": f"help-{slug_id(layout.name)}",
        "name": layout.name,
        "title": layout.title,
        "fields": field_help(layout, help_prefix(layout)),
    }


def help_prefix(layout: Layout) -> str:
    return f"lh-{slug_id(layout.name)}"


# -- registers --------------------------------------------------------------------------------


# Registers shown open: the translation controls. The others (TTBR, MAIR, SCTLR, HCR) show
# their value and key fields and open on demand, or when they differ from the preset.
OPEN_REGISTERS = {"TCR_EL1", "TCR_EL2", "VTCR_EL2"}
_REGISTERS: LRU[tuple, dict] = LRU(512)


def register_view(
    name: str, config: Configuration, result: WalkResult, errors: dict, typed: dict
) -> dict:
    param = name.lower()
    value = int(config.registers.get(name, 0)) & MASK64
    layout = register_layout(name, config.regime, result.params)
    mine = [k for k in (*errors, *typed) if k == f"r.{param}" or k.startswith(f"f.{param}.")]
    preset = CONFIG_PRESETS.get(config.slug)
    edited = preset is not None and value != int(preset.registers.get(name, 0)) & MASK64
    if mine:
        core = _register_core(name, layout, value, errors, typed)
        return {**core, "open": True, "edited": edited}
    # Shared between states (and so compared by identity when a click leaves it alone).
    return _REGISTERS.get_or_make(
        (name, layout.name, value, edited),
        lambda: {
            **_register_core(name, layout, value, {}, {}),
            "open": name in OPEN_REGISTERS or edited,
            "edited": edited,
        },
    )


_REGISTER_LISTS: LRU[tuple, list] = LRU(256)


def registers_view(
    config: Configuration, result: WalkResult, errors: dict, typed: dict
) -> list[dict]:
    """The regime's registers (``register_view`` each), the list shared between states with
    the same register values, preset and register formats."""
    names = regime_registers(config.regime, config.registers)
    if errors or typed:
        return [register_view(name, config, result, errors, typed) for name in names]
    s1, s2 = result.params.get("s1"), result.params.get("s2")
    key = (
        config.regime,
        config.slug,
        bool(s1 and s1.ttbr_52bit),  # what ``register_layout`` reads of the walk
        bool(s2 and s2.ttbr_52bit),
        tuple((name, config.registers.get(name, 0)) for name in names),
    )
    return _REGISTER_LISTS.get_or_make(
        key, lambda: [register_view(name, config, result, {}, {}) for name in names]
    )


def _register_core(name: str, layout: Layout, value: int, errors: dict, typed: dict) -> dict:
    param = name.lower()
    compact = name in COMPACT_REGISTERS
    inputs = []
    for spec in layout.fields:
        if spec.kind in ("res0", "res1", "flag") or spec.width == 1 and not spec.values:
            continue
        key = f"f.{param}.{spec.name}"
        if spec.kind == "address":
            current = hexv(layout.get_in_place(value, spec.name))
        else:
            current = str(layout.get(value, spec.name))
        raw = layout.get(value, spec.name)
        options = []
        if spec.values:
            options = [(str(k), f"{k:#0{2 + spec.width}b} {v}") for k, v in spec.values.items()]
            if raw not in spec.values:
                options.append((str(raw), f"{raw:#0{2 + spec.width}b} (not in the table)"))
            if key in typed and typed[key] not in [v for v, _ in options]:
                options.append((typed[key], f"{typed[key]} (not applied)"))
        inputs.append(
            {
                "name": key,
                "id": f"f-{param}-{slug_id(spec.name)}",
                "label": spec.name,
                "range": bit_range(spec.hi, spec.lo),
                "value": typed.get(key, current),
                "current": current,
                "options": options,
                "error": errors.get(key, ""),
                "help_id": f"reg-{param}-h-{slug_id(spec.name)}",
                "address": spec.kind == "address",
            }
        )
    key = f"r.{param}"
    return {
        "name": name,
        "param": param,
        "id": f"reg-{param}",
        "title": layout.title,
        "layout": layout.name,
        "help": layout.help,
        "value": hexv(value),
        "hex_name": key,
        "hex_id": f"r-{param}",
        "hex_text": typed.get(key, hexv(value)),
        "error": errors.get(key, ""),
        "compact": compact,
        "key_fields": key_fields(layout, value),
        "grid": bit_grid(
            layout,
            value,
            f"r.{param}",
            f"reg-{param}",
            f"{name} bits",
            "compact" if compact else "",
            compact,
        ),
        "inputs": inputs,
        "field_help": field_help(layout, f"reg-{param}"),
    }


def key_fields(layout: Layout, value: int, limit: int = 5) -> list[str]:
    """A collapsed register's one-line summary: its named fields that are not zero."""
    out = []
    for spec in layout.fields:
        if spec.kind in ("res0", "res1"):
            continue
        v = spec.extract(value)
        if v:
            shown = (
                hexv(v << spec.lo)
                if spec.kind == "address"
                else (str(v) if spec.width == 1 or v < 10 else hexv(v))
            )
            out.append(f"{spec.name}={shown}")
        if len(out) == limit:
            break
    return out


# -- setup, presets, choices ------------------------------------------------------------------


_SETUPS: LRU[tuple, dict] = LRU(256)
_CHOICES: LRU[tuple, list] = LRU(256)


def setup_view(config: Configuration, errors: dict, typed: dict) -> dict:
    if errors or typed:
        return _setup_view(config, errors, typed)
    key = (config.regime, config.cpu, config.access, config.address)
    return _SETUPS.get_or_make(key, lambda: _setup_view(config, {}, {}))


def _setup_view(config: Configuration, errors: dict, typed: dict) -> dict:
    return {
        "regimes": list(REGIME_LABELS.items()),
        "regime": config.regime,
        "cpus": [(slug, cpu.title, cpu.description) for slug, cpu in CPU_PRESETS.items()],
        "cpu": config.cpu,
        "cpu_description": CPU_PRESETS[config.cpu].description,
        "accesses": [
            (f"el{el}{k}", f"EL{el} {word}") for el in (0, 1, 2) for k, word in ACCESS_KINDS.items()
        ],
        "access": config.access,
        "va": typed.get("va", hexv(config.address)),
        "va_label": "Input address (IPA)" if config.regime == "stage2" else "Virtual address",
        "errors": {k: errors[k] for k in ("regime", "cpu", "access", "va") if k in errors},
    }


def presets_view(config: Configuration) -> list[dict]:
    return _presets_view(config.slug)


@cache
def _presets_view(slug: str) -> list[dict]:
    return [
        {"slug": p.slug, "title": p.title, "summary": p.summary, "current": p.slug == slug}
        for p in CONFIG_PRESETS.values()
    ]


@cache
def _choice_specs() -> tuple[tuple[str, tuple[str, ...]], ...]:
    hints = get_type_hints(Choices)
    return tuple((spec.name, get_args(hints[spec.name])) for spec in dc_fields(Choices))


def choices_view(config: Configuration, result: WalkResult, errors: dict) -> list[dict]:
    """The IMPLEMENTATION DEFINED choices and which of them the walk used (shared between
    states with the same choices and uses when nothing is in error)."""
    if errors:
        return _choices_view(config, result, errors)
    key = (config.choices, tuple(sorted(result.choices_used)))
    return _CHOICES.get_or_make(key, lambda: _choices_view(config, result, {}))


def _choices_view(config: Configuration, result: WalkResult, errors: dict) -> list[dict]:
    out = []
    for name, options in _choice_specs():
        value = getattr(config.choices, name)
        help_ = CHOICE_HELP.get(name, {})
        out.append(
            {
                "name": f"c.{name}",
                "id": f"c-{name}",
                "title": CHOICE_TITLES.get(name, name.replace("_", " ")),
                "options": [(o, o.replace("_", " "), help_.get(o, "")) for o in options],
                "value": value,
                "help": help_.get(value, ""),
                "used": name in result.choices_used,
                "error": errors.get(f"c.{name}", ""),
            }
        )
    return out


# -- the walk ---------------------------------------------------------------------------------


def address_view(config: Configuration, result: WalkResult) -> dict | None:
    params = result.params.get("s1") or result.params.get("s2")
    if params is None:
        return None
    if result.regime == Regime.STAGE2.value:
        from dataclasses import replace

        params = replace(params, input_address=result.input_address)
    attrs = result.attrs.stage1 if isinstance(result.attrs, CombinedAttributes) else result.attrs
    leaf = getattr(attrs, "leaf_level", None)
    if leaf is not None and result.levels and result.levels[-1].kind != "block":
        leaf = None
    address = result.input_address
    name = "IPA" if result.regime == Regime.STAGE2.value else "VA"
    layout = tuple(
        (seg.role, seg.label, seg.hi, seg.lo, seg.note) for seg in address_segments(params, leaf)
    )
    rows = tuple(params_rows(params))
    key = (name, address, layout, rows, params.granule_kb, params.iasize, params.start_level)
    return _ADDRESSES.get_or_make(key, lambda: _address_view(name, address, layout, rows, params))


# Shared between states: a click that leaves the input address and the walk's geometry alone
# gets the same object (so the walk head compares equal by identity).
_ADDRESSES: LRU[tuple, dict] = LRU(512)


def _address_view(name: str, address: int, layout: tuple, rows: tuple, params) -> dict:
    segments = []
    for role, label, hi, lo, note in layout:
        value = (address >> lo) & ((1 << (hi - lo + 1)) - 1)
        segments.append(
            {
                "role": role,
                "label": label,
                "range": bit_range(hi, lo),
                "value": hexv(value),
                "decimal": value,
                "note": note,
                "hi": hi,
                "lo": lo,
            }
        )
    return {
        "name": name,
        "value": hexv(address),
        "segments": segments,
        "strip": render_strip(name, address, segments),
        "granule": params.granule_kb,
        "iasize": params.iasize,
        "start_level": params.start_level,
        "params": list(rows),
    }


def render_strip(name: str, address: int, segments: list[dict]) -> Markup:
    """The input-address strip: one group per role, one ``<button aria-pressed>`` per bit."""
    out = [f'<div class="strip" role="group" aria-label="{name} bits by role">']
    for s in segments:
        label = esc(s["label"])
        note = f" · {esc(s['note'])}" if s["note"] else ""
        head = f"{name}{s['range']} = {s['value']}"
        buttons = "".join(
            _button_run(top, bottom, "va", name)[
                (address >> bottom) & ((1 << (top - bottom + 1)) - 1)
            ]
            for top, bottom in bit_runs(s["hi"], s["lo"])
        )
        out.append(
            f'<div class="seg r-{esc(s["role"])}" role="group" aria-label="{label} {head}">'
            f'<span class="sl" aria-hidden="true"><b>{label}</b> {head}{note}</span>'
            f'<span class="bits">{buttons}</span></div>'
        )
    out.append("</div>")
    return Markup("".join(out))


def params_rows(p) -> list[tuple[str, str]]:
    return [(f.name, f"{f.text} — {f.why}" if f.why else f.text) for f in p.facts()]


def card_view(
    ref: ReadRef, config: Configuration, errors: dict, typed: dict, input_name: str
) -> dict:
    read, params = ref.read, ref.params
    raw = read.raw
    addr = read.desc_address
    key = f"m.{hexv(addr)}" if addr is not None else ""
    layout = display_layout(read, params) if raw is not None else None
    nested = None
    if read.s2 is not None:
        nested = s2_rows(read.s2)
    actions = []
    if raw is not None and addr is not None:
        actions = [
            {
                "value": f"{hexv(addr)}:{a.name}",
                "label": a.label,
                "allowed": a.allowed,
                "why": a.reason,
            }
            for a in quick_actions(read, params, config.cpu)
        ]
    changed = raw is not None and not read.synthetic
    return {
        "id": f"card-{read.stage}-{read.level}-{hexv(addr) if addr is not None else 'none'}",
        "stage": read.stage,
        "level": read.level,
        "kind": read.kind,
        "synthetic": read.synthetic,
        "from_image": read.source == "image",
        "changed": changed,
        "table_base": hexv(read.table_base),
        "origin": read.table_base_origin,
        "index_range": bit_range(read.index_hi, read.index_lo),
        "index_hex": hexv(read.index),
        "index": read.index,
        "input_name": input_name,
        "desc_address": hexv(addr),
        "desc_ipa": hexv(read.desc_ipa) if read.desc_ipa is not None else "",
        "offset": hexv(read.index * 8),
        "raw": hexv(raw),
        "hex_name": key,
        "hex_id": f"m-{read.stage}-{hexv(addr)}",
        "hex_text": typed.get(key, hexv(raw)),
        "error": errors.get(key, ""),
        "layout_title": layout.title if layout else "",
        "help_ref": f"help-{slug_id(layout.name)}" if layout is not None else "",
        "grid": bit_grid(
            layout, raw, key, help_prefix(layout), f"Level {read.level} descriptor bits", "desc"
        )
        if layout is not None
        else "",
        "fields_html": decoded_rows_html(layout, raw, read.fields) if layout is not None else "",
        "next_address": hexv(read.next_address) if read.next_address is not None else "",
        "output_address": hexv(read.output_address) if read.output_address is not None else "",
        "table_attrs": table_attrs_text(read.attributes),
        "nested": nested,
        "actions": actions,
    }


_CARD_VIEWS: LRU[tuple, dict] = LRU(1024)


def _nested_key(sw: StageWalk) -> tuple:
    """What ``s2_rows`` shows of the stage-2 walk that translated a table address."""
    f = sw.fault
    return (
        sw.params.input_address if sw.params else None,
        sw.output_address,
        tuple(
            (r.level, r.index_hi, r.index_lo, r.index, r.desc_address, r.raw, r.kind, r.synthetic)
            for r in sw.levels
        ),
        None
        if f is None
        else (f.kind, f.level, f.stage, f.s1ptw, f.fsc, f.fsc_name, f.message, f.fix, f.rule),
    )


def card_key(ref: ReadRef, cpu: str, input_name: str) -> tuple | None:
    """Everything ``card_view`` reads: the read's own results (and what its nested stage-2
    walk shows), the parameters ``display_layout`` and ``quick_actions`` look at (format,
    granule, DS) and the CPU (which block levels it allows). ``None``: not shareable."""
    r, p = ref.read, ref.params
    nested = None if r.s2 is None else _nested_key(r.s2)
    key = (
        r.stage, r.level, r.table_base, r.table_base_origin, r.index_hi, r.index_lo, r.index,
        r.desc_address, r.desc_ipa, r.raw, r.kind, r.layout, r.next_address, r.output_address,
        r.synthetic, tuple(r.attributes.items()),
        p.desc_variant, p.granule_kb, p.ds, cpu, input_name, nested,
    )  # fmt: skip
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _shared_card_view(
    ref: ReadRef, config: Configuration, errors: dict, typed: dict, input_name: str
) -> dict:
    """``card_view``, shared between states that read the same descriptor the same way: a
    click rebuilds only the cards it changed, and unchanged cards stay the same object (so
    their HTML is remembered and comparing views is cheap). Never for a view with errors or
    typed values, whose cards show them."""
    key = None if errors or typed else card_key(ref, config.cpu, input_name)
    if key is None:
        return card_view(ref, config, errors, typed, input_name)
    return _CARD_VIEWS.get_or_make(key, lambda: card_view(ref, config, {}, {}, input_name))


_ROWS_HTML: LRU[tuple, Markup] = LRU(1024)


@lru_cache(maxsize=8192)
def escaped(text: str) -> str:
    """``esc`` for the model's own texts (field names, meanings): a finite set, so the
    escaped form is remembered."""
    return esc(text)


def decoded_rows_html(layout: Layout, raw: int, rows) -> Markup:
    """A descriptor's decoded-fields table rows (IGN fields and zero RES0 fields left out),
    remembered per layout and value. ``rows`` is what the walker decoded (``Layout.rows``):
    empty when it did not decode the descriptor (invalid, reserved), and then so is this."""
    if not rows:
        return Markup("")
    return _ROWS_HTML.get_or_make((layout.name, raw), lambda: _rows_plan(layout).render(raw))


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

    def render(self, raw: int) -> Markup:
        out = []
        for start, f, hidden_when_zero in self.rows:
            v = (raw >> f.lo) & ((1 << (f.hi - f.lo + 1)) - 1)
            if hidden_when_zero and v == 0:
                continue
            out.append(f"{start}{v:#x}</code></td><td>{escaped(f.meaning(v))}</td></tr>")
        return Markup("".join(out))


_ROWS_PLANS: dict[str, _RowsPlan] = {}


def _rows_plan(layout: Layout) -> _RowsPlan:
    plan = _ROWS_PLANS.get(layout.name)
    if plan is None:
        plan = _ROWS_PLANS[layout.name] = _RowsPlan(layout)
    return plan


def table_attrs_text(attributes: dict) -> str:
    """A stage-1 table descriptor's hierarchical attributes, e.g. "APTable=0b00, PXNTable=0,
    UXNTable=0, NSTable=0 (applied: HPD=0)"."""
    if not attributes:
        return ""
    parts = []
    for name, value in attributes.items():
        if name == "applied":
            continue
        parts.append(f"{name}={value:#04b}" if name == "APTable" else f"{name}={value}")
    applied = attributes.get("applied")
    note = " (applied: HPD=0)" if applied else " (ignored: HPD=1)"
    return ", ".join(parts) + note


def s2_rows(sw: StageWalk) -> dict:
    rows = [
        {
            "level": r.level,
            "index_range": bit_range(r.index_hi, r.index_lo),
            "index": hexv(r.index),
            "desc_address": hexv(r.desc_address),
            "raw": hexv(r.raw),
            "kind": r.kind,
            "synthetic": r.synthetic,
        }
        for r in sw.levels
    ]
    return {
        "input": hexv(sw.params.input_address) if sw.params else "—",
        "rows": rows,
        "output": hexv(sw.output_address),
        "fault": fault_view_of(sw.fault) if sw.fault else None,
    }


def fault_view_of(fault) -> dict:
    return {
        "kind": fault.kind.value.replace("_", " "),
        "level": fault.level,
        "stage": fault.stage,
        "s1ptw": fault.s1ptw,
        "fsc": f"{fault.fsc:#04x}",
        "fsc_bin": f"{fault.fsc:#08b}",
        "fsc_name": fault.fsc_name,
        "message": fault.message,
        "fix": fault.fix,
        "rule": fault.rule,
    }


def oa_view(result: WalkResult) -> dict | None:
    if result.output_address is None:
        return None
    oa = result.output_address
    segments = []
    for src in result.oa_sources:
        width = src.oa_hi - src.oa_lo + 1
        value = (oa >> src.oa_lo) & ((1 << width) - 1)
        segments.append(
            {
                "range": bit_range(src.oa_hi, src.oa_lo),
                "origin": result.source_label(src),
                "source": src.source,
                "value": hexv(value),
                "bits": [(b, (oa >> b) & 1) for b in range(src.oa_hi, src.oa_lo - 1, -1)],
                "moved": src.source == "desc" and src.src_lo != src.oa_lo,
            }
        )
    return {
        "value": hexv(oa),
        "ipa": hexv(result.ipa) if result.ipa is not None else "",
        "segments": segments,
    }


def size_text(size: int) -> str:
    for unit, shift in (("TB", 40), ("GB", 30), ("MB", 20), ("KB", 10)):
        if size >= 1 << shift and not size & ((1 << shift) - 1):
            return f"{size >> shift}{unit}"
    return f"{size} bytes"


def _origin_text(origin: str) -> str:
    if origin.endswith(" (DS=1)"):
        return f"from {origin[: -len(' (DS=1)')]} because DS=1"
    if origin.startswith("descriptor"):
        return f"from the leaf {origin} (DS=0)"
    return f"from {origin}"


def _flag(value) -> str:
    return "1" if value else "0"


def attrs_rows(attrs: dict) -> list[tuple[str, str]]:
    """The output attributes as labelled sentences (never Python values)."""
    rows: list[tuple[str, str]] = []
    if "memory_type" in attrs:
        text = attrs["memory_type"]
        if "mair" in attrs:
            text += f"; {attrs['mair']}.Attr{attrs['attr_index']} = {attrs['attr']:#04x}"
            text += f" (AttrIndx={attrs['attr_index']})"
        elif "memattr" in attrs:
            text += f"; MemAttr={attrs['memattr']:#06b} (as a MAIR byte {attrs['attr']:#04x})"
        elif "attr" in attrs:
            text += f" (combined attribute {attrs['attr']:#04x})"
        rows.append(("Memory type", text))
    if "sh" in attrs:
        rows.append(
            (
                "Shareability",
                f"{attrs['sh_name']} ({attrs['sh']:#04b}), {_origin_text(attrs['sh_origin'])}",
            )
        )
    if "leaf_level" in attrs:
        size = attrs.get("block_size")
        text = f"level {attrs['leaf_level']} {attrs.get('leaf_kind', 'leaf')}"
        if size:
            text += f" mapping {size_text(size)} ({size:#x} bytes)"
        rows.append(("Mapping", text))
    if "af" in attrs:
        rows.append(("Access flag", f"AF={_flag(attrs['af'])}"))
    if "ng" in attrs:
        rows.append(
            ("Global", "nG=1: not global (tagged with the ASID)" if attrs["ng"] else "nG=0: global")
        )
    if "contiguous" in attrs:
        rows.append(
            (
                "Contiguous",
                "Contiguous=1: part of a contiguous run" if attrs["contiguous"] else "Contiguous=0",
            )
        )
    if "dbm" in attrs:
        rows.append(("Dirty bit modifier", f"DBM={_flag(attrs['dbm'])}"))
    if "gp" in attrs:
        rows.append(("Guarded page", f"GP={_flag(attrs['gp'])}"))
    for key in ("fwb", "combine_note"):
        if key in attrs:
            rows.append(("Not modelled" if key == "fwb" else "Combination", str(attrs[key])))
    return rows


def perms_tables(perms: dict) -> list[dict]:
    if not perms:
        return []
    if "stage1" in perms:
        return [
            {"title": "Stage 1", **_perm_table(perms["stage1"])},
            {"title": "Stage 2", **_perm_table(perms["stage2"])},
        ]
    return [{"title": "", **_perm_table(perms)}]


def _perm_table(perms: dict) -> dict:
    rows = []
    for key, value in perms.items():
        if key.startswith("EL") and isinstance(value, dict):
            rows.append(
                (
                    key,
                    [
                        ("read", value["read"]),
                        ("write", value["write"]),
                        ("execute", value["exec"]),
                    ],
                )
            )
    notes = list(perms.get("why", []))
    notes += [v for k, v in perms.items() if k in ("pan",)]
    return {"rows": rows, "notes": notes}


def status_text(config: Configuration, result: WalkResult) -> str:
    if result.fault is not None:
        f = result.fault
        return (
            f"{f.fsc_name}, stage {f.stage} (FSC {f.fsc:#04x}). {len(result.levels)} levels read."
        )
    return (
        f"Walk complete: {hexv(result.input_address)} translates to "
        f"{hexv(result.output_address)} in {result.descriptor_reads} descriptor reads."
    )


def walk_view(config: Configuration, result: WalkResult, errors: dict, typed: dict) -> dict:
    input_name = "IPA" if result.regime == Regime.STAGE2.value else "VA"
    main, final = [], []
    layouts: dict[str, Layout] = {}
    for ref in result.reads():
        if ref.role != "nested-s2" and ref.read.raw is not None:
            layout = display_layout(ref.read, ref.params)
            layouts.setdefault(layout.name, layout)
        if ref.role == "main":
            main.append(_shared_card_view(ref, config, errors, typed, input_name))
        elif ref.role == "final-s2":
            final.append(_shared_card_view(ref, config, errors, typed, "IPA"))
    attrs = result.attrs.to_dict() if result.attrs is not None else {}
    fault = fault_view_of(result.fault) if result.fault else None
    address = address_view(config, result)
    oa = oa_view(result)
    return {
        "ok": result.fault is None,
        "address": address,
        "cards": main,
        "final_cards": final,
        "ipa": hexv(result.ipa) if result.ipa is not None else "",
        "final_fault": fault_view_of(result.s2_final.fault)
        if result.s2_final is not None and result.s2_final.fault
        else None,
        "oa": oa,
        "attrs": attrs_rows(attrs),
        "attrs_stages": [
            (title, attrs_rows(attrs[key]))
            for key, title in (("stage1", "Stage 1"), ("stage2", "Stage 2"))
            if isinstance(attrs.get(key), dict)
        ],
        "perms": perms_tables(result.perms.to_dict() if result.perms is not None else {}),
        "fault": fault,
        "par": f"{result.par:#018x}",
        "esr_iss": f"{result.esr_iss:#09x}" if result.esr_iss is not None else "",
        "warnings": [{"code": w.code, "message": w.message} for w in result.warnings],
        "choices_used": [
            (CHOICE_TITLES.get(k, k), v.replace("_", " "), CHOICE_HELP.get(k, {}).get(v, ""))
            for k, v in result.choices_used.items()
        ],
        "reads": result.descriptor_reads,
        "help": [layout_help(layout) for layout in layouts.values()],
    }


# Levels -1 to 3: one walk (stage 1, or stage 2 alone) reads at most five descriptors, so the
# page keeps five card slots and an edit that adds or removes levels swaps slots one by one.
MAIN_SLOTS = FINAL_LEVEL + 2


def card_slots(cards: list) -> int:
    """How many ``slot-main-N`` list items the walk has (empty ones are hidden)."""
    return max(MAIN_SLOTS, len(cards))


def summary_view(config: Configuration, result: WalkResult) -> dict:
    """The sticky summary bar: the outcome in one line."""
    name = "IPA" if result.regime == Regime.STAGE2.value else "VA"
    if result.fault is not None:
        f = result.fault
        return {
            "ok": False,
            "input": f"{name} {hexv(result.input_address)}",
            "outcome": f"{f.fsc_name}, stage {f.stage}"
            if "level" in f.fsc_name
            else f"{f.fsc_name}, level {f.level}, stage {f.stage}",
            "code": f"FSC {f.fsc:#04x}",
        }
    via = f" → IPA {hexv(result.ipa)}" if result.ipa is not None else ""
    return {
        "ok": True,
        "input": f"{name} {hexv(result.input_address)}{via}",
        "outcome": f"PA {hexv(result.output_address)}",
        "code": f"{result.descriptor_reads} descriptor reads",
    }


_LINUX: LRU[tuple, dict] = LRU(256)


def cached_linux_view(config: Configuration, result: WalkResult, kernel: str | None = None) -> dict:
    """``model.teach.linux.linux_view``, remembered by what it reads (``view_key``: the regime,
    the CPU, each stage's parameters, the stage-2 leaf, the fault code and the release); a bit
    click rarely changes any of them. The dict is shared between views and must not be
    modified."""
    key = view_key(config, result, kernel)
    return _LINUX.get_or_make(key, lambda: linux_view(config, result, kernel))


def explorer_view(
    config: Configuration,
    result: WalkResult,
    *,
    errors: dict | None = None,
    typed: dict | None = None,
    link_problems: list | None = None,
    query: str | None = None,
) -> dict:
    errors = errors or {}
    typed = typed or {}
    query = encode(config) if query is None else query
    preset = CONFIG_PRESETS.get(config.slug)
    return {
        "query": query,
        "preset": {"slug": config.slug, "title": config.title, "summary": config.summary}
        if preset
        else None,
        "setup": setup_view(config, errors, typed),
        "presets": presets_view(config),
        "registers": registers_view(config, result, errors, typed),
        "choices": choices_view(config, result, errors),
        "walk": walk_view(config, result, errors, typed),
        "summary": summary_view(config, result),
        "linux": cached_linux_view(config, result),
        "status": status_text(config, result),
        "errors": errors,
        "form_errors": [errors[k] for k in ("flip", "act", "load") if k in errors],
        "link_problems": [str(p) for p in (link_problems or [])],
    }


# -- hot partials as strings ------------------------------------------------------------------
# A click re-renders a few cards (and whole walks when levels come or go); Jinja spends most of
# a click's time on them (one escape and one lookup per printed field). These build the same
# markup as a template would, escaping every value that is not already ``Markup``.


def _error_html(id_: str, message: str) -> str:
    """partials/macros.html ``error``."""
    if not message:
        return ""
    return (
        f'<p class="err" id="{esc(id_)}-err"><span aria-hidden="true">⚠ </span>{esc(message)}</p>'
    )


def _invalid_attrs(id_: str, message: str) -> str:
    """partials/macros.html ``invalid``."""
    return f' aria-invalid="true" aria-describedby="{esc(id_)}-err"' if message else ""


OOB = ' hx-swap-oob="true"'


_CARDS: LRU[tuple[int, bool], tuple[dict, Markup]] = LRU(512)


def render_card(c: dict, oob: bool = False) -> Markup:
    """One walk card (``card_view``): the descriptor read, its editor and decoded fields.
    Remembered by the identity of the card dict: the cards of a cached state's view are never
    modified (the entry keeps the dict alive, so its id is not reused while remembered)."""
    key = (id(c), oob)
    entry = _CARDS.get(key)
    if entry is not None and entry[0] is c:
        return entry[1]
    html = _render_card(c, oob)
    _CARDS.put(key, (c, html))
    return html


def _render_card(c: dict, oob: bool = False) -> Markup:
    e = esc
    cid = e(c["id"])
    out = [
        f'<article id="{cid}" class="card k-{e(c["kind"])}{" changed" if c["changed"] else ""}" '
        f'aria-labelledby="{cid}-title"{OOB if oob else ""}>\n'
        f'  <header class="cardhead">\n'
        f'    <h3 id="{cid}-title"><span class="lv">{"S2 " if c["stage"] == 2 else ""}'
        f"L{e(c['level'])}</span> Stage {e(c['stage'])}, level {e(c['level'])}: "
        f'<span class="kind">{e(c["kind"])}</span></h3>\n'
    ]
    if c["changed"]:
        out.append('    <span class="badge changed">✎ changed (set in memory)</span>\n')
    elif c["from_image"]:
        out.append('    <span class="badge synth">from the memory image</span>\n')
    elif c["synthetic"]:
        out.append('    <span class="badge synth">synthetic</span>\n')
    base = e(c["table_base"])
    ipa = c["desc_ipa"]
    out.append(
        f'  </header>\n  <dl class="calc">\n'
        f"    <dt>Table base</dt><dd><code>{base}</code> "
        f'<span class="why">from {e(c["origin"])}</span></dd>\n'
        f"    <dt>Index</dt><dd>{e(c['input_name'])}{e(c['index_range'])} = "
        f"<code>{e(c['index_hex'])}</code> ({e(c['index'])})</dd>\n"
        f"    <dt>Descriptor address</dt><dd><code>{base}</code> + {e(c['index'])} × 8 = "
        f"<code>{e(ipa or c['desc_address'])}</code>"
        + (f" (an IPA) → PA <code>{e(c['desc_address'])}</code>" if ipa else "")
        + "</dd>\n  </dl>\n"
    )
    nested = c["nested"]
    if nested:
        rows = "".join(
            f'<li><span class="lv">S2 L{e(n["level"])}</span> IPA{e(n["index_range"])}='
            f"{e(n['index'])} · desc@<code>{e(n['desc_address'])}</code> = "
            f"<code>{e(n['raw'])}</code> "
            f'<span class="kind">{e(n["kind"])}</span>'
            + ("" if n["synthetic"] else ' <span class="badge changed">✎ changed</span>')
            + "</li>"
            for n in nested["rows"]
        )
        out.append(
            '  <div class="nested" role="group" aria-label="Stage 2 walk of the table address">\n'
            '    <p class="nt">Stage 2 translated the table address '
            f"<code>{e(nested['input'])}</code>"
            f" → <code>{e(nested['output'])}</code>:</p>\n"
            f'    <ol class="s2rows">{rows}</ol>\n'
        )
        if nested["fault"]:
            f = nested["fault"]
            out.append(
                f'    <p class="err">Stage-2 fault: {e(f["fsc_name"])} (FSC {e(f["fsc"])})</p>\n'
            )
        out.append("  </div>\n")
    if c["hex_name"]:
        hid = c["hex_id"]
        out.append(
            f'  <div class="hexctl">\n    <label for="{e(hid)}">Descriptor value</label>\n'
            f'    <input id="{e(hid)}" name="{e(c["hex_name"])}" class="hex" '
            f'value="{e(c["hex_text"])}"'
            f' spellcheck="false" autocomplete="off"{_invalid_attrs(hid, c["error"])}>\n'
            f"    {_error_html(hid, c['error'])}\n"
            f'    <span class="layout">{e(c["layout_title"])} · '
            f'<a href="#{e(c["help_ref"])}">field help</a></span>\n'
            f'  </div>\n  {e(c["grid"])}\n  <p class="result">\n'
        )
        if c["next_address"]:
            out.append(f"    Next table at <code>{e(c['next_address'])}</code>\n")
        if c["output_address"]:
            out.append(f"    Output address <code>{e(c['output_address'])}</code>\n")
        if c["table_attrs"]:
            out.append(f'    <span class="tattrs">Table attributes: {e(c["table_attrs"])}</span>\n')
        out.append("  </p>\n")
        if c["actions"]:
            buttons = "".join(
                f'<button type="submit" name="act" value="{e(a["value"])}" class="act" '
                f'title="{e(a["why"])}"{"" if a["allowed"] else " disabled"}>'
                f"{e(a['label'])}</button>"
                for a in c["actions"]
            )
            out.append(
                f'  <div class="actions" role="group" aria-label="Quick actions for level '
                f'{e(c["level"])}">\n    {buttons}\n  </div>\n'
            )
        if c["fields_html"]:
            out.append(
                '  <details class="decoded"><summary>Decoded fields</summary>\n'
                '    <table><thead><tr><th scope="col">Field</th><th scope="col">Bits</th>'
                '<th scope="col">Value</th><th scope="col">Meaning</th></tr></thead>\n'
                f"    <tbody>{c['fields_html']}</tbody></table>\n  </details>\n"
            )
    out.append("</article>")
    return Markup("".join(out))


def _described(id_: str, help_id: str, message: str) -> str:
    """A register field control's ``aria-describedby`` (its error first, when it has one)."""
    if message:
        return f' aria-invalid="true" aria-describedby="{esc(id_)}-err {esc(help_id)}"'
    return f' aria-describedby="{esc(help_id)}"'


def render_register_summary(r: dict, oob: bool = False) -> str:
    """A register's ``<summary>`` line: name, value, edited badge, key fields."""
    e = esc
    rid = e(r["id"])
    kf = "".join(f' <span class="kf">{e(k)}</span>' for k in r["key_fields"])
    badge = ' <span class="badge changed">✎ edited</span>' if r["edited"] else ""
    return (
        f'<summary class="reghead" id="{rid}-sum"{OOB if oob else ""}>\n'
        f'    <h3 id="{rid}-title">{e(r["name"])} '
        f'<span class="layout">{e(r["title"])}</span></h3>\n'
        f'    <span class="regsum"><code>{e(r["value"])}</code>{badge}{kf}</span>\n'
        f"  </summary>"
    )


def render_register_body(r: dict, oob: bool = False) -> str:
    """What a bit click changes inside a register: its value box, bit grid and field controls
    (``<div id="reg-…-body">``); the field help after it stays as it is."""
    e = esc
    rid = e(r["id"])
    hid = r["hex_id"]
    out = [
        f'<div id="{rid}-body"{OOB if oob else ""}>\n  <div class="hexctl">\n'
        f'    <label for="{e(hid)}">{e(r["name"])} value</label>\n'
        f'    <input id="{e(hid)}" name="{e(r["hex_name"])}" class="hex" '
        f'value="{e(r["hex_text"])}" spellcheck="false" autocomplete="off"'
        f"{_invalid_attrs(hid, r['error'])}>\n"
        f"    {_error_html(hid, r['error'])}\n  </div>\n  {e(r['grid'])}\n"
    ]
    if r["inputs"]:
        out.append('  <div class="fields">\n')
        for i in r["inputs"]:
            iid, err = i["id"], i["error"]
            described = _described(iid, i["help_id"], err)
            out.append(
                f'    <div class="fctl">\n      <label for="{e(iid)}">{e(i["label"])} '
                f'<span class="fr">{e(i["range"])}</span></label>\n'
            )
            if i["options"]:
                value = i["value"]
                options = "".join(
                    f'<option value="{e(v)}"{" selected" if v == value else ""}>{e(label)}</option>'
                    for v, label in i["options"]
                )
                out.append(
                    f'      <select id="{e(iid)}" name="{e(i["name"])}"{described}>'
                    f"{options}</select>\n"
                )
            else:
                kind, mode = ("hex", "text") if i["address"] else ("num", "numeric")
                out.append(
                    f'      <input id="{e(iid)}" name="{e(i["name"])}" value="{e(i["value"])}" '
                    f'class="{kind}" spellcheck="false" autocomplete="off" inputmode="{mode}"'
                    f"{described}>\n"
                )
            out.append(f"      {_error_html(iid, err)}\n    </div>\n")
        out.append("  </div>\n")
    out.append("</div>")
    return "".join(out)


def render_register(r: dict, field_help_html, oob: bool = False) -> Markup:
    """One register (``register_view``) as a ``<details>``: summary, body, field help.
    ``field_help_html`` renders (and remembers) the help block of the register's layout."""
    help_html = field_help_html(r["field_help"], f"What each {r['name']} field does")
    return Markup(
        f'<details id="{esc(r["id"])}" class="register{" edited" if r["edited"] else ""}"'
        f"{' open' if r['open'] else ''}{OOB if oob else ''}>\n  "
        f"{render_register_summary(r)}\n  {render_register_body(r)}\n  {esc(help_html)}\n"
        "</details>"
    )


def render_register_update(r: dict) -> Markup:
    """A changed register whose layout, help and disclosure state stay: only its summary line
    and body, each swapped out of band by id (the help block is not sent again)."""
    return Markup(f"{render_register_summary(r, True)}\n{render_register_body(r, True)}")


def _yesno(flag) -> str:
    """partials/macros.html ``yesno``."""
    return '<span class="yes">✓ yes</span>' if flag else '<span class="no">✗ no</span>'


def _attr_table(caption: str, rows) -> str:
    e = esc
    body = "".join(f'<tr><th scope="row">{e(k)}</th><td>{e(v)}</td></tr>' for k, v in rows)
    return f'<table class="attrtable"><caption>{caption}</caption><tbody>{body}</tbody></table>'


def render_walk_oa(w: dict, oob: bool = False) -> Markup:
    """The walk's output section (``<div id="walk-oa">``): the output address by source, the
    attributes, the permissions and PAR_EL1, from ``walk_view``."""
    e = esc
    out = [f'<div id="walk-oa"{OOB if oob else ""}>\n']
    oa = w["oa"]
    if oa:
        out.append(
            '  <section class="oa" aria-labelledby="oa-title">\n'
            f'    <h3 id="oa-title">Output address <code>{e(oa["value"])}</code></h3>\n'
            '    <div class="strip" role="group" aria-label="Output address bits by source">\n'
        )
        for s in oa["segments"]:
            bits = "".join(
                f'<span class="rbit" title="OA bit {b}">{on}</span>' for b, on in s["bits"]
            )
            moved = ' <span class="moved">(moved)</span>' if s["moved"] else ""
            rng, origin, value = e(s["range"]), e(s["origin"]), e(s["value"])
            out.append(
                f'      <div class="seg src-{e(s["source"])}" role="group" '
                f'aria-label="OA{rng} from {origin} = {value}">\n'
                f'        <span class="sl"><b>OA{rng}</b> ← {origin}{moved} = {value}</span>\n'
                f'        <span class="bits ro">{bits}</span>\n      </div>\n'
            )
        out.append('    </div>\n    <div class="attrs">\n')
        caption = "Attributes (combined)" if w["attrs_stages"] else "Attributes"
        out.append(f"      {_attr_table(caption, w['attrs'])}\n")
        for title, rows in w["attrs_stages"]:
            out.append(f"      {_attr_table(f'{e(title)} attributes', rows)}\n")
        for p in w["perms"]:
            rows = "".join(
                f'<tr><th scope="row">{e(el)}</th>'
                + "".join(f"<td>{_yesno(ok)}</td>" for _, ok in cells)
                + "</tr>"
                for el, cells in p["rows"]
            )
            title = f" ({e(p['title'])})" if p["title"] else ""
            notes = (
                '<ul class="why">' + "".join(f"<li>{e(n)}</li>" for n in p["notes"]) + "</ul>"
                if p["notes"]
                else ""
            )
            out.append(
                '      <div class="permblock">\n'
                f'      <table class="perms"><caption>Permissions{title}</caption>\n'
                '        <thead><tr><th scope="col">Level</th><th scope="col">Read</th>'
                '<th scope="col">Write</th><th scope="col">Execute</th></tr></thead>\n'
                f"        <tbody>{rows}</tbody>\n      </table>\n      {notes}\n      </div>\n"
            )
        out.append(f"      <p>PAR_EL1 <code>{e(w['par'])}</code></p>\n    </div>\n  </section>\n")
    out.append("</div>")
    return Markup("".join(out))


def render_summary(view: dict) -> Markup:
    """partials/summary.html, out of band (every click sends it)."""
    s = view["summary"]
    ok = "ok" if s["ok"] else "bad"
    badge = "✓ translates" if s["ok"] else "✗ faults"
    output = ' <a href="#oa-title">Output</a>' if view["walk"]["oa"] else ""
    return Markup(
        f'<div id="summary" class="summary {ok}"{OOB}>\n'
        f'  <span class="badge {ok}">{badge}</span>\n'
        f'  <span class="sum-walk"><code>{esc(s["input"])}</code> → '
        f'<strong>{esc(s["outcome"])}</strong> <span class="sum-code">{esc(s["code"])}'
        "</span></span>\n"
        '  <span class="sum-links">\n'
        '    <button type="button" class="copy-button" data-copy-target="#share-link">'
        "Copy link</button>\n"
        '    <a href="#share-panel">Share</a> <a href="#registers">Registers</a> '
        f'<a href="#walk">Walk</a>{output}\n'
        "  </span>\n</div>"
    )
