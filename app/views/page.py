"""The explorer page as a view model: set-up, presets, registers, the walk, choices, the
summary and Linux names of one state (``explorer_view``), plain data the renderers read.

A state's view is the same for every request (links are added per request by ``app.links``),
and the parts a click leaves alone are shared with the previous state's view (remembered by
value in ``app.cache``), so comparing two views region by region is cheap."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from dataclasses import fields as dc_fields
from typing import Any, NamedTuple, get_args, get_type_hints

from app.cache import lru, memo
from app.edits import SETUP_CONTROLS
from app.links import with_kernel
from app.state import encode
from app.views.common import hexv
from app.views.registers import RegisterView, registers_view
from app.views.walk import CHOICE_TITLES, WalkView, walk_view
from model import CHOICE_HELP, CPU_PRESETS, Choices, Regime
from model.arch.walker import WalkResult
from model.explore.configs import CONFIG_PRESETS, Configuration
from model.teach.linux import linux_view, view_key

REGIME_LABELS = {
    Regime.EL10.value: "EL1&0 stage 1",
    Regime.EL2.value: "EL2 stage 1 (nVHE hyp)",
    Regime.EL20.value: "EL2&0 (VHE)",
    Regime.STAGE2.value: "Stage 2 alone",
    Regime.EL10_S12.value: "EL1&0 two-stage",
}
ACCESS_KINDS = {"r": "read", "w": "write", "x": "execute"}
ACCESSES = tuple(
    (f"el{el}{k}", f"EL{el} {word}") for el in (0, 1, 2) for k, word in ACCESS_KINDS.items()
)
CPUS = tuple((slug, cpu.title, cpu.description) for slug, cpu in CPU_PRESETS.items())
# Edit errors shown in the messages region rather than beside a control.
FORM_CONTROLS = ("flip", "act", "load")


class SetupView(NamedTuple):
    regime: str
    cpu: str
    cpu_description: str
    access: str
    va: str  # the input address box (the typed text when an edit was refused)
    va_label: str
    errors: tuple[tuple[str, str], ...]  # (control, message) for the set-up controls

    def error(self, control: str) -> str:
        return dict(self.errors).get(control, "")


_setups = lru("setup_views")


def setup_view(config: Configuration, errors: Mapping, typed: Mapping) -> SetupView:
    if errors or typed:
        return _setup_view(config, errors, typed)
    key = (config.regime, config.cpu, config.access, config.address)
    return _setups.get_or_make(key, lambda: _setup_view(config, {}, {}))


def _setup_view(config: Configuration, errors: Mapping, typed: Mapping) -> SetupView:
    return SetupView(
        regime=config.regime,
        cpu=config.cpu,
        cpu_description=CPU_PRESETS[config.cpu].description,
        access=config.access,
        va=typed.get("va", hexv(config.address)),
        va_label="Input address (IPA)" if config.regime == "stage2" else "Virtual address",
        errors=tuple((k, errors[k]) for k in SETUP_CONTROLS if k in errors),
    )


class PresetItem(NamedTuple):
    slug: str
    title: str
    summary: str
    current: bool


@memo("preset_lists")
def presets_view(slug: str) -> tuple[PresetItem, ...]:
    return tuple(
        PresetItem(p.slug, p.title, p.summary, p.slug == slug) for p in CONFIG_PRESETS.values()
    )


class ChoiceView(NamedTuple):
    """One IMPLEMENTATION DEFINED choice: its options, the one taken, whether the walk used
    it."""

    name: str  # c.<choice>
    id: str
    title: str
    options: tuple[tuple[str, str, str], ...]  # (value, label, help)
    value: str
    help: str
    used: bool
    error: str


def _choice_specs() -> tuple[tuple[str, tuple[str, ...]], ...]:
    hints = get_type_hints(Choices)
    return tuple((spec.name, get_args(hints[spec.name])) for spec in dc_fields(Choices))


CHOICE_SPECS = _choice_specs()
_choices = lru("choice_views")


def choices_view(
    config: Configuration, result: WalkResult, errors: Mapping
) -> tuple[ChoiceView, ...]:
    """The IMPLEMENTATION DEFINED choices and which of them the walk used (shared between
    states with the same choices and uses when nothing is in error)."""
    if errors:
        return _choices_view(config, result, errors)
    key = (config.choices, tuple(sorted(result.choices_used)))
    return _choices.get_or_make(key, lambda: _choices_view(config, result, {}))


def _choices_view(
    config: Configuration, result: WalkResult, errors: Mapping
) -> tuple[ChoiceView, ...]:
    out = []
    for name, options in CHOICE_SPECS:
        value = getattr(config.choices, name)
        help_ = CHOICE_HELP.get(name, {})
        out.append(
            ChoiceView(
                name=f"c.{name}",
                id=f"c-{name}",
                title=CHOICE_TITLES.get(name, name.replace("_", " ")),
                options=tuple((o, o.replace("_", " "), help_.get(o, "")) for o in options),
                value=value,
                help=help_.get(value, ""),
                used=name in result.choices_used,
                error=errors.get(f"c.{name}", ""),
            )
        )
    return tuple(out)


class SummaryView(NamedTuple):
    """The sticky summary bar: the outcome in one line."""

    ok: bool
    input: str
    outcome: str
    code: str
    has_output: bool


def summary_view(result: WalkResult) -> SummaryView:
    name = result.input_name
    has_output = result.output_address is not None
    if result.fault is not None:
        f = result.fault
        return SummaryView(
            ok=False,
            input=f"{name} {hexv(result.input_address)}",
            outcome=f"{f.fsc_name}, stage {f.stage}"
            if "level" in f.fsc_name
            else f"{f.fsc_name}, level {f.level}, stage {f.stage}",
            code=f"FSC {f.fsc:#04x}",
            has_output=has_output,
        )
    via = f" → IPA {hexv(result.ipa)}" if result.ipa is not None else ""
    return SummaryView(
        ok=True,
        input=f"{name} {hexv(result.input_address)}{via}",
        outcome=f"PA {hexv(result.output_address)}",
        code=_count(result.descriptor_reads, "descriptor read"),
        has_output=has_output,
    )


def status_text(result: WalkResult) -> str:
    """The status line's sentence (announced to screen readers after each edit)."""
    if result.fault is not None:
        f = result.fault
        read = _count(len(result.levels), "level")
        return f"{f.fsc_name}, stage {f.stage} (FSC {f.fsc:#04x}). {read} read."
    return (
        f"Walk complete: {hexv(result.input_address)} translates to "
        f"{hexv(result.output_address)} in {_count(result.descriptor_reads, 'descriptor read')}."
    )


def _count(n: int, thing: str) -> str:
    """``1 level``, ``0 levels``, ``5 levels``."""
    return f"{n} {thing}{'' if n == 1 else 's'}"


_linux = lru("linux_views")


def cached_linux_view(
    config: Configuration, result: WalkResult, kernel: str | None = None
) -> tuple[tuple, Mapping[str, Any]]:
    """``model.teach.linux.linux_view`` and its key, remembered by what it reads
    (``view_key``: the regime, the CPU, each stage's parameters, the stage-2 leaf, the fault
    code and the release); a bit click rarely changes any of them. The dict is shared between
    views and must not be modified."""
    key = view_key(config, result, kernel)
    return key, _linux.get_or_make(key, lambda: linux_view(config, result, kernel))


class PresetTitle(NamedTuple):
    slug: str
    title: str
    summary: str


@dataclass(frozen=True)
class ExplorerView:
    """Everything the explorer page shows of one state, region by region."""

    query: str  # the canonical link query
    preset: PresetTitle | None
    setup: SetupView
    presets: tuple[PresetItem, ...]
    registers: tuple[RegisterView, ...]
    choices: tuple[ChoiceView, ...]
    walk: WalkView
    summary: SummaryView
    linux: Mapping[str, Any]  # model.teach.linux.linux_view
    linux_key: tuple  # what the Linux panel shows depends on (``view_key``)
    status: str  # the status line: the outcome, or why an edit was not applied
    errors: Mapping[str, str] = field(default_factory=dict)  # control name -> message
    link_problems: tuple[str, ...] = ()
    kernel: str | None = None  # the release the Linux panel describes, when one was chosen

    @property
    def page_query(self) -> str:
        """The page's link query: the state's, and the release when one was chosen."""
        return with_kernel(self.query, self.kernel)

    @property
    def form_errors(self) -> list[str]:
        return [self.errors[k] for k in FORM_CONTROLS if k in self.errors]


def explorer_view(
    config: Configuration,
    result: WalkResult,
    *,
    errors: Mapping[str, str] | None = None,
    typed: Mapping[str, str] | None = None,
    link_problems: tuple[str, ...] = (),
    query: str | None = None,
    kernel: str | None = None,
) -> ExplorerView:
    """The view of a state; with ``errors`` and ``typed``, of a refused edit (the controls show
    what was typed and why it was refused; the walk is the last good one). ``kernel``: the
    release the Linux panel describes (``None``: current mainline)."""
    errors = errors or {}
    typed = typed or {}
    preset = CONFIG_PRESETS.get(config.slug)
    status = status_text(result)
    if errors:
        status = "Not applied: " + "; ".join(errors.values())
    linux_key, linux = cached_linux_view(config, result, kernel)
    return ExplorerView(
        query=encode(config) if query is None else query,
        preset=PresetTitle(config.slug, config.title, config.summary) if preset else None,
        setup=setup_view(config, errors, typed),
        presets=presets_view(config.slug),
        registers=registers_view(config, result, errors, typed),
        choices=choices_view(config, result, errors),
        walk=walk_view(config, result, errors, typed),
        summary=summary_view(result),
        linux=linux,
        linux_key=linux_key,
        status=status,
        errors=dict(errors),
        link_problems=link_problems,
        kernel=kernel,
    )
