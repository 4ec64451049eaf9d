"""A translation-table writer for tests and benchmarks: lays out the tables of one stage in a
memory dictionary ``{pa: descriptor}`` and records every mapping it writes.

Descriptor bits are written out here from the fact sheet (/work/shared/spec/lpa2-facts.md
sections 5 and 6), not taken from ``model.arch.fields``, so that a listing or a walk that
decodes them with the model's field tables is checked against an independent encoding. The
index bits of each level come from ``model.arch.geometry`` (as the conformance generator's do).
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field

from model.arch import geometry as geo

AF = 1 << 10
NG = 1 << 11
CONTIGUOUS = 1 << 52
PXN = 1 << 53
UXN = 1 << 54  # XN at stage 2


def _mask(hi: int, lo: int) -> int:
    return ((1 << (hi - lo + 1)) - 1) << lo


def encode_oa(addr: int, variant: str, low_bits: int) -> int:
    """An address in descriptor format: DS0 desc[47:n]; DS1 desc[49:n] and OA[51:50] in
    desc[9:8]; LPA (64KB, 52-bit) desc[47:n] and OA[51:48] in desc[15:12]."""
    if variant == "DS1":
        return (addr & _mask(49, low_bits)) | (((addr >> 50) & 3) << 8)
    if variant == "LPA":
        return (addr & _mask(47, low_bits)) | (((addr >> 48) & 0xF) << 12)
    return addr & _mask(47, low_bits)


def ttbr_value(base: int, fmt52: bool) -> int:
    """A TTBR holding ``base``: the 52-bit format keeps base[51:48] in TTBR[5:2]."""
    if fmt52:
        return (base & _mask(47, 6)) | (((base >> 48) & 0xF) << 2)
    return base & _mask(47, 1)


class Allocator:
    """Hands out aligned table memory inside ``[lo, hi)``: in order, or scattered."""

    def __init__(self, lo: int, hi: int, rng: random.Random | None = None) -> None:
        self.lo, self.hi, self.rng = lo, hi, rng
        self.next = lo
        self.taken: list[tuple[int, int]] = []  # sorted (start, end)

    def _free(self, a: int, size: int) -> bool:
        i = bisect.bisect_right(self.taken, (a, 1 << 64))
        if i and self.taken[i - 1][1] > a:
            return False
        return i == len(self.taken) or self.taken[i][0] >= a + size

    def take(self, size: int, align: int) -> int:
        align = max(align, 8)
        if self.rng is not None:
            slots = (self.hi - self.lo - size) // align
            for _ in range(64):
                a = self.lo + self.rng.randrange(slots) * align
                if self._free(a, size):
                    bisect.insort(self.taken, (a, a + size))
                    return a
        a = (self.next + align - 1) & ~(align - 1)
        while not self._free(a, size):
            a += align
        if a + size > self.hi:
            raise MemoryError("table region full")
        self.next = a + size
        bisect.insort(self.taken, (a, a + size))
        return a


@dataclass(frozen=True)
class Mapping:
    """One leaf the writer wrote: input ``[ia, ia + size)`` to ``oa``."""

    ia: int
    size: int
    oa: int
    level: int
    kind: str  # "block" | "page"
    bits: int  # the descriptor's attribute bits (everything but type and address)


@dataclass
class Tables:
    """The tables of one stage, written into ``words`` (see the module docstring)."""

    stage: int
    granule: int
    ds: bool
    iasize: int
    alloc: Allocator
    start: int | None = None  # stage 2: from SL0/SL2; stage 1: from the input size
    lpa: bool = False  # 64KB with a 52-bit output size: OA[51:48] in desc[15:12]
    root: int | None = None  # where the start table is (default: allocated)
    words: dict[int, int] = field(default_factory=dict)
    mappings: list[Mapping] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.start is None:
            self.start = geo.s1_start_level(self.iasize, self.granule)
        self.gb = geo.granule_bits(self.granule)
        if self.granule == 64:
            self.variant = "LPA" if self.lpa else "DS0"
        else:
            self.variant = "DS1" if self.ds else "DS0"
        start_bytes = 1 << geo.start_table_bits(self.iasize, self.granule, self.start)
        if self.root is None:
            self.root = self.alloc.take(start_bytes, max(start_bytes, 64))
        self.next_table: dict[int, int] = {}  # table descriptor address -> next table

    @property
    def fmt52(self) -> bool:
        return self.variant != "DS0"

    def ttbr(self) -> int:
        return ttbr_value(self.root, self.fmt52)

    def desc_address(self, base: int, level: int, ia: int) -> int:
        hi, lo = geo.index_bits(level, self.iasize, self.granule, self.start)
        return base | (((ia >> lo) & ((1 << (hi - lo + 1)) - 1)) << 3)

    def table_for(self, ia: int, level: int) -> int:
        """The table of ``level`` on the path of ``ia``, made where missing."""
        base = self.root
        for lv in range(self.start, level):
            d = self.desc_address(base, lv, ia)
            nxt = self.next_table.get(d)
            if nxt is None:
                if d in self.words:
                    raise ValueError(f"{d:#x} already holds a leaf")
                nxt = self.alloc.take(1 << self.gb, 1 << self.gb)
                self.words[d] = encode_oa(nxt, self.variant, self.gb) | 0b11
                self.next_table[d] = nxt
            base = nxt
        return base

    def leaf_bits(self, **kw) -> int:
        """Attribute bits of a leaf: stage 1 ``attr`` (AttrIndx), ``ap``, ``pxn``, ``uxn``,
        ``ng``; stage 2 ``memattr``, ``s2ap``, ``xn``; both ``af`` (default 1), ``sh``
        (DS=0 only: with DS=1 bits [9:8] are OA[51:50]), ``contiguous``."""
        bits = AF if kw.get("af", 1) else 0
        if not self.ds:
            bits |= kw.get("sh", 0b11) << 8
        if self.stage == 1:
            bits |= kw.get("attr", 0) << 2 | kw.get("ap", 0b00) << 6
            bits |= (PXN if kw.get("pxn") else 0) | (UXN if kw.get("uxn") else 0)
            bits |= NG if kw.get("ng") else 0
        else:
            bits |= kw.get("memattr", 0b1111) << 2 | kw.get("s2ap", 0b11) << 6
            bits |= UXN if kw.get("xn") else 0
        return bits | (CONTIGUOUS if kw.get("contiguous") else 0)

    def map(self, ia: int, oa: int, level: int, bits: int | None = None, **kw) -> int:
        """Write a block (level < 3) or page (level 3) mapping ``ia`` to ``oa``; returns the
        descriptor's address."""
        size_bits = geo.block_size_bits(level, self.granule)
        ia &= ~((1 << size_bits) - 1)
        bits = self.leaf_bits(**kw) if bits is None else bits
        d = self.desc_address(self.table_for(ia, level), level, ia)
        if d in self.words:
            raise ValueError(f"{d:#x} is already written")
        kind = "page" if level == 3 else "block"
        self.words[d] = encode_oa(oa, self.variant, size_bits) | bits | (3 if level == 3 else 1)
        self.mappings.append(Mapping(ia, 1 << size_bits, oa, level, kind, bits))
        return d

    def put(self, ia: int, level: int, value: int) -> int:
        """Write any ``value`` (an invalid or bad descriptor) where ``ia``'s ``level`` entry
        is; returns its address."""
        d = self.desc_address(self.table_for(ia, level), level, ia)
        self.words[d] = value
        return d


def merged(mappings: list[Mapping]) -> list[tuple[int, int, int, int, str]]:
    """The ranges a listing shows for ``mappings``: ``(start, end, oa, level, kind)``, adjacent
    leaves merged where input and output both continue with the same level and bits. Leaves
    with AF=0 are left out: every access to them faults (no hardware AF update here)."""
    out: list[list] = []
    for m in sorted(mappings, key=lambda m: m.ia):
        if not m.bits & AF:
            continue
        last = out[-1] if out else None
        if (
            last is not None
            and last[1] == m.ia
            and last[2] + (last[1] - last[0]) == m.oa
            and (last[3], last[4], last[5]) == (m.level, m.kind, m.bits)
        ):
            last[1] += m.size
        else:
            out.append([m.ia, m.ia + m.size, m.oa, m.level, m.kind, m.bits])
    return [tuple(r[:5]) for r in out]
