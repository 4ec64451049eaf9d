"""Physical memory seen by the walker: 64-bit words at 8-byte aligned physical addresses.

The walker asks a memory for each descriptor with ``read_descriptor(pa, stage, level,
params)`` and gets the value and whether the memory invented it (``synthetic``) rather than
holding it because the user set it. ``params`` describes the stage walk doing the read
(``WalkGeometry``), so a memory that invents descriptors can make them fit the walk. Nothing
here knows the walker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class WalkGeometry(Protocol):
    """What a memory may know about the stage walk that reads a descriptor
    (``model.arch.params.WalkParams`` provides it)."""

    @property
    def input_address(self) -> int: ...

    @property
    def oa_bits(self) -> int: ...

    @property
    def granule_bits(self) -> int: ...

    @property
    def desc_variant(self) -> str: ...


class Memory:
    """Base class: 64-bit little-endian words at 8-byte aligned physical addresses."""

    def read64(self, pa: int) -> int:
        raise NotImplementedError

    def read_descriptor(
        self, pa: int, stage: int, level: int, params: WalkGeometry
    ) -> tuple[int, bool]:
        """Value of a descriptor and whether it was synthesized (False here)."""
        return self.read64(pa), False

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

    def plain_words(self) -> Mapping[int, int] | None:
        return self.mapping


class _Wrapped(Memory):
    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def read64(self, pa: int) -> int:
        return self.obj.read64(pa)
