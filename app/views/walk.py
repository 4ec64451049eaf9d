"""The walk as view models: the input address by role, one card per descriptor read, the
output address by source, attributes, permissions, the fault, warnings and field help."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from app.cache import lru
from app.views.common import (
    BitGrid,
    FieldHelp,
    bit_range,
    help_prefix,
    hexv,
    layout_help,
    remembered_hash,
    slug_id,
    stage_input,
)
from app.views.fault import FaultView, fault_view
from model import CHOICE_HELP, Regime
from model.arch.attrs import (
    CombinedAttributes,
    LeafAttributes,
    OutputAttributes,
    Stage1Attributes,
    Stage2Attributes,
)
from model.arch.fields import Layout
from model.arch.geometry import FINAL_LEVEL
from model.arch.params import WalkParams
from model.arch.permissions import Permissions, TwoStagePermissions
from model.arch.result import MAIN, NESTED, ReadRef, StageWalk, WalkResult
from model.arch.updates import HardwareUpdate
from model.explore.actions import address_segments, display_layout, quick_actions
from model.explore.configs import CONFIG_PRESETS, Configuration

CHOICE_TITLES = {
    "txsz_out_of_range": "TxSZ out of range",
    "unimplemented_granule": "Unimplemented granule",
    "setup_fault_level": "Set-up fault level",
    "ds_validity": "When DS takes effect",
    "high_oa_bits": "High OA bits with a small PS",
    "par_ns": "PAR_EL1.NS of a Non-secure regime",
}

# Levels -1 to 3: one walk (stage 1, or stage 2 alone) reads at most five descriptors, so the
# page keeps five card slots and an edit that adds or removes levels swaps slots one by one.
MAIN_SLOTS = FINAL_LEVEL + 2


# -- the input address --------------------------------------------------------------------------


class AddressSegment(NamedTuple):
    """Input-address bits ``[hi:lo]`` and what they do in the walk."""

    role: str
    label: str
    hi: int
    lo: int
    value: int
    note: str

    @property
    def range(self) -> str:
        return bit_range(self.hi, self.lo)


@remembered_hash
@dataclass(frozen=True, slots=True)
class AddressView:
    name: str  # "VA" or "IPA"
    address: int
    segments: tuple[AddressSegment, ...]
    params: tuple[tuple[str, str], ...]  # the walk parameters, labelled
    _hash: int | None = field(default=None, init=False, repr=False, compare=False)


_addresses = lru("address_views")


def address_view(result: WalkResult) -> AddressView | None:
    params = result.params.get("s1") or result.params.get("s2")
    if params is None:
        return None
    if result.regime == Regime.STAGE2.value:
        params = replace(params, input_address=result.input_address)
    attrs = result.attrs.stage1 if isinstance(result.attrs, CombinedAttributes) else result.attrs
    leaf = attrs.leaf_level if isinstance(attrs, LeafAttributes) else None
    if leaf is not None and result.levels and result.levels[-1].kind != "block":
        leaf = None
    address = result.input_address
    name = result.input_name
    layout = tuple(
        (seg.role, seg.label, seg.hi, seg.lo, seg.note) for seg in address_segments(params, leaf)
    )
    rows = params_rows(params)
    # Shared between states: a click that leaves the input address and the walk's geometry
    # alone gets the same object (so the walk head compares equal by identity).
    return _addresses.get_or_make(
        (name, address, layout, rows),
        lambda: AddressView(
            name,
            address,
            tuple(
                AddressSegment(
                    role, label, hi, lo, (address >> lo) & ((1 << (hi - lo + 1)) - 1), note
                )
                for role, label, hi, lo, note in layout
            ),
            rows,
        ),
    )


def params_rows(p: WalkParams) -> tuple[tuple[str, str], ...]:
    """The walk parameters, each with why it has its value (the model's parameter facts)."""
    return tuple((f.name, f"{f.text} — {f.why}" if f.why else f.text) for f in p.facts())


# -- cards ---------------------------------------------------------------------------------------


class UpdateView(NamedTuple):
    """A hardware update of the Access flag or dirty state the walk makes to a descriptor
    (FEAT_HAFDBS): what changes, the value before and after, and what memory would hold."""

    changes: str
    old: str
    new: str
    written: bool
    explanation: str
    fault: str  # why stage 2 refused the write; empty when it was written


def update_view(u: HardwareUpdate) -> UpdateView:
    explanation = u.explanation
    via = u.via
    if via is not None and via.update is not None:
        explanation += " Its write through stage 2 also updates the table page's stage-2 "
        explanation += "descriptor: " + via.update.explanation
    return UpdateView(
        changes="; ".join(u.changes),
        old=hexv(u.old),
        new=hexv(u.new),
        written=u.written,
        explanation=explanation,
        fault="" if u.fault is None else u.fault.message,
    )


def _update_key(u: HardwareUpdate | None) -> tuple | None:
    """What ``update_view`` shows of an update."""
    if u is None:
        return None
    return (u.explanation, u.fault is None, _update_key(u.via.update if u.via else None))


class NestedWalk(NamedTuple):
    """The stage-2 walk that translated a stage-1 table address: its reads as cards."""

    input: str
    output: str
    fault: str  # the fault's name and FSC, or ""
    cards: tuple[CardView, ...]


class QuickActionView(NamedTuple):
    value: str  # <address>:<action>
    label: str
    allowed: bool
    why: str


class DecodedFields(NamedTuple):
    """A descriptor's decoded-fields table: its layout (a ``LAYOUTS`` name) and value."""

    layout: str
    value: int


@remembered_hash
@dataclass(frozen=True, slots=True)
class CardView:
    """One descriptor read: where the descriptor is, its value and editor, what it gives."""

    id: str
    stage: int
    level: int
    kind: str
    source: str  # "set", "background", "empty" or "image": where the descriptor came from
    nested_in: str  # for a stage-2 read of a stage-1 table address: "L<level>", else ""
    table_base: str
    origin: str
    index_range: str
    index_hex: str
    index: int
    input_name: str
    desc_address: str
    desc_ipa: str
    raw: str
    hex_name: str  # m.<address>; empty when nothing was read
    hex_id: str
    hex_text: str
    error: str
    layout_title: str
    help_ref: str
    grid: BitGrid | None
    decoded: DecodedFields | None
    next_address: str
    output_address: str
    table_attrs: str
    nested: NestedWalk | None
    actions: tuple[QuickActionView, ...]
    update: UpdateView | None = None  # the hardware update the walk makes to this descriptor
    _hash: int | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def changed(self) -> bool:
        """Set by the state (an edit), not read from the background or an image."""
        return self.source == "set"


def card_view(
    ref: ReadRef,
    config: Configuration,
    errors: Mapping,
    typed: Mapping,
    faulted: bool = False,
    nested: NestedWalk | None = None,
    editable: bool = True,
) -> CardView:
    """One read. ``faulted``: the walk stopped here; ``nested``: the stage-2 walk that
    translated this stage-1 read's table address; ``editable``: this card carries the
    descriptor's value box (a descriptor read twice has one box, on its first card)."""
    read, params = ref.read, ref.params
    raw = read.raw
    addr = read.desc_address
    key = f"m.{hexv(addr)}" if addr is not None and editable else ""
    layout = display_layout(read, params) if raw is not None else None
    actions: tuple[QuickActionView, ...] = ()
    if raw is not None and addr is not None:
        actions = tuple(
            QuickActionView(f"{hexv(addr)}:{a.name}", a.label, a.allowed, a.reason)
            for a in quick_actions(read, params, config.cpu, faulted)
        )
    serves = ref.serves
    where = f"n{serves.level}-" if serves is not None else ""
    grid = decoded = None
    if layout is not None and raw is not None:
        label = f"Level {read.level} descriptor bits"
        control = f"m.{hexv(addr)}" if addr is not None else ""
        grid = BitGrid(layout.name, raw, control, help_prefix(layout), label, "desc")
        # What the walker decoded: nothing when it did not decode the descriptor.
        decoded = DecodedFields(layout.name, raw) if read.fields else None
    return CardView(
        id=f"card-{where}{read.stage}-{read.level}-{hexv(addr) if addr is not None else 'none'}",
        stage=read.stage,
        level=read.level,
        kind=read.kind,
        source=read.source or "",
        nested_in=f"L{serves.level}" if serves is not None else "",
        table_base=hexv(read.table_base),
        origin=read.table_base_origin,
        index_range=bit_range(read.index_hi, read.index_lo),
        index_hex=hexv(read.index),
        index=read.index,
        input_name=stage_input(read.stage),
        desc_address=hexv(addr),
        desc_ipa=hexv(read.desc_ipa) if read.desc_ipa is not None else "",
        raw=hexv(raw),
        hex_name=key,
        hex_id=f"m-{where}{read.stage}-{hexv(addr)}",
        hex_text=typed.get(key, hexv(raw)),
        error=errors.get(key, ""),
        layout_title=layout.title if layout else "",
        help_ref=f"help-{slug_id(layout.name)}" if layout is not None else "",
        grid=grid,
        decoded=decoded,
        next_address=hexv(read.next_address) if read.next_address is not None else "",
        output_address=hexv(read.output_address) if read.output_address is not None else "",
        table_attrs=table_attrs_text(read.attributes),
        nested=nested,
        actions=actions,
        update=None if read.update is None else update_view(read.update),
    )


_card_views = lru("card_views")


def card_key(
    ref: ReadRef, cpu: str, faulted: bool, nested: NestedWalk | None, editable: bool
) -> tuple | None:
    """Everything ``card_view`` reads: the read's own results, the parameters
    ``display_layout`` and ``quick_actions`` look at (format, granule, DS), the CPU (which
    block levels it allows), whether the walk stopped here, its nested stage-2 cards (views,
    compared by value) and whether it carries the value box. ``None``: not shareable."""
    r, p = ref.read, ref.params
    serves = None if ref.serves is None else ref.serves.level
    key = (
        r.stage, r.level, r.table_base, r.table_base_origin, r.index_hi, r.index_lo, r.index,
        r.desc_address, r.desc_ipa, r.raw, r.kind, r.layout, bool(r.fields), r.next_address,
        r.output_address, r.source, tuple(r.attributes.items()),
        p.desc_variant, p.granule_kb, p.ds, cpu, faulted, nested, editable, serves,
        _update_key(r.update),
    )  # fmt: skip
    try:
        hash(key)
    except TypeError:
        return None
    return key


def shared_card_view(
    ref: ReadRef,
    config: Configuration,
    errors: Mapping,
    typed: Mapping,
    faulted: bool = False,
    nested: NestedWalk | None = None,
    editable: bool = True,
) -> CardView:
    """``card_view``, shared between states that read the same descriptor the same way: a
    click rebuilds only the cards it changed, and unchanged cards stay the same object (so
    comparing views is cheap). Never for a view with errors or typed values, whose cards show
    them."""
    key = None if errors or typed else card_key(ref, config.cpu, faulted, nested, editable)
    if key is None:
        return card_view(ref, config, errors, typed, faulted, nested, editable)
    return _card_views.get_or_make(
        key, lambda: card_view(ref, config, {}, {}, faulted, nested, editable)
    )


def table_attrs_text(attributes: Mapping) -> str:
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


def nested_walk(sw: StageWalk, cards: tuple[CardView, ...]) -> NestedWalk:
    f = sw.fault
    return NestedWalk(
        input=hexv(sw.params.input_address) if sw.params else "—",
        output=hexv(sw.output_address) if f is None else "—",
        fault="" if f is None else f"{f.fsc_name} (FSC {f.fsc:#04x})",
        cards=cards,
    )


def card_slots(cards: tuple[CardView, ...]) -> int:
    """How many ``slot-main-N`` list items the walk has (empty ones are hidden)."""
    return max(MAIN_SLOTS, len(cards))


# -- the output ------------------------------------------------------------------------------


class OutputSegment(NamedTuple):
    """Output-address bits ``[hi:lo]`` and where they came from."""

    hi: int
    lo: int
    origin: str
    source: str  # "desc" | "ia" | "ttbr"
    value: int
    moved: bool  # descriptor bits that sit elsewhere in the descriptor (DS=1: OA[51:50])

    @property
    def range(self) -> str:
        return bit_range(self.hi, self.lo)


class OutputView(NamedTuple):
    address: int
    segments: tuple[OutputSegment, ...]


def output_view(result: WalkResult) -> OutputView | None:
    if result.output_address is None:
        return None
    oa = result.output_address
    return OutputView(
        oa,
        tuple(
            OutputSegment(
                src.oa_hi,
                src.oa_lo,
                result.source_label(src),
                src.source,
                (oa >> src.oa_lo) & ((2 << (src.oa_hi - src.oa_lo)) - 1),
                src.source == "desc" and src.src_lo != src.oa_lo,
            )
            for src in result.oa_sources
        ),
    )


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


def _flag(value: int | bool) -> str:
    return "1" if value else "0"


def attrs_rows(a: OutputAttributes) -> tuple[tuple[str, str], ...]:
    """The output attributes as labelled sentences (never Python values)."""
    text = a.memory_type
    if isinstance(a, Stage1Attributes):
        text += f"; {a.mair}.Attr{a.attr_index} = {a.attr:#04x} (AttrIndx={a.attr_index})"
    elif isinstance(a, Stage2Attributes):
        text += f"; MemAttr={a.memattr:#06b} (as a MAIR byte {a.attr:#04x})"
    else:
        text += f" (combined attribute {a.attr:#04x})"
    rows = [
        ("Memory type", text),
        ("Shareability", f"{a.sh_name} ({a.sh:#04b}), {_origin_text(a.sh_origin)}"),
    ]
    if isinstance(a, LeafAttributes):
        mapping = f"level {a.leaf_level} {a.leaf_kind}"
        if a.block_size:
            mapping += f" mapping {size_text(a.block_size)} ({a.block_size:#x} bytes)"
        rows += [("Mapping", mapping), ("Access flag", f"AF={_flag(a.af)}")]
    if isinstance(a, Stage1Attributes):
        ng = "nG=1: not global (tagged with the ASID)" if a.ng else "nG=0: global"
        rows.append(("Global", ng))
    if isinstance(a, LeafAttributes):
        contiguous = "Contiguous=1: part of a contiguous run" if a.contiguous else "Contiguous=0"
        rows += [("Contiguous", contiguous), ("Dirty bit modifier", f"DBM={_flag(a.dbm)}")]
    if isinstance(a, Stage1Attributes):
        rows.append(("Guarded page", f"GP={_flag(a.gp)}"))
    if isinstance(a, Stage2Attributes):
        rows.append(("MemAttr", a.memattr_rule))
    if isinstance(a, CombinedAttributes):
        rows.append(("Combination", a.combine_note))
    return tuple(rows)


class PermTable(NamedTuple):
    """Who may read, write and execute, per exception level, and why."""

    title: str
    rows: tuple[tuple[str, tuple[tuple[str, bool], ...]], ...]
    notes: tuple[str, ...]


def perm_tables(perms: Permissions | TwoStagePermissions | None) -> tuple[PermTable, ...]:
    if perms is None:
        return ()
    if isinstance(perms, TwoStagePermissions):
        return (_perm_table("Stage 1", perms.stage1), _perm_table("Stage 2", perms.stage2))
    return (_perm_table("", perms),)


def _perm_table(title: str, perms: Permissions) -> PermTable:
    rows = tuple(
        (el, (("read", p.read), ("write", p.write), ("execute", p.exec)))
        for el, p in perms.by_el.items()
    )
    notes = (*perms.why, *(() if perms.pan is None else (perms.pan,)))
    return PermTable(title, rows, notes)


# -- the whole walk ------------------------------------------------------------------------------


class MemoryView(NamedTuple):
    """What the walk reads: descriptors the state sets over background tables built for an
    origin (or over a memory image), and whether Re-fill would build them anew."""

    tables_for: str  # what the background tables were built for
    set_count: int  # descriptors the state sets
    can_refill: bool  # the tables were built for other registers than the current ones
    image: bool  # a memory image stands in for the background tables


def memory_view(config: Configuration) -> MemoryView:
    count = len(config.memory)
    if config.image is not None:
        return MemoryView("a memory image", count, False, True)
    origin = config.tables_origin
    preset = CONFIG_PRESETS.get(config.slug)
    if preset is not None and origin == preset.tables_origin:
        what = f"the registers of preset {config.slug}"
    else:
        what = "the registers of the last re-fill"
    current = config.refilled().tables_origin
    return MemoryView(what, count, origin != current, False)


@dataclass(frozen=True, slots=True)
class WalkView:
    ok: bool
    fault: FaultView | None
    address: AddressView | None
    memory: MemoryView
    cards: tuple[CardView, ...]
    final_cards: tuple[CardView, ...]
    ipa: str
    final_fault: FaultView | None
    output: OutputView | None
    attrs: tuple[tuple[str, str], ...]
    attrs_stages: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    perms: tuple[PermTable, ...]
    par: str
    warnings: tuple[tuple[str, str], ...]  # (code, message)
    choices_used: tuple[tuple[str, str, str], ...]  # (title, value, help)
    reads: int
    help: tuple[FieldHelp, ...]  # one per descriptor format shown

    @property
    def has_final(self) -> bool:
        """Does a two-stage walk show the stage-2 walk of its output IPA?"""
        return bool(self.final_cards or self.final_fault)


def walk_cards(
    config: Configuration,
    result: WalkResult,
    errors: Mapping,
    typed: Mapping,
    make: Callable[..., CardView] = card_view,
) -> tuple[tuple[CardView, ...], tuple[CardView, ...], dict[str, Layout]]:
    """The walk's cards (main and final stage 2; the stage-2 reads of each stage-1 table
    address inside the card they served), made by ``make`` (``card_view`` or the shared
    ``shared_card_view``), and the descriptor layouts they show."""
    main: list[CardView] = []
    final: list[CardView] = []
    layouts: dict[str, Layout] = {}
    nested_cards: list[CardView] = []
    boxed: set[int] = set()  # descriptor addresses whose value box is already on a card
    reads = result.reads()
    stopped = next(
        (r.read for r in reversed(reads) if r.read.desc_address is not None and result.fault),
        None,
    )
    for ref in reads:
        read = ref.read
        if read.raw is not None:
            layout = display_layout(read, ref.params)
            layouts.setdefault(layout.name, layout)
        editable = read.desc_address is not None and read.desc_address not in boxed
        if read.desc_address is not None:
            boxed.add(read.desc_address)
        faulted = read is stopped
        if ref.role == NESTED:
            nested_cards.append(make(ref, config, errors, typed, faulted, None, editable))
            continue
        nested = None
        if ref.role == MAIN and read.s2 is not None:
            nested = nested_walk(read.s2, tuple(nested_cards))
        nested_cards = []
        card = make(ref, config, errors, typed, faulted, nested, editable)
        (main if ref.role == MAIN else final).append(card)
    return tuple(main), tuple(final), layouts


def walk_view(
    config: Configuration, result: WalkResult, errors: Mapping, typed: Mapping
) -> WalkView:
    main, final, layouts = walk_cards(config, result, errors, typed, shared_card_view)
    attrs = result.attrs
    return WalkView(
        ok=result.fault is None,
        fault=fault_view(result.fault, result, config) if result.fault else None,
        address=address_view(result),
        memory=memory_view(config),
        cards=main,
        final_cards=final,
        ipa=hexv(result.ipa) if result.ipa is not None else "",
        final_fault=fault_view(result.s2_final.fault)
        if result.s2_final is not None and result.s2_final.fault
        else None,
        output=output_view(result),
        attrs=() if attrs is None else attrs_rows(attrs),
        attrs_stages=(
            (("Stage 1", attrs_rows(attrs.stage1)), ("Stage 2", attrs_rows(attrs.stage2)))
            if isinstance(attrs, CombinedAttributes)
            else ()
        ),
        perms=perm_tables(result.perms),
        par=f"{result.par:#018x}",
        warnings=tuple((w.code, w.message) for w in result.warnings),
        choices_used=tuple(
            (CHOICE_TITLES.get(k, k), v.replace("_", " "), CHOICE_HELP.get(k, {}).get(v, ""))
            for k, v in result.choices_used.items()
        ),
        reads=result.descriptor_reads,
        help=tuple(layout_help(layout) for layout in layouts.values()),
    )
