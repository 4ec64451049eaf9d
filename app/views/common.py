"""Pieces every view model uses: number and bit-range text, HTML ids, and the description of
a bit grid and of a layout's field help (data; ``app.render`` turns them into markup)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, NamedTuple, TypeVar

from app.cache import lru, memo
from model.arch.fields import Layout

T = TypeVar("T")


def remembered_hash(cls: type[T]) -> type[T]:
    """A frozen view-model dataclass whose hash is computed once: the renderers remember
    markup by view (``app.cache``), and a card or register holds dozens of nested values, so
    hashing it again for every lookup would cost more than the lookup saves. Equality
    compares by identity first, then by the remembered hashes, then field by field. The class
    declares ``_hash: int | None = field(default=None, init=False, repr=False,
    compare=False)``."""
    values = attrgetter(*(f.name for f in dataclasses.fields(cls) if f.compare))

    def __hash__(self: Any) -> int:
        h = self._hash
        if h is None:
            h = hash(values(self))
            object.__setattr__(self, "_hash", h)
        return h

    def __eq__(self: Any, other: object) -> bool:
        if self is other:
            return True
        if other.__class__ is not self.__class__:
            return NotImplemented
        return hash(self) == hash(other) and values(self) == values(other)

    cls.__hash__ = __hash__  # type: ignore[method-assign]
    cls.__eq__ = __eq__  # type: ignore[method-assign]
    return cls


def hexv(value: int | None, missing: str = "—") -> str:
    """A number as the explorer prints it (``0x`` and lowercase hex); ``missing`` for none."""
    return missing if value is None else f"{value:#x}"


def stage_input(stage: int) -> str:
    """What a stage translates: the VA at stage 1, the IPA at stage 2 (its reads' indexes
    are bits of it)."""
    return "VA" if stage == 1 else "IPA"


def bit_range(hi: int, lo: int) -> str:
    return f"[{hi}]" if hi == lo else f"[{hi}:{lo}]"


@memo("slugs")
def slug_id(text: str) -> str:
    """``text`` as a piece of an HTML id."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text)


@remembered_hash
@dataclass(frozen=True, slots=True)
class BitGrid:
    """A 64-bit grid of bit buttons: the ``layout`` (a ``model.arch.fields.LAYOUTS`` name)
    groups and labels the bits, ``value`` sets each bit's pressed state, each button submits
    ``flip=<control>:<bit>``; ``id_prefix`` names the field help its groups point to."""

    layout: str
    value: int
    control: str
    id_prefix: str
    label: str
    cls: str = ""
    compact: bool = False
    _hash: int | None = field(default=None, init=False, repr=False, compare=False)


class HelpEntry(NamedTuple):
    """One field's help: its name, bits, sentence, LPA2 note and encodings."""

    id: str
    name: str
    range: str
    summary: str
    help: str
    lpa2: str
    encodings: tuple[tuple[str, str], ...]


@remembered_hash
@dataclass(frozen=True, slots=True)
class FieldHelp:
    """The help of every field of a layout (ids ``<prefix>-h-<field>``), shown as one
    disclosure titled ``title`` (with id ``id`` when it is a link target)."""

    entries: tuple[HelpEntry, ...]
    title: str
    id: str = ""
    _hash: int | None = field(default=None, init=False, repr=False, compare=False)


_field_help = lru("field_help")


def field_help(layout: Layout, id_prefix: str, title: str, id_: str = "") -> FieldHelp:
    key = (layout.name, id_prefix, title, id_)
    return _field_help.get_or_make(key, lambda: _make_field_help(layout, id_prefix, title, id_))


def _make_field_help(layout: Layout, id_prefix: str, title: str, id_: str) -> FieldHelp:
    entries = tuple(
        HelpEntry(
            id=f"{id_prefix}-h-{slug_id(spec.name)}",
            name=spec.name,
            range=bit_range(spec.hi, spec.lo),
            summary=spec.summary,
            help=spec.help,
            lpa2=spec.lpa2,
            encodings=tuple(
                (f"{k:#x}" if spec.width > 1 else str(k), v) for k, v in spec.values.items()
            ),
        )
        for spec in layout.fields
    )
    return FieldHelp(entries, title, id_)


def help_prefix(layout: Layout) -> str:
    """The id prefix of a descriptor layout's field help (shown once per page)."""
    return f"lh-{slug_id(layout.name)}"


def layout_help(layout: Layout) -> FieldHelp:
    """One descriptor format's field reference (the cards link to it)."""
    return field_help(layout, help_prefix(layout), layout.title, f"help-{slug_id(layout.name)}")
