"""Every mapping of a regime's tables, listed: ``lpa2-explorer ptdump`` and the explorer's
listing view, in the spirit of Linux's ``/sys/kernel/debug/kernel_page_tables``.

The listing visits each table of each tree once (the start tables of TTBR0/TTBR1 or VTTBR,
then every table a valid table descriptor leads to) and reads it as a block of words, so its
cost follows the tables, not the address space. Two rules keep it the walker's:

* what an entry *is* (invalid, table, block, page, reserved or a block where the granule has
  none), where its address lives and where its index comes from are read with the walk's
  own geometry and descriptor field tables (``model.arch.geometry``, ``descriptors``,
  ``fields``), compiled once per level into masks;
* what a mapping *means* (memory type, shareability, permissions with the table bits above it,
  every fault) is what the walker answers for one address of it: entries that share their
  non-address bits and the table bits above them share the walker's answer, so the listing
  walks one representative address per distinct kind of entry and reuses the answer.

Adjacent entries merge into one range when their input and output addresses both continue,
at the same level, with the same bits apart from the address and the software-defined ones.
Faults (reserved or misplaced blocks, output or next-table addresses beyond the output size,
tables outside the memory image) are listed with the input range they cover, not raised.

Regimes: ``el10`` (TTBR0_EL1 and TTBR1_EL1; stage-1 table addresses go through stage 2 when
HCR_EL2.VM=1, as the walker's do), ``el2``, ``el20``, ``stage2`` (IPA -> PA) and ``el10_s12``
(VA -> PA: each stage-1 range split where the stage-2 mappings of its IPAs change).
"""

from __future__ import annotations

import bisect
import gc
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from model.arch import geometry as geo
from model.arch.cpu import CPU, CPU_PRESETS, Choices
from model.arch.faults import Fault, FaultKind
from model.arch.fields import MASK64
from model.arch.memory import ExternalAbort, Memory, as_memory
from model.arch.plans import LevelPlan, StagePlan
from model.arch.tablewalk import descriptor_type
from model.arch.walker import Regime, WalkParams, WalkResult, stage2_enabled, walk

_PROBE_ACCESS = {"el2": "el2r", "el20": "el2r"}
# Descriptor fields that never change what an access does: software-defined and ignored bits.
_UNUSED = ("SW", "IGN")
_LEAF_KINDS = frozenset(("block", "page"))


@dataclass(slots=True)
class MappingRange:
    """Input ``[start, end)`` mapped to output ``[oa, oa + end - start)`` by ``entries`` leaves
    of one kind at ``level``; what the walker says of them in ``walk`` (attributes,
    permissions; ``fault`` set only for a permission fault of the listing's access)."""

    start: int
    end: int
    oa: int
    level: int
    kind: str  # "block" | "page"
    entries: int
    variant: str  # table format of the stage: DS0, DS1 (LPA2) or LPA
    stage: int
    bits: int  # the descriptor's non-address bits
    contiguous: bool = False
    contiguous_runs: int = 0
    contiguous_problem: str | None = None
    walk: WalkResult | None = None
    stage2: MappingRange | None = None  # el10_s12: the stage-2 range of this piece
    ipa: int | None = None  # el10_s12: the IPA of ``start``

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass(slots=True)
class FaultRange:
    """Input ``[start, end)`` whose walks fault the same way (``fault``), found at ``level``
    of ``stage``; ``address``: the first descriptor concerned (where the listing knows it);
    ``oa``: the output address of a leaf that faults (Access flag, for instance)."""

    start: int
    end: int
    fault: Fault
    level: int
    stage: int
    address: int | None
    entries: int = 1
    oa: int | None = None

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass
class RootListing:
    """One tree: the TTBR (or VTTBR) it starts from, its stage parameters, what it maps."""

    name: str
    params: WalkParams | None
    input_base: int
    input_end: int
    mappings: list[MappingRange] = field(default_factory=list)
    faults: list[FaultRange] = field(default_factory=list)
    setup_fault: Fault | None = None
    tables: dict[int, int] = field(default_factory=dict)  # level -> tables read
    descriptors: int = 0


@dataclass
class Listing:
    regime: str
    roots: list[RootListing]
    seconds: float = 0.0
    stage2: RootListing | None = None  # el10 with VM=1 and el10_s12: the stage-2 tree

    @property
    def descriptors(self) -> int:
        return sum(r.descriptors for r in self.roots) + (
            self.stage2.descriptors if self.stage2 else 0
        )

    @property
    def mappings(self) -> list[MappingRange]:
        return [m for r in self.roots for m in r.mappings]

    @property
    def faults(self) -> list[FaultRange]:
        return [f for r in self.roots for f in r.faults]


# -- reading whole tables ----------------------------------------------------------------------


class _Tables:
    """Reads a table as a block of words from a memory: the words a link sets over an image
    (``StateMemory``), an image, or any ``Memory``. Entries outside an image read as None."""

    def __init__(self, memory: Any) -> None:
        self.memory = as_memory(memory)
        background = getattr(self.memory, "background", None)
        words = getattr(self.memory, "words", None)
        if background is not None and isinstance(words, Mapping):
            self.base: Any = background
            self.set = dict(words)
        elif hasattr(self.memory, "words") and callable(self.memory.words):
            self.base, self.set = self.memory, {}
        else:
            self.base, self.set = None, {}
        self.set_addresses = sorted(self.set)

    def read(self, pa: int, count: int) -> Sequence[int | None]:
        base = self.base
        if base is not None and callable(getattr(base, "words", None)):
            try:
                out: Sequence[int | None] = base.words(pa, count)
            except ExternalAbort:
                out = [self._one(base, pa + 8 * i) for i in range(count)]
        else:
            out = [self._one(self.memory, pa + 8 * i) for i in range(count)]
            return out
        lo = bisect.bisect_left(self.set_addresses, pa)
        hi = bisect.bisect_left(self.set_addresses, pa + 8 * count)
        if lo != hi:
            out = list(out)
            for address in self.set_addresses[lo:hi]:
                out[(address - pa) >> 3] = self.set[address]
        return out

    @staticmethod
    def _one(memory: Memory, pa: int) -> int | None:
        try:
            return memory.read64(pa) & MASK64
        except ExternalAbort:
            return None


# -- per-level facts from the walker's plans ---------------------------------------------------


@dataclass(frozen=True)
class _Level:
    """One level of a stage's plan (``model.arch.plans.LevelPlan``) with what the listing
    adds: how many entries a table has, the bytes one entry maps, and the bits that tell
    leaves apart (all but the address and the software-defined or ignored ones)."""

    plan: LevelPlan
    kinds: tuple[str, str, str, str]  # descriptor_type of each value of bits [1:0]
    entries: int
    size: int
    key_mask: int
    contiguous_bit: int  # 0 where the level takes no contiguous hint
    contiguous_entries: int


def _levels(plan: StagePlan) -> list[_Level]:
    p = plan.template
    out = []
    for lp in plan.levels:
        key_mask = contiguous = 0
        if lp.leaf is not None:
            a = lp.leaf.address
            unused = sum(f.mask for f in lp.leaf.layout.fields if f.name.startswith(_UNUSED))
            key_mask = MASK64 & ~(a.mask | (a.high_mask << a.high_shift) | unused)
            if not lp.leaf.contiguous_ignored:
                contiguous = lp.leaf.contiguous[1] << lp.leaf.contiguous[0]
        out.append(
            _Level(
                lp,
                # The type of a descriptor is decided by its bits [1:0] and the level alone
                # (AArch64.DecodeDescriptorType): the walker's answer for each of the four.
                (
                    descriptor_type(0, lp),
                    descriptor_type(1, lp),
                    descriptor_type(2, lp),
                    descriptor_type(3, lp),
                ),
                p.start_table_entries if lp.level == p.start_level else 1 << p.stride,
                1 << geo.block_size_bits(lp.level, p.granule_kb),
                key_mask,
                contiguous,
                geo.contiguous_entries(lp.level, p.granule_kb),
            )
        )
    return out


# -- listing one tree --------------------------------------------------------------------------


class _Lister:
    """Lists one regime: the roots of its stage (see the module docstring)."""

    def __init__(
        self,
        regime: str,
        registers: Mapping[str, int],
        memory: Any,
        cpu: CPU,
        choices: Choices,
    ) -> None:
        self.regime = regime
        self.registers = dict(registers)
        self.memory = memory
        self.tables = _Tables(memory)
        self.cpu = cpu
        self.choices = choices
        self._s2_cache: dict[int, int | None] = {}

    def walk(self, regime: str, address: int) -> WalkResult:
        """The walker's answer for ``address`` (the listing's access: a read at EL1, at EL2 in
        the EL2 regimes)."""
        access = _PROBE_ACCESS.get(regime, "el1r")
        return walk(
            regime, self.registers, self.memory, address, access, cpu=self.cpu, choices=self.choices
        )

    # -- the roots ----------------------------------------------------------------------------
    def roots(self, regime: str) -> list[RootListing]:
        if regime == Regime.STAGE2.value:
            probes = [("VTTBR_EL2", 0)]
        elif regime in (Regime.EL10.value, Regime.EL10_S12.value, Regime.EL20.value):
            el = "EL2" if regime == Regime.EL20.value else "EL1"
            probes = [(f"TTBR0_{el}", 0), (f"TTBR1_{el}", MASK64 & ~0xFFF)]
        else:
            probes = [("TTBR0_EL2", 0)]
        walk_regime = Regime.EL10.value if regime == Regime.EL10_S12.value else regime
        out = []
        for name, address in probes:
            result = self.walk(walk_regime, address)
            p = result.params.get("s2" if regime == Regime.STAGE2.value else "s1")
            if p is None:
                continue
            lo = (MASK64 << p.iasize) & MASK64 if p.range_select else 0
            root = RootListing(name, p, lo, lo + (1 << p.iasize))
            setup = result.fault
            if setup is not None and not result.levels:
                root.setup_fault = setup  # nothing of this tree is read
            else:
                assert result.main is not None
                _TreeScan(self, root, walk_regime, result.main.plan).run()
            out.append(root)
        return out

    def stage2_pa(self, ipa: int, granule_bits: int) -> int | None:
        """Where the stage-2 walk of a stage-1 table address leads (None: it faults)."""
        page = ipa >> granule_bits
        if page not in self._s2_cache:
            result = self.walk(Regime.STAGE2.value, ipa)
            pa = result.output_address if result.fault is None else None
            self._s2_cache[page] = None if pa is None else pa - (ipa & ((1 << granule_bits) - 1))
        base = self._s2_cache[page]
        return None if base is None else base | (ipa & ((1 << granule_bits) - 1))


class _TreeScan:
    """The tables of one root, visited depth first in input-address order."""

    def __init__(self, lister: _Lister, root: RootListing, regime: str, plan: StagePlan) -> None:
        p = root.params
        assert p is not None
        self.lister = lister
        self.root = root
        self.regime = regime
        self.p = p
        self.plan = plan
        self.levels = _levels(plan)
        h = plan.hierarchical
        # the hierarchical bits a table descriptor hands down (none with HPD=1, or at stage 2)
        self.table_mask = h.mask if h is not None and h.applied else 0
        self.via_s2 = p.stage == 1 and regime == Regime.EL10.value and _stage2_on(lister.registers)
        self.s2_granule_bits = 12
        if self.via_s2:
            s2 = self.lister.walk(Regime.STAGE2.value, 0).params.get("s2")
            self.s2_granule_bits = s2.granule_bits if s2 is not None else 12
        self.kinds: dict[int, tuple] = {}  # leaf key -> kind_of(...)
        # the pending range: [start, end, oa, oa_end, key, level index, entries, descriptor]
        self.pending: list | None = None
        self.pending_fault: FaultRange | None = None
        self.pending_fault_key: tuple | None = None

    # -- reading --------------------------------------------------------------------------------
    def read_table(self, address: int, count: int) -> Sequence[int | None]:
        """The entries of a table; None where they cannot be read (outside the image, or a
        stage-2 walk of the table's address faults)."""
        if not self.via_s2:
            return self.lister.tables.read(address, count)
        chunk = max(1, (1 << self.s2_granule_bits) >> 3)
        out: list[int | None] = []
        for first in range(0, count, chunk):
            n = min(chunk, count - first)
            pa = self.lister.stage2_pa(address + 8 * first, self.s2_granule_bits)
            out += [None] * n if pa is None else self.lister.tables.read(pa, n)
        return out

    def run(self) -> None:
        p = self.p
        if self.plan.start_problem is not None:
            self.fault(self.root.input_base, self.root.input_end, p.start_level, ("start",))
        else:
            self.scan(0, self.root.input_base, p.table_base, 0)
        self.flush()
        self.flush_fault()

    def scan(self, index: int, ia_base: int, address: int, inherited: int) -> None:
        lv = self.levels[index]
        lp = lv.plan
        words = self.read_table(address, lv.entries)
        self.root.descriptors += lv.entries
        self.root.tables[lp.level] = self.root.tables.get(lp.level, 0) + 1
        lo, size, level, key_mask = lp.lo, lv.size, lp.level, lv.key_mask
        table = lp.table
        leaf = lp.leaf.address if lp.leaf is not None else None
        if leaf is not None:
            lmask, lshift, lhigh, ldest = leaf.mask, leaf.high_shift, leaf.high_mask, leaf.high_dest
        # the bits of a leaf key above the descriptor: the table bits above it and the level
        key_extra = (inherited << 64) | ((index + 1) << 128)
        oa_bits = self.p.oa_bits
        ignore_high = self.plan.high_oa_ignored
        table_mask = self.table_mask
        kinds = lv.kinds
        for i, raw in enumerate(words):
            if raw is None:
                self.fault(ia_base | (i << lo), (ia_base | (i << lo)) + size, level, ("read",))
                continue
            if not raw & 1:
                continue
            ia = ia_base | (i << lo)
            kind = kinds[raw & 3]
            if kind == "table":
                assert table is not None
                nxt = table.address(raw)
                if ignore_high and nxt >> 50:
                    nxt &= (1 << 50) - 1
                if nxt >> oa_bits:
                    self.fault(ia, ia + size, level, ("next", raw))
                    continue
                self.scan(index + 1, ia, nxt, inherited | (raw & table_mask))
                continue
            if leaf is None or kind not in _LEAF_KINDS:
                self.fault(ia, ia + size, level, ("kind", kind))
                continue
            oa = (raw & lmask) | (((raw >> lshift) & lhigh) << ldest)
            if ignore_high and oa >> 50:
                oa &= (1 << 50) - 1
            key = (raw & key_mask) | key_extra
            pending = self.pending
            if (
                pending is not None
                and key == pending[4]
                and ia == pending[1]
                and oa == pending[3]
                and not (oa + size - 1) >> oa_bits
            ):
                pending[1] = ia + size
                pending[3] = oa + size
                pending[6] += 1
                continue
            self.flush()
            if (oa + size - 1) >> oa_bits:
                self.fault(ia, ia + size, level, ("oa", key))
                continue
            self.pending = [ia, ia + size, oa, oa + size, key, index, 1, address + 8 * i]

    # -- ranges ---------------------------------------------------------------------------------
    def flush(self) -> None:
        pending, self.pending = self.pending, None
        if pending is None:
            return
        start, end, oa, _oa_end, key, index, entries, desc = pending
        kind = self.kinds.get(key)
        if kind is None:
            kind = self.kinds[key] = self.kind_of(key, index, start)
        info, level, name, contiguous = kind
        if name is None:  # the walker faults: an Access flag fault, say
            self.flush_fault()
            self.root.faults.append(
                FaultRange(start, end, info.fault, level, self.p.stage, desc, entries, oa)
            )
            return
        rng = MappingRange(
            start, end, oa, level, name, entries, self.p.desc_variant, self.p.stage, key & MASK64,
            walk=info,
        )  # fmt: skip
        if contiguous:
            _contiguous(rng, self.levels[index])
        self.root.mappings.append(rng)

    def kind_of(self, key: int, index: int, start: int) -> tuple:
        """What the walker says of the leaves with this key, from one of them: (walk, level,
        "block"/"page" or None where every access faults, contiguous hint set)."""
        lv = self.levels[index]
        level = lv.plan.level
        info = self.lister.walk(self.regime, start)
        if info.fault is not None and info.fault.kind != FaultKind.PERMISSION:
            return info, level, None, False
        attrs = info.main.attrs if info.main is not None else None
        if attrs is None or (attrs.leaf_level, attrs.block_size) != (level, lv.size):
            raise AssertionError(f"listing and walker disagree at {start:#x} (level {level})")
        name = "page" if lv.plan.table is None else "block"
        return info, level, name, bool(lv.contiguous_bit and key & lv.contiguous_bit)

    def fault(self, start: int, end: int, level: int, what: tuple) -> None:
        """A faulting input range found while reading the tables (merged with the previous
        one when it continues it the same way)."""
        self.flush()
        key = (level, what[0])
        pending = self.pending_fault
        if pending is not None and self.pending_fault_key == key and pending.end == start:
            pending.end = end
            pending.entries += 1
            return
        self.flush_fault()
        result = self.lister.walk(self.regime, start)
        fault = result.fault
        if fault is None:
            raise AssertionError(f"the listing found a fault at {start:#x}; the walker none")
        address = next((r.desc_address for r in reversed(result.levels)), None)
        self.pending_fault = FaultRange(start, end, fault, level, self.p.stage, address)
        self.pending_fault_key = key

    def flush_fault(self) -> None:
        if self.pending_fault is not None:
            self.root.faults.append(self.pending_fault)
            self.pending_fault = None


def _contiguous(rng: MappingRange, lv: _Level) -> None:
    """Contiguous runs: aligned groups of ``contiguous_entries`` entries with the hint, whose
    output is as aligned (otherwise the hint is misprogrammed: the architecture allows a TLB
    conflict abort or an IMPLEMENTATION DEFINED Translation fault)."""
    span = lv.contiguous_entries * lv.size
    rng.contiguous = True
    if rng.start % span or rng.size % span or rng.oa % span:
        rng.contiguous_problem = (
            f"Contiguous bit set on {rng.entries} entries that do not form aligned runs of "
            f"{lv.contiguous_entries} (input and output aligned to {span:#x})"
        )
    else:
        rng.contiguous_runs = rng.size // span


# -- two stages --------------------------------------------------------------------------------


def _compose(lister: _Lister, stage1: RootListing, stage2: RootListing) -> RootListing:
    """VA -> PA: each stage-1 mapping split where the stage-2 mappings of its IPAs change;
    IPAs that stage 2 does not map are faults (the walker's, for the first VA of each)."""
    out = RootListing(stage1.name, stage1.params, stage1.input_base, stage1.input_end)
    out.faults = list(stage1.faults)
    out.tables, out.descriptors = stage1.tables, stage1.descriptors
    out.setup_fault = stage1.setup_fault
    s2 = stage2.mappings
    starts = [m.start for m in s2]
    infos: dict[tuple, WalkResult] = {}
    regime = Regime.EL10_S12.value

    def gap(va: int, end: int, level: int) -> None:
        last = out.faults[-1] if out.faults else None
        result = lister.walk(regime, va)
        fault = result.fault
        if fault is None:
            raise AssertionError(f"the listing found no stage-2 mapping at VA {va:#x}")
        if last is not None and last.end == va and last.fault.fsc == fault.fsc:
            last.end = end
            return
        out.faults.append(FaultRange(va, end, fault, fault.level, fault.stage, None))

    for m in stage1.mappings:
        va, ipa, stop = m.start, m.oa, m.oa + m.size
        i = max(0, bisect.bisect_right(starts, ipa) - 1)
        while ipa < stop:
            r = s2[i] if i < len(s2) else None
            if r is None or r.start >= stop:
                gap(va, va + stop - ipa, m.level)
                break
            if r.end <= ipa:
                i += 1
                continue
            if r.start > ipa:
                gap(va, va + r.start - ipa, m.level)
                va, ipa = va + r.start - ipa, r.start
            piece = min(stop, r.end) - ipa
            key = (m.bits, m.level, _attr(m.walk), r.bits, r.level)
            info = infos.get(key)
            if info is None:
                info = infos[key] = lister.walk(regime, va)
            pa = r.oa + (ipa - r.start)
            last = out.mappings[-1] if out.mappings else None
            if (
                last is not None
                and last.end == va
                and last.oa + last.size == pa
                and last.stage2 is not None
                and (last.bits, last.level, last.stage2.bits, last.stage2.level)
                == key[:2] + key[3:]
            ):
                last.end += piece
                last.entries += 1
            else:
                piece_range = MappingRange(
                    va, va + piece, pa, m.level, m.kind, 1, m.variant, 1, m.bits,
                    m.contiguous, 0, m.contiguous_problem, info, r, ipa,
                )  # fmt: skip
                out.mappings.append(piece_range)
            va, ipa = va + piece, ipa + piece
    return out


def _attr(result: WalkResult | None) -> int | None:
    attrs = result.attrs if result is not None else None
    return None if attrs is None else attrs.attr


def _stage2_on(registers: Mapping[str, int]) -> bool:
    return stage2_enabled(int(registers.get("HCR_EL2", 0)))


# -- the entry point ---------------------------------------------------------------------------


def list_mappings(
    regime: str,
    registers: Mapping[str, int],
    memory: Any,
    cpu: CPU | str = "max",
    choices: Choices | None = None,
) -> Listing:
    """Every mapping and every fault of ``regime``'s tables in ``memory`` (see the module
    docstring). ``memory``: a ``StateMemory`` over a memory image, an image, or any memory."""
    t0 = time.perf_counter()
    regime = Regime(regime).value
    cpu = CPU_PRESETS[cpu] if isinstance(cpu, str) else cpu
    lister = _Lister(regime, registers, memory, cpu, choices or Choices())
    # A listing makes up to millions of small acyclic records; the cyclic garbage collector
    # would rescan all of them again and again while they are made (four times the run time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        stage2 = None
        if regime in (Regime.EL10.value, Regime.EL10_S12.value) and _stage2_on(registers):
            found = lister.roots(Regime.STAGE2.value)
            stage2 = found[0] if found else None
        roots = lister.roots(regime)
        if regime == Regime.EL10_S12.value and stage2 is not None:
            roots = [_compose(lister, root, stage2) for root in roots]
    finally:
        if collecting:
            gc.enable()
    return Listing(regime, roots, time.perf_counter() - t0, stage2)
