"""Form-edit plumbing: turn a submitted explorer form into a new configuration.

The explorer is one GET form. A hidden ``from`` input carries the canonical query of the state
the page shows; every visible control carries a value. Only controls whose value differs from
that state are applied, in a fixed order (setup, choices, whole-register hex, descriptor hex,
field edits, bit flips, quick actions), so edits never fight each other. Any problem cancels
the whole edit: the caller keeps the previous state and shows the messages next to the
controls, keyed by control name.

Control names:
  ``regime`` ``cpu`` ``access`` ``va``     the setup bar
  ``c.<choice>``                           IMPLEMENTATION DEFINED choices (as in links)
  ``r.<register>``                         a whole register in hex, e.g. ``r.tcr_el1``
  ``f.<register>.<Field>``                 one field of a register, e.g. ``f.tcr_el1.T0SZ``
  ``m.<address>``                          a whole descriptor at a physical address
  ``flip``  = ``r.<register>:<bit>`` | ``m.<address>:<bit>`` | ``va:<bit>``
  ``act``   = ``<address>:<action>``       a quick action on a descriptor
  ``load``  = ``<preset slug>``            load a whole preset

No architecture here: layouts and quick actions come from ``model.edits``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from app.state import CHOICE_PARAMS, MASK64, REGISTER_PARAMS, Problem, parse_number
from app.walks import decode_cached, run_cached
from model import CPU_PRESETS, Regime
from model.arch.fields import Layout
from model.arch.walker import WalkResult
from model.explore.actions import ReadRef, apply_action, register_layout, sync_regime
from model.explore.configs import CONFIG_PRESETS, Configuration

ACCESS_VALUES = tuple(f"el{el}{kind}" for el in (0, 1, 2) for kind in "rwx")
EDIT_KEYS = ("regime", "cpu", "access", "va", "flip", "act", "load")


@dataclass
class EditOutcome:
    """The state the edit started from, the state it produced, and what went wrong."""

    before: Configuration
    before_result: WalkResult
    config: Configuration
    errors: dict[str, str] = field(default_factory=dict)
    typed: dict[str, str] = field(default_factory=dict)
    link_problems: list[Problem] = field(default_factory=list)
    loaded: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def _number(text: str, bits: int = 64) -> int:
    return parse_number(text, bits)


def register_param(name: str) -> str:
    return name.lower()


def apply_form(pairs: Iterable[tuple[str, str]]) -> EditOutcome:
    """Apply a submitted explorer form (a list of name/value pairs)."""
    form: dict[str, str] = {}
    flips: list[str] = []
    actions: list[str] = []
    for key, value in pairs:
        if key == "flip":
            flips.append(value)
        elif key == "act":
            actions.append(value)
        else:
            form[key] = value

    decoded = decode_cached(form.get("from", ""))
    before = decoded.config
    before_result = run_cached(before)
    out = EditOutcome(before, before_result, before, link_problems=decoded.problems)

    slug = form.get("load")
    if slug:
        if slug in CONFIG_PRESETS:
            out.config = CONFIG_PRESETS[slug]
            out.loaded = True
        else:
            out.errors["load"] = f"no preset {slug!r}"
        return out

    errors = out.errors
    typed = out.typed
    config = before

    def note(name: str, message: str) -> None:
        errors[name] = message
        typed[name] = form.get(name, "")

    # 1. the setup bar
    changes: dict = {}
    if "regime" in form and form["regime"] != before.regime:
        if form["regime"] in [r.value for r in Regime]:
            changes["regime"] = form["regime"]
        else:
            note("regime", f"unknown regime {form['regime'][:40]!r}")
    if "cpu" in form and form["cpu"] != before.cpu:
        if form["cpu"] in CPU_PRESETS:
            changes["cpu"] = form["cpu"]
        else:
            note("cpu", f"unknown CPU preset {form['cpu'][:40]!r}")
    if "access" in form and form["access"] != before.access:
        if form["access"] in ACCESS_VALUES:
            changes["access"] = form["access"]
        else:
            note("access", "expected el0/el1/el2 and r/w/x, e.g. el1r")
    if "va" in form and form["va"].strip() != f"{before.address:#x}":
        try:
            changes["address"] = _number(form["va"])
        except ValueError as error:
            note("va", str(error))
    if changes:
        config = replace(config, **changes)

    # 2. choices
    choice_changes = {}
    for param, name in CHOICE_PARAMS.items():
        if param in form and form[param] != getattr(before.choices, name):
            value = form[param]
            if value in _choice_options(name):
                choice_changes[name] = value
            else:
                note(param, f"not one of {', '.join(_choice_options(name))}")
    if choice_changes:
        config = replace(config, choices=replace(config.choices, **choice_changes))

    # 3. whole registers in hex
    registers = dict(config.registers)
    for param, register in REGISTER_PARAMS.items():
        key = f"r.{param}"
        if key not in form:
            continue
        old = int(before.registers.get(register, 0)) & MASK64
        if form[key].strip() == f"{old:#x}":
            continue
        try:
            value = _number(form[key])
        except ValueError as error:
            note(key, str(error))
            continue
        if value != old:
            registers[register] = value

    reads = _reads_by_address(before_result)

    # 4. whole descriptors in hex
    memory: dict[int, int] = {}
    for key, text in form.items():
        if not key.startswith("m."):
            continue
        try:
            address = _number(key[2:])
        except ValueError:
            continue
        ref = reads.get(address)
        if ref is None:
            continue
        old = ref.read.raw or 0
        if text.strip() == f"{old:#x}":
            continue
        try:
            value = _number(text)
        except ValueError as error:
            note(key, str(error))
            continue
        if value != old:
            memory[address] = value

    # 5. field edits (compared with the fields of the state the page showed)
    layouts: dict[str, Layout] = {}
    for key, text in form.items():
        if not key.startswith("f."):
            continue
        _, _, rest = key.partition(".")
        param, _, field_name = rest.partition(".")
        register = REGISTER_PARAMS.get(param)
        if register is None:
            continue
        layout = layouts.get(register)
        if layout is None:
            layout = layouts[register] = register_layout(
                register, before.regime, before_result.params
            )
        if field_name not in layout:
            continue
        spec = layout.field(field_name)
        old_reg = int(before.registers.get(register, 0)) & MASK64
        in_place = spec.kind == "address"
        old = (
            layout.get_in_place(old_reg, field_name)
            if in_place
            else layout.get(old_reg, field_name)
        )
        if text.strip() in (str(old), f"{old:#x}"):
            continue
        try:
            value = _number(text)
        except ValueError as error:
            note(key, str(error))
            continue
        if value == old:
            continue
        if in_place:
            if value & ~spec.mask:
                note(
                    key,
                    f"{value:#x} does not fit {spec.name}[{spec.hi}:{spec.lo}] "
                    f"(bits below {spec.lo} and above {spec.hi} must be zero)",
                )
                continue
            value >>= spec.lo
        if value >> spec.width:
            top = (1 << spec.width) - 1
            note(key, f"{value} is out of range for {spec.name}: 0 to {top} ({spec.width} bits)")
            continue
        registers[register] = layout.set(registers.get(register, 0), field_name, value)

    # 6. bit flips
    address = config.address
    for flip in flips:
        target, _, bit_text = flip.rpartition(":")
        try:
            bit = int(bit_text)
            if not 0 <= bit < 64:
                raise ValueError
        except ValueError:
            note("flip", f"bad bit {bit_text[:10]!r}")
            continue
        if target == "va":
            address ^= 1 << bit
        elif target.startswith("r.") and target[2:] in REGISTER_PARAMS:
            register = REGISTER_PARAMS[target[2:]]
            registers[register] = int(registers.get(register, 0)) ^ (1 << bit)
        elif target.startswith("m."):
            try:
                pa = _number(target[2:])
            except ValueError as error:
                note("flip", str(error))
                continue
            ref = reads.get(pa)
            if ref is None:
                note("flip", f"the walk reads no descriptor at {pa:#x}")
                continue
            current = memory.get(pa, ref.read.raw or 0)
            memory[pa] = current ^ (1 << bit)
        else:
            note("flip", f"unknown control {target[:40]!r}")

    if errors:
        return out

    config = replace(config, address=address & MASK64)
    config = replace(config, registers=registers)
    if memory:
        config = config.with_memory(memory)
    config = sync_regime(before, config)

    # 7. quick actions (on the descriptors the page showed)
    for item in actions:
        address_text, _, action = item.partition(":")
        try:
            pa = _number(address_text)
            config = apply_action(config, before_result, pa, action)
        except ValueError as error:
            note("act", str(error))
    if errors:
        return out
    out.config = config
    return out


def _reads_by_address(result: WalkResult) -> dict[int, ReadRef]:
    """``find_read`` for every address at once: the last read of each descriptor address."""
    out: dict[int, ReadRef] = {}
    for ref in result.reads():
        if ref.read.desc_address is not None and ref.read.raw is not None:
            out[ref.read.desc_address] = ref
    return out


def _choice_options(name: str) -> tuple[str, ...]:
    from typing import get_args, get_type_hints

    from model import Choices

    return get_args(get_type_hints(Choices)[name])


def is_edit(params: Iterable[tuple[str, str]]) -> bool:
    """A form submission carries ``from``; a permalink does not."""
    return any(key == "from" for key, _ in params)
