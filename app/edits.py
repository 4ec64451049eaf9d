"""Form-edit plumbing: turn a submitted explorer form into a new configuration.

The explorer is one GET form. A hidden ``from`` input carries the canonical query of the state
the page shows; every visible control carries a value. Only controls whose value differs from
that state are applied, in a fixed order (setup, choices, whole-register hex, descriptor hex,
field edits, bit flips, quick actions), so edits never fight each other. Any problem cancels
the whole edit: the caller keeps the previous state and shows the messages next to the
controls, keyed by control name.

Two steps: ``parse_form`` sorts the submitted controls into the edits they ask for (nothing
checked yet), ``apply_edits`` checks each against the state the page showed and applies it.

Control names:
  ``regime`` ``cpu`` ``access`` ``va``     the setup bar
  ``c.<choice>``                           IMPLEMENTATION DEFINED choices (as in links)
  ``r.<register>``                         a whole register in hex, e.g. ``r.tcr_el1``
  ``f.<register>.<Field>``                 one field of a register, e.g. ``f.tcr_el1.T0SZ``
  ``m.<address>``                          a whole descriptor at a physical address
  ``flip``  = ``r.<register>:<bit>`` | ``m.<address>:<bit>`` | ``va:<bit>``
  ``act``   = ``<address>:<action>``       a quick action on a descriptor
  ``fix``   = ``<kind>:<target>:<field>:<value>``  a remedy the fault offers
                                           (``model.explore.remedies``)
  ``refill`` = ``1``                       build the background tables for the registers
  ``load``  = ``<preset slug>``            load a whole preset
  ``goto``  = ``<link query>``             show another state whole (the browser's Back and
                                           Forward, Undo and Redo: static/js/explorer.js)

No architecture here: layouts and quick actions come from ``model.explore.actions``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from app.state import CHOICE_PARAMS, MASK64, REGISTER_PARAMS, Problem, _choice_values, parse_number
from app.walks import decode_cached, run_cached
from model import CPU_PRESETS, Regime
from model.arch.fields import Layout
from model.arch.result import ReadRef, WalkResult
from model.explore.actions import apply_action, register_layout, sync_regime
from model.explore.configs import CONFIG_PRESETS, Configuration
from model.explore.remedies import REMEDY_KINDS, Remedy, apply_remedy

ACCESS_VALUES = tuple(f"el{el}{kind}" for el in (0, 1, 2) for kind in "rwx")
SETUP_CONTROLS = ("regime", "cpu", "access", "va")
REGIMES = tuple(r.value for r in Regime)


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
    goto_problems: list[Problem] = field(default_factory=list)  # what ``goto`` could not read
    kernel: str | None = None  # the release the page's Linux panel describes (kept)

    @property
    def ok(self) -> bool:
        return not self.errors


# -- 1. the form, sorted into edits -----------------------------------------------------------


@dataclass
class FormEdits:
    """What a submitted explorer form asks for, by kind, as typed (nothing checked yet)."""

    start: str = ""  # ``from``: the link query of the state the page shows
    load: str = ""  # a preset to load instead
    goto: str = ""  # the link query of a state to show instead (history navigation)
    controls: dict[str, str] = field(default_factory=dict)  # every named control, as typed
    setup: dict[str, str] = field(default_factory=dict)  # regime, cpu, access, va
    choices: dict[str, str] = field(default_factory=dict)  # c.<choice>
    registers: dict[str, str] = field(default_factory=dict)  # r.<register>
    descriptors: dict[str, str] = field(default_factory=dict)  # m.<address>, in form order
    fields: dict[str, str] = field(default_factory=dict)  # f.<register>.<Field>, in form order
    flips: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)  # fix=<kind>:<target>:<field>:<value>
    refill: bool = False


def parse_form(pairs: Iterable[tuple[str, str]]) -> FormEdits:
    """Sort a submitted explorer form (name/value pairs; the last value of a name counts,
    ``flip`` and ``act`` may repeat) into the edits it asks for."""
    edits = FormEdits()
    for key, value in pairs:
        if key == "flip":
            edits.flips.append(value)
        elif key == "act":
            edits.actions.append(value)
        elif key == "fix":
            edits.fixes.append(value)
        else:
            edits.controls[key] = value
    for key, value in edits.controls.items():
        if key in SETUP_CONTROLS:
            edits.setup[key] = value
        elif key in CHOICE_PARAMS:
            edits.choices[key] = value
        elif key.startswith("r.") and key[2:] in REGISTER_PARAMS:
            edits.registers[key] = value
        elif key.startswith("m."):
            edits.descriptors[key] = value
        elif key.startswith("f."):
            edits.fields[key] = value
    edits.refill = edits.controls.get("refill") == "1"
    edits.start = edits.controls.get("from", "")
    edits.load = edits.controls.get("load", "")
    edits.goto = edits.controls.get("goto", "")
    return edits


# -- 2. the edits, checked and applied ---------------------------------------------------------


class _Refusals:
    """The controls whose value is refused: why, and what was typed (shown back)."""

    def __init__(self, out: EditOutcome, edits: FormEdits) -> None:
        self.out = out
        self.typed = edits.controls

    def __call__(self, name: str, message: str) -> None:
        self.out.errors[name] = message
        self.out.typed[name] = self.typed.get(name, "")

    def __bool__(self) -> bool:
        return bool(self.out.errors)


def apply_form(pairs: Iterable[tuple[str, str]]) -> EditOutcome:
    """Apply a submitted explorer form (a list of name/value pairs)."""
    return apply_edits(parse_form(pairs))


def apply_edits(edits: FormEdits) -> EditOutcome:
    """Check the edits against the state the page showed and apply them, in order."""
    decoded = decode_cached(edits.start)
    before = decoded.config
    before_result = run_cached(before)
    out = EditOutcome(
        before, before_result, before, link_problems=decoded.problems, kernel=decoded.kernel
    )
    if "goto" in edits.controls:
        # Back or Forward to a state of the page's history: that state, whatever this one is.
        target = decode_cached(edits.goto)
        out.config, out.kernel, out.goto_problems = target.config, target.kernel, target.problems
        return out
    if edits.load:
        if edits.load in CONFIG_PRESETS:
            out.config = CONFIG_PRESETS[edits.load]
            out.loaded = True
        else:
            out.errors["load"] = f"no preset {edits.load!r}"
        return out

    refuse = _Refusals(out, edits)
    config = before
    changes = _setup_changes(edits.setup, before, refuse)
    if changes:
        config = replace(config, **changes)
    choices = _choice_changes(edits.choices, before, refuse)
    if choices:
        config = replace(config, choices=replace(config.choices, **choices))
    registers = dict(config.registers)
    registers.update(_register_values(edits.registers, before, refuse))
    reads = _reads_by_address(before_result)
    memory = _descriptor_values(edits.descriptors, reads, refuse)
    _apply_fields(edits.fields, before, before_result, registers, refuse)
    address = _apply_flips(edits.flips, config.address, registers, memory, reads, refuse)
    if refuse:
        return out

    config = replace(config, address=address & MASK64, registers=registers)
    if memory:
        config = config.with_memory(memory)
    config = sync_regime(before, config)
    # Quick actions last, on the descriptors the page showed.
    for item in edits.actions:
        address_text, _, action = item.partition(":")
        try:
            config = apply_action(config, before_result, parse_number(address_text), action)
        except ValueError as error:
            refuse("act", str(error))
    if edits.refill:
        config = config.refilled()
    for item in edits.fixes:
        try:
            config = apply_remedy(config, _remedy(item))
        except (ValueError, KeyError) as error:
            refuse("fix", str(error).strip("'"))
    if not refuse:
        out.config = config
    return out


def _remedy(item: str) -> Remedy:
    """A ``fix`` control's remedy: ``<kind>:<target>:<field>:<value>``."""
    kind, target, field_name, value = (item.split(":") + ["", "", "", ""])[:4]
    if kind not in REMEDY_KINDS:
        raise ValueError(f"not a remedy {item[:40]!r}")
    address_target = kind in ("descriptor", "action")
    return Remedy(
        "",
        kind,
        parse_number(target) if address_target else target,
        field_name,
        parse_number(value) if value else 0,
    )


def _setup_changes(setup: Mapping[str, str], before: Configuration, refuse: _Refusals) -> dict:
    """The set-up bar: regime, CPU, access and input address, where changed."""
    changes: dict = {}
    regime, cpu, access = setup.get("regime"), setup.get("cpu"), setup.get("access")
    if regime is not None and regime != before.regime:
        if regime in REGIMES:
            changes["regime"] = regime
        else:
            refuse("regime", f"unknown regime {regime[:40]!r}")
    if cpu is not None and cpu != before.cpu:
        if cpu in CPU_PRESETS:
            changes["cpu"] = cpu
        else:
            refuse("cpu", f"unknown CPU preset {cpu[:40]!r}")
    if access is not None and access != before.access:
        if access in ACCESS_VALUES:
            changes["access"] = access
        else:
            refuse("access", "expected el0/el1/el2 and r/w/x, e.g. el1r")
    va = setup.get("va")
    if va is not None and va.strip() != f"{before.address:#x}":
        try:
            changes["address"] = parse_number(va)
        except ValueError as error:
            refuse("va", str(error))
    return changes


def _choice_changes(
    choices: Mapping[str, str], before: Configuration, refuse: _Refusals
) -> dict[str, str]:
    """The IMPLEMENTATION DEFINED choices, where changed."""
    changes = {}
    for param, name in CHOICE_PARAMS.items():
        value = choices.get(param)
        if value is None or value == getattr(before.choices, name):
            continue
        if value in _choice_values(name):
            changes[name] = value
        else:
            refuse(param, f"not one of {', '.join(_choice_values(name))}")
    return changes


def _register_values(
    registers: Mapping[str, str], before: Configuration, refuse: _Refusals
) -> dict[str, int]:
    """Whole registers typed in hex, where changed."""
    values = {}
    for param, register in REGISTER_PARAMS.items():
        key = f"r.{param}"
        if key not in registers:
            continue
        old = int(before.registers.get(register, 0)) & MASK64
        if registers[key].strip() == f"{old:#x}":
            continue
        try:
            value = parse_number(registers[key])
        except ValueError as error:
            refuse(key, str(error))
            continue
        if value != old:
            values[register] = value
    return values


def _descriptor_values(
    descriptors: Mapping[str, str], reads: Mapping[int, ReadRef], refuse: _Refusals
) -> dict[int, int]:
    """Whole descriptors typed in hex, where changed (only those the page showed)."""
    memory: dict[int, int] = {}
    for key, text in descriptors.items():
        try:
            address = parse_number(key[2:])
        except ValueError:
            continue
        ref = reads.get(address)
        if ref is None:
            continue
        old = ref.read.raw or 0
        if text.strip() == f"{old:#x}":
            continue
        try:
            value = parse_number(text)
        except ValueError as error:
            refuse(key, str(error))
            continue
        if value != old:
            memory[address] = value
    return memory


def _apply_fields(
    fields: Mapping[str, str],
    before: Configuration,
    before_result: WalkResult,
    registers: dict[str, int],
    refuse: _Refusals,
) -> None:
    """Register fields typed one by one, compared with the fields of the state the page
    showed and set in ``registers``."""
    layouts: dict[str, Layout] = {}
    for key, text in fields.items():
        param, _, field_name = key[2:].partition(".")
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
        value = _field_value(layout, field_name, before.registers.get(register, 0), text)
        if isinstance(value, str):
            refuse(key, value)
        elif value is not None:
            registers[register] = layout.set(registers.get(register, 0), field_name, value)


def _field_value(layout: Layout, name: str, register_value: int, text: str) -> int | str | None:
    """The value typed for a field, shifted into the field: ``None`` when unchanged, a
    message when it cannot be used. An address field is typed as the address it holds."""
    spec = layout.field(name)
    old_reg = int(register_value) & MASK64
    in_place = spec.kind == "address"
    old = layout.get_in_place(old_reg, name) if in_place else layout.get(old_reg, name)
    if text.strip() in (str(old), f"{old:#x}"):
        return None
    try:
        value = parse_number(text)
    except ValueError as error:
        return str(error)
    if value == old:
        return None
    if in_place:
        if value & ~spec.mask:
            return (
                f"{value:#x} does not fit {spec.name}[{spec.hi}:{spec.lo}] "
                f"(bits below {spec.lo} and above {spec.hi} must be zero)"
            )
        value >>= spec.lo
    if value >> spec.width:
        top = (1 << spec.width) - 1
        return f"{value} is out of range for {spec.name}: 0 to {top} ({spec.width} bits)"
    return value


def _apply_flips(
    flips: Iterable[str],
    address: int,
    registers: dict[str, int],
    memory: dict[int, int],
    reads: Mapping[int, ReadRef],
    refuse: _Refusals,
) -> int:
    """Bit flips of the input address, registers and descriptors the page showed; returns
    the input address."""
    for flip in flips:
        target, _, bit_text = flip.rpartition(":")
        try:
            bit = int(bit_text)
            if not 0 <= bit < 64:
                raise ValueError
        except ValueError:
            refuse("flip", f"bad bit {bit_text[:10]!r}")
            continue
        if target == "va":
            address ^= 1 << bit
        elif target.startswith("r.") and target[2:] in REGISTER_PARAMS:
            register = REGISTER_PARAMS[target[2:]]
            registers[register] = int(registers.get(register, 0)) ^ (1 << bit)
        elif target.startswith("m."):
            try:
                pa = parse_number(target[2:])
            except ValueError as error:
                refuse("flip", str(error))
                continue
            ref = reads.get(pa)
            if ref is None:
                refuse("flip", f"the walk reads no descriptor at {pa:#x}")
                continue
            memory[pa] = memory.get(pa, ref.read.raw or 0) ^ (1 << bit)
        else:
            refuse("flip", f"unknown control {target[:40]!r}")
    return address


def _reads_by_address(result: WalkResult) -> dict[int, ReadRef]:
    """The last read of each descriptor address the walk read (both stages)."""
    out: dict[int, ReadRef] = {}
    for ref in result.reads():
        if ref.read.desc_address is not None and ref.read.raw is not None:
            out[ref.read.desc_address] = ref
    return out


def is_edit(params: Iterable[tuple[str, str]]) -> bool:
    """A form submission carries ``from``; a permalink does not."""
    return any(key == "from" for key, _ in params)
