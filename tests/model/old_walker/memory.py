"""Physical memory seen by the walker: plain mappings and ``Memory`` objects (64-bit words at
8-byte aligned physical addresses)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .walker import WalkParams


class Memory:
    """Base class: 64-bit little-endian words at 8-byte aligned physical addresses."""

    def read64(self, pa: int) -> int:
        raise NotImplementedError

    def read_descriptor(
        self, pa: int, stage: int, level: int, params: WalkParams
    ) -> tuple[int, bool]:
        """Value of a descriptor and whether it was synthesized (False here)."""
        return self.read64(pa), False


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


def as_memory(memory: Any) -> Memory:
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


class _Wrapped(Memory):
    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def read64(self, pa: int) -> int:
        return self.obj.read64(pa)
