"""The walk at a glance: one line per level read (where it points, what it gives) and the
output address by source, small enough for the first screen. Derived from the walk's view,
so it says nothing the cards and the output section do not."""

from __future__ import annotations

from typing import NamedTuple

from app.views.walk import CardView, WalkView


class GlanceLevel(NamedTuple):
    """A read as one line: its card's id, level label, kind, index and what it gives."""

    card: str  # the card's element id
    label: str  # "L-1", "S2 L0"
    kind: str
    index: str  # "VA[55:52] = 0xf"
    gives: str  # "→ table 0x…", "→ OA 0x…", "faults", "reads 0"
    changed: bool  # set by the link
    nested: tuple[GlanceLevel, ...]  # the stage-2 reads that translated its table address


class GlanceSegment(NamedTuple):
    range: str  # "[51:50]"
    value: str
    origin: str
    source: str  # "desc" | "ia" | "ttbr"
    moved: bool


class GlanceView(NamedTuple):
    ok: bool
    levels: tuple[GlanceLevel, ...]
    final_ipa: str  # a two-stage walk's output IPA, when its final stage-2 walk is shown
    final: tuple[GlanceLevel, ...]
    output: str  # the output address, or "" when the walk faulted
    segments: tuple[GlanceSegment, ...]
    fault: str  # the fault in a few words, or ""


def _level(c: CardView) -> GlanceLevel:
    label = f"{'S2 ' if c.stage == 2 else ''}L{c.level}"
    if c.next_address:
        gives = f"→ table {c.next_address}"
    elif c.output_address:
        gives = f"→ OA {c.output_address}"
    else:
        gives = "stops the walk"
    nested = tuple(_level(n) for n in c.nested.cards) if c.nested else ()
    return GlanceLevel(
        c.id,
        label,
        c.kind,
        f"{c.input_name}{c.index_range} = {c.index_hex}",
        gives,
        c.changed,
        nested,
    )


def glance_view(w: WalkView) -> GlanceView:
    out = w.output
    fault = ""
    f = w.fault or w.final_fault
    if f is not None:
        fault = f"{f.kind.capitalize()} fault, level {f.level}, stage {f.stage}"
    return GlanceView(
        ok=w.ok,
        levels=tuple(_level(c) for c in w.cards),
        final_ipa=w.ipa if w.final_cards else "",
        final=tuple(_level(c) for c in w.final_cards),
        output=f"{out.address:#x}" if out else "",
        segments=tuple(
            GlanceSegment(s.range, f"{s.value:#x}", s.origin, s.source, s.moved)
            for s in out.segments
        )
        if out
        else (),
        fault=fault,
    )
