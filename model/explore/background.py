"""The memory an explorer state walks: descriptors the link sets, over fixed background tables.

Memory is a real thing here: a value stored at an address never depends on the registers a
walk uses or on the address it translates. An edit to TCR, a TTBR or the input address walks
the *same* memory and shows its true consequence (DS=1 turning SH bits into OA[51:50], a
T0SZ change indexing another entry, a TTBR pointing at nothing).

The background is a complete set of translation tables generated once from an *origin*: the
registers (and CPU) a state's tables were built for — a preset's own registers, or the
registers at the user's last "re-fill". For every table root the origin defines (TTBR0_EL1,
TTBR1_EL1, TTBR0_EL2 and, with HCR_EL2.E2H=1, TTBR1_EL2, and VTTBR_EL2) every entry of every
table is valid: levels above 3 hold table descriptors in the root's format, level 3 holds page
descriptors mapping the address that entry translates (an identity map, folded into the output
size: AF=1, read/write, Normal Write-Back memory).

Tables below the start table live in a region at the top of the root's output space, one
sub-region per root. A table's slot is a bijection of its position in the tree (root, level,
the indexes that lead to it), so the value at any address is a pure function of the address and
the origin: no table is allocated by walking, and no walk can change what another walk reads.
When the tree has more tables than the sub-region has slots (output sizes under 48 bits) some
positions share a slot: the walk then reads the table that owns the slot, which is what the
memory holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

from model.arch import geometry as geo
from model.arch.cpu import CPU_PRESETS, Choices
from model.arch.descriptors import encode_address
from model.arch.fields import HCR_EL2, MASK64, descriptor_layout
from model.arch.memory import Memory
from model.arch.walker import Regime, WalkParams, walk
from model.explore.image import MemoryImage

# An odd multiplier: multiplication modulo 2^k is a bijection on k-bit slot numbers, and this
# one scatters neighbouring tables across the region the way real allocators do.
_SCATTER = 0x9E3779B97F4A7C15

# Where each root's tables go inside its stage's region (top 1/16 of the output space):
# stage-1 roots share the lower half in eighths, stage 2 takes the upper half.
_SUBREGION = {"TTBR0_EL1": (0, 8), "TTBR1_EL1": (1, 8), "TTBR0_EL2": (2, 8), "TTBR1_EL2": (3, 8)}
_STAGE2_SUBREGION = (1, 2)

# Where "fill this entry" puts fresh tables: the 1/32 of the output space just below the
# background region, so filled tables never land on background ones.
FILL_REGION_SHIFT = 5


@dataclass(frozen=True)
class TablesOrigin:
    """What a state's background tables were built for: register values, a CPU preset and the
    regime whose tables come first where two roots share a start table address."""

    registers: Mapping[str, int]
    cpu: str = "max"
    regime: str = Regime.EL10.value

    def key(self) -> tuple:
        regs = tuple(sorted((k, int(v) & MASK64) for k, v in self.registers.items()))
        return (regs, self.cpu, self.regime)

    def __hash__(self) -> int:
        return hash(self.key())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TablesOrigin) and self.key() == other.key()


@dataclass(frozen=True)
class TableRoot:
    """One tree of the background: a TTBR's start table and everything below it."""

    name: str  # the TTBR that points at it
    params: WalkParams  # the stage parameters the origin gives this root
    region_base: int  # the sub-region holding the tables below the start table
    slot_bits: int  # log2 of the number of granule-sized slots in the sub-region
    level_offsets: tuple[tuple[int, int, int], ...] = field(default=())  # (level, first id, count)

    @property
    def stage(self) -> int:
        return self.params.stage

    @property
    def start_bytes(self) -> int:
        return 1 << self.params.start_table_bits

    def slot_of(self, table_id: int) -> int:
        return (table_id * _SCATTER) & ((1 << self.slot_bits) - 1)

    def table_id_at(self, slot: int) -> int:
        return (slot * _inverse(self.slot_bits)) & ((1 << self.slot_bits) - 1)

    def table_address(self, table_id: int) -> int:
        return self.region_base + (self.slot_of(table_id) << self.params.granule_bits)


@lru_cache(maxsize=64)
def _inverse(bits: int) -> int:
    return pow(_SCATTER, -1, 1 << bits)


def _root_params(origin: TablesOrigin) -> list[tuple[str, WalkParams]]:
    """The stage parameters of every table root the origin's registers define.

    They come from the walker itself (a walk over empty memory stops at the first read, after
    the parameters are derived), so the background uses exactly the walker's rules.
    """
    regs = dict(origin.registers)
    hcr = int(regs.get("HCR_EL2", 0))
    cpu = CPU_PRESETS.get(origin.cpu, CPU_PRESETS["max"])
    # Stage-1 parameters only: with VM=0 no stage-2 walk of the table address is attempted.
    s1_regs = {**regs, "HCR_EL2": HCR_EL2.set(HCR_EL2.set(hcr, "VM", 0), "TGE", 0)}
    probes: list[tuple[str, Regime, int, dict]] = [
        ("TTBR0_EL1", Regime.EL10, 0, s1_regs),
        ("TTBR1_EL1", Regime.EL10, MASK64 & ~0xFFF, s1_regs),
    ]
    if HCR_EL2.get(hcr, "E2H"):
        probes += [
            ("TTBR0_EL2", Regime.EL20, 0, s1_regs),
            ("TTBR1_EL2", Regime.EL20, MASK64 & ~0xFFF, s1_regs),
        ]
    else:
        probes.append(("TTBR0_EL2", Regime.EL2, 0, s1_regs))
    probes.append(("VTTBR_EL2", Regime.STAGE2, 0, regs))
    # Memory holds one table at an address: where two roots share a start table, the roots of
    # the origin's own regime come first.
    own = {
        Regime.EL10.value: ("TTBR0_EL1", "TTBR1_EL1"),
        Regime.EL10_S12.value: ("TTBR0_EL1", "TTBR1_EL1", "VTTBR_EL2"),
        Regime.EL2.value: ("TTBR0_EL2",),
        Regime.EL20.value: ("TTBR0_EL2", "TTBR1_EL2"),
        Regime.STAGE2.value: ("VTTBR_EL2",),
    }.get(origin.regime, ())
    probes.sort(key=lambda probe: probe[0] not in own)
    roots: list[tuple[str, WalkParams]] = []
    for name, regime, address, probe_regs in probes:
        result = walk(regime, probe_regs, {}, address, "el1r", cpu=cpu, choices=Choices())
        params = result.params.get("s2" if regime == Regime.STAGE2 else "s1")
        fault = result.fault
        if params is None or params.ttbr_name != name:
            continue
        # A set-up fault that stops every walk of this root (bad TxSZ or stage-2 start level)
        # leaves no usable geometry; EPD/E0PD/range faults do not change the tables.
        if fault is not None and fault.rule in {
            "txsz-below-min",
            "txsz-above-max",
            "s2-invalid-sl",
            "s2-inconsistent-sl",
        }:
            continue
        if any(
            p.table_base <= params.table_base < p.table_base + (1 << p.start_table_bits)
            for _, p in roots
        ):
            continue  # that address already holds another root's start table
        roots.append((name, params))
    return roots


def _space_bits(name: str, params: WalkParams, roots: dict[str, WalkParams], s2_on: bool) -> int:
    """How many bits of output space the root's tables may use. Stage-1 tables of EL1&0 are
    IPAs when stage 2 is on: they must also fit the stage-2 input and output sizes, so that
    the background's identity-mapped stage 2 leads to them."""
    bits = params.oa_bits
    s2 = roots.get("VTTBR_EL2")
    if params.stage == 1 and name.endswith("_EL1") and s2_on and s2 is not None:
        bits = min(bits, s2.iasize, s2.oa_bits)
    return bits


def _make_root(name: str, params: WalkParams, space_bits: int) -> TableRoot:
    region = 1 << (space_bits - 4)
    base = (1 << space_bits) - region
    if params.stage == 2:
        index, parts = _STAGE2_SUBREGION
    else:
        index, parts = _SUBREGION[name]
    size = region // parts
    slot_bits = max(0, size.bit_length() - 1 - params.granule_bits)
    entries = 1 << params.stride
    offsets = []
    first = 0
    count = params.start_table_entries
    for level in range(params.start_level + 1, geo.FINAL_LEVEL + 1):
        offsets.append((level, first, count))
        first += count
        count *= entries
    return TableRoot(name, params, base + index * size, slot_bits, tuple(offsets))


class BackgroundTables(Memory):
    """The fixed background memory of one origin (see the module docstring)."""

    def __init__(self, origin: TablesOrigin) -> None:
        self.origin = origin
        found = dict(_root_params(origin))
        hcr = int(origin.registers.get("HCR_EL2", 0))
        s2_on = bool(HCR_EL2.get(hcr, "VM"))
        self.roots: tuple[TableRoot, ...] = tuple(
            _make_root(name, params, _space_bits(name, params, found, s2_on))
            for name, params in found.items()
        )

    # -- what is stored -----------------------------------------------------------------------
    def locate(self, pa: int) -> tuple[TableRoot, int, int] | None:
        """(root, level, entry number) of the background entry at ``pa``, or None.

        The entry number counts the entries of a level across the whole tree: entry ``e`` of
        level ``L`` leads to the table with number ``e`` at level ``L + 1``, and at level 3 it
        maps the page ``e << granule_bits`` of the root's input space.
        """
        pa &= ~7
        for root in self.roots:
            p = root.params
            if p.table_base <= pa < p.table_base + root.start_bytes:
                return root, p.start_level, (pa - p.table_base) >> 3
        for root in self.roots:
            p = root.params
            span = 1 << (root.slot_bits + p.granule_bits)
            if not root.region_base <= pa < root.region_base + span:
                continue
            slot = (pa - root.region_base) >> p.granule_bits
            table_id = root.table_id_at(slot)
            for level, first, count in root.level_offsets:
                if first <= table_id < first + count:
                    number = table_id - first
                    index = (pa >> 3) & ((1 << p.stride) - 1)
                    return root, level, (number << p.stride) | index
            return None
        return None

    def __contains__(self, pa: int) -> bool:
        return self.locate(pa) is not None

    def read64(self, pa: int) -> int:
        found = self.locate(pa)
        if found is None:
            return 0
        root, level, entry = found
        return _entry_value(root, level, entry)


def _entry_value(root: TableRoot, level: int, entry: int) -> int:
    p = root.params
    if level < geo.FINAL_LEVEL:
        child = next(first for lvl, first, _ in root.level_offsets if lvl == level + 1) + entry
        layout = descriptor_layout(p.stage, "table", p.desc_variant)
        return encode_address(root.table_address(child), layout, p.desc_variant, p.granule_bits) | 3
    # The page this entry translates: its index bits are the entry number, and the TTBR1 range
    # has every bit above the input size set.
    ia = entry << p.granule_bits
    if p.range_select:
        ia |= MASK64 & ~((1 << p.iasize) - 1)
    return page_descriptor(p, ia)


def page_descriptor(params: WalkParams, input_address: int, level: int = geo.FINAL_LEVEL) -> int:
    """A valid leaf in ``params``' format mapping ``input_address`` to the same address folded
    into the output size: page at level 3, block above. AF=1; stage 1 read/write at EL1 and EL0,
    AttrIndx 0; stage 2 S2AP read/write, MemAttr Normal Write-Back; Inner Shareable where the
    format still has SH bits (DS=0)."""
    stage, variant = params.stage, params.desc_variant
    kind = "page" if level == geo.FINAL_LEVEL else "block"
    layout = descriptor_layout(stage, kind, variant)
    size_bits = geo.block_size_bits(level, params.granule_kb)
    oa = input_address & ((1 << params.oa_bits) - 1) & ~((1 << size_bits) - 1)
    value = encode_address(oa, layout, variant, size_bits) | (0b11 if kind == "page" else 0b01)
    value = layout.set(value, "AF", 1)
    if "SH" in layout:
        value = layout.set(value, "SH", 0b11)
    if stage == 1:
        return layout.set(layout.set(value, "AP", 0b01), "AttrIndx", 0)
    return layout.set(layout.set(value, "S2AP", 0b11), "MemAttr", 0b1111)


@lru_cache(maxsize=64)
def background_for(origin: TablesOrigin) -> BackgroundTables:
    """The background of ``origin`` (a pure function of it, so it is shared)."""
    return BackgroundTables(origin)


class StateMemory(Memory):
    """What a state's walk reads: the descriptors its link sets, over its background tables.

    ``source(pa)`` says where a value comes from: ``"set"`` (the link sets it),
    ``"background"`` (the background tables), ``"image"`` (a memory image standing in for
    them, ``model.explore.image``) or ``"empty"`` (nothing is stored there: it reads as 0, an
    invalid descriptor, over background tables; outside an image a read is an External abort).
    """

    def __init__(
        self, words: Mapping[int, int], background: BackgroundTables | MemoryImage | None
    ) -> None:
        self.words = MappingProxyType(dict(words))
        self.background = background

    def source(self, pa: int) -> str:
        pa &= ~7
        if pa in self.words:
            return "set"
        if self.background is not None and pa in self.background:
            return getattr(self.background, "source_name", "background")
        return "empty"

    def read64(self, pa: int) -> int:
        pa &= ~7
        value = self.words.get(pa)
        if value is not None:
            return value
        return self.background.read64(pa) if self.background is not None else 0

    def __contains__(self, pa: int) -> bool:
        return self.source(pa) != "empty"

    def read_descriptor(self, pa: int) -> tuple[int, str]:
        """The value at ``pa`` and where it comes from (``source``)."""
        pa &= ~7
        value = self.words.get(pa)
        if value is not None:
            return value, "set"
        background = self.background
        if isinstance(background, BackgroundTables):
            found = background.locate(pa)
            if found is not None:
                return _entry_value(*found), "background"
        elif background is not None:  # a memory image: outside it, ExternalAbort
            return background.read64(pa), background.source_name
        return 0, "empty"


def tables_for(
    registers: Mapping[str, int],
    cpu: str = "max",
    memory: Mapping[int, int] | None = None,
    regime: str = Regime.EL10.value,
) -> StateMemory:
    """Memory for a script or a test: background tables built for ``registers`` (every table
    root they define, complete), with ``memory`` set over them."""
    origin = TablesOrigin({k: int(v) for k, v in registers.items()}, cpu, regime)
    return StateMemory(memory or {}, background_for(origin))
