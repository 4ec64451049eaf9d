"""The registers of a walk's regime, each as its value, bit grid, field controls and help."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from app.cache import lru
from app.views.common import (
    BitGrid,
    FieldHelp,
    bit_range,
    field_help,
    hexv,
    remembered_hash,
    slug_id,
)
from model.arch.fields import Layout
from model.arch.params import MASK64
from model.arch.walker import WalkResult
from model.explore.actions import regime_registers, register_layout
from model.explore.configs import CONFIG_PRESETS, Configuration

# Registers shown as their named fields only (their other bits are not modelled).
COMPACT_REGISTERS = {"HCR_EL2", "SCTLR_EL1", "SCTLR_EL2"}
# Registers show one line (their value and decoded key fields) and open on demand, or when
# they differ from the preset: the first screen is the walk's.


class FieldInput(NamedTuple):
    """A register field's control: a select of its encodings, or a number box."""

    name: str  # f.<register>.<Field>
    id: str
    label: str
    range: str
    value: str  # what the control shows (the typed text when an edit was refused)
    current: str
    options: tuple[tuple[str, str], ...]  # (value, label); empty: a number box
    error: str
    help_id: str
    address: bool


@remembered_hash
@dataclass(frozen=True, slots=True)
class RegisterView:
    name: str
    param: str
    id: str
    title: str
    layout: str
    help: str
    value: str
    hex_name: str  # r.<register>
    hex_id: str
    hex_text: str
    error: str
    compact: bool
    key_fields: tuple[str, ...]
    grid: BitGrid
    inputs: tuple[FieldInput, ...]
    field_help: FieldHelp
    open: bool
    edited: bool
    _hash: int | None = field(default=None, init=False, repr=False, compare=False)


_registers = lru("register_views")
_register_lists = lru("register_lists")


def register_view(
    name: str, config: Configuration, result: WalkResult, errors: Mapping, typed: Mapping
) -> RegisterView:
    param = name.lower()
    value = int(config.registers.get(name, 0)) & MASK64
    layout = register_layout(name, config.regime, result.params)
    mine = [k for k in (*errors, *typed) if k == f"r.{param}" or k.startswith(f"f.{param}.")]
    preset = CONFIG_PRESETS.get(config.slug)
    edited = preset is not None and value != int(preset.registers.get(name, 0)) & MASK64
    if mine:
        return _register(name, layout, value, errors, typed, is_open=True, edited=edited)
    # Shared between states (and so compared by identity when a click leaves it alone).
    return _registers.get_or_make(
        (name, layout.name, value, edited),
        lambda: _register(name, layout, value, {}, {}, is_open=edited, edited=edited),
    )


def registers_view(
    config: Configuration, result: WalkResult, errors: Mapping, typed: Mapping
) -> tuple[RegisterView, ...]:
    """The regime's registers (``register_view`` each), the list shared between states with
    the same register values, preset and register formats."""
    names = regime_registers(config.regime, config.registers)
    if errors or typed:
        return tuple(register_view(name, config, result, errors, typed) for name in names)
    s1, s2 = result.params.get("s1"), result.params.get("s2")
    key = (
        config.regime,
        config.slug,
        bool(s1 and s1.ttbr_52bit),  # what ``register_layout`` reads of the walk
        bool(s2 and s2.ttbr_52bit),
        tuple((name, config.registers.get(name, 0)) for name in names),
    )
    return _register_lists.get_or_make(
        key, lambda: tuple(register_view(name, config, result, {}, {}) for name in names)
    )


def _register(
    name: str,
    layout: Layout,
    value: int,
    errors: Mapping,
    typed: Mapping,
    *,
    is_open: bool,
    edited: bool,
) -> RegisterView:
    param = name.lower()
    compact = name in COMPACT_REGISTERS
    key = f"r.{param}"
    return RegisterView(
        name=name,
        param=param,
        id=f"reg-{param}",
        title=layout.title,
        layout=layout.name,
        help=layout.help,
        value=hexv(value),
        hex_name=key,
        hex_id=f"r-{param}",
        hex_text=typed.get(key, hexv(value)),
        error=errors.get(key, ""),
        compact=compact,
        key_fields=key_fields(layout, value),
        grid=BitGrid(
            layout.name,
            value,
            key,
            f"reg-{param}",
            f"{name} bits",
            "compact" if compact else "",
            compact,
        ),
        inputs=_field_inputs(param, layout, value, errors, typed),
        field_help=field_help(layout, f"reg-{param}", f"What each {name} field does"),
        open=is_open,
        edited=edited,
    )


def _field_inputs(
    param: str, layout: Layout, value: int, errors: Mapping, typed: Mapping
) -> tuple[FieldInput, ...]:
    inputs = []
    for spec in layout.fields:
        if spec.kind in ("res0", "res1", "flag") or spec.width == 1 and not spec.values:
            continue
        key = f"f.{param}.{spec.name}"
        raw = layout.get(value, spec.name)
        if spec.kind == "address":
            current = hexv(layout.get_in_place(value, spec.name))
        else:
            current = str(raw)
        options: list[tuple[str, str]] = []
        values = spec.values_for(value)
        if values:
            options = [(str(k), f"{k:#0{2 + spec.width}b} {v}") for k, v in values.items()]
            if raw not in values:
                options.append((str(raw), f"{raw:#0{2 + spec.width}b} (not in the table)"))
            if key in typed and typed[key] not in [v for v, _ in options]:
                options.append((typed[key], f"{typed[key]} (not applied)"))
        inputs.append(
            FieldInput(
                name=key,
                id=f"f-{param}-{slug_id(spec.name)}",
                label=spec.name,
                range=bit_range(spec.hi, spec.lo),
                value=typed.get(key, current),
                current=current,
                options=tuple(options),
                error=errors.get(key, ""),
                help_id=f"reg-{param}-h-{slug_id(spec.name)}",
                address=spec.kind == "address",
            )
        )
    return tuple(inputs)


def key_fields(layout: Layout, value: int, limit: int = 5) -> tuple[str, ...]:
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
    return tuple(out)
