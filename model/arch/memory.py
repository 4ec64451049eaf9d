"""Physical memory seen by the walker: 64-bit words at 8-byte aligned physical addresses.

Memory is a real thing: what a word holds never depends on the walk that reads it. The walker
asks for each descriptor with ``read_descriptor(pa)`` and gets the value and where it came
from (``source``): ``"set"`` (someone stored it there: the state, a test, a memory image),
``"background"`` (tables a memory provides for whatever nobody set, as an explorer state's
background tables do) or ``"empty"`` (nothing is stored there: it reads as 0, an invalid
descriptor). Nothing here knows the walker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class Memory:
    """Base class: 64-bit little-endian words at 8-byte aligned physical addresses."""

    def read64(self, pa: int) -> int:
        raise NotImplementedError

    def source(self, pa: int) -> str:
        """Where the word at ``pa`` comes from: "set", "background" or "empty"."""
        return "set"

    def read_descriptor(self, pa: int) -> tuple[int, str]:
        """The word at ``pa`` and where it comes from (``source``)."""
        return self.read64(pa), self.source(pa)

    def plain_words(self) -> Mapping[int, int] | None:
        """The mapping ``{pa: value}`` behind this memory when reading a descriptor is just a
        look-up in it (absent words read as 0), so the walker may look up directly; None
        when a read does more."""
        return None


class DictMemory(Memory):
    """Memory backed by a mapping ``{pa: value}``; absent words read as 0."""

    def __init__(self, words: Mapping[int, int] | None = None) -> None:
        self.words: dict[int, int] = dict(words or {})

    def read64(self, pa: int) -> int:
        return self.words.get(pa & ~7, 0)

    def write64(self, pa: int, value: int) -> None:
        self.words[pa & ~7] = value & ((1 << 64) - 1)

    def __contains__(self, pa: int) -> bool:
        return (pa & ~7) in self.words

    def source(self, pa: int) -> str:
        return "set" if (pa & ~7) in self.words else "empty"

    def plain_words(self) -> Mapping[int, int] | None:
        return self.words if type(self).read_descriptor is Memory.read_descriptor else None


def as_memory(memory: Any) -> Memory:
    """A ``Memory`` from a ``Memory``, a mapping ``{pa: value}``, None (all zero) or any
    object with ``read64(pa)``."""
    if type(memory) is dict:
        return _MappingView(memory)
    if isinstance(memory, Memory):
        return memory
    if memory is None:
        return DictMemory()
    if isinstance(memory, Mapping):
        return _MappingView(memory)
    if hasattr(memory, "read64"):
        return _Wrapped(memory)
    raise TypeError("memory must be a mapping {pa: value} or have read64(pa)")


class _MappingView(Memory):
    def __init__(self, mapping: Mapping[int, int]) -> None:
        self.mapping = mapping

    def read64(self, pa: int) -> int:
        return self.mapping.get(pa & ~7, 0)

    def __contains__(self, pa: int) -> bool:
        return (pa & ~7) in self.mapping

    def source(self, pa: int) -> str:
        return "set" if (pa & ~7) in self.mapping else "empty"

    def plain_words(self) -> Mapping[int, int] | None:
        return self.mapping


class _Wrapped(Memory):
    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def read64(self, pa: int) -> int:
        return self.obj.read64(pa)


class ExternalAbort(Exception):  # noqa: N818 - named after the architecture's event
    """Raised by a memory for a read where it holds nothing (a physical address outside every
    region of a memory image): the access takes a synchronous External abort. A table walk
    reports it as the fault of the level whose descriptor it was reading."""

    def __init__(self, address: int) -> None:
        super().__init__(f"no memory at physical address {address:#x}")
        self.address = address
