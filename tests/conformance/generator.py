"""Seeded generator of AT scenarios for the QEMU conformance suite.

Every scenario is built by walking the translation geometry forwards, the way the
architecture does: from the TTBR/VTTBR base and the input-address index bits of each
level (``model.geometry.index_bits`` / ``s1_start_level`` give the bit positions), the
generator computes each descriptor address and decides what to place there (a table
pointing to a fresh table in guest RAM, a block, a page, an invalid or reserved
encoding, a descriptor with high output-address bits, AF=0, AP/APTable bits ...).
It never calls the walker: the model is only consulted later, by the comparison.

Register and descriptor bit positions are written out here from the fact sheet
(/work/shared/spec/lpa2-facts.md sections 1, 5, 6), not taken from ``model.fields``, so
that a wrong field layout in the model shows up as a mismatch.

Two-stage walks: every stage-1 table is given an IPA and a physical location in RAM; the
stage-2 tables are built so that the IPA of the descriptor the stage-1 walk reads maps to
that location (``_S2Builder.map_to``), and sometimes a fault is injected in one of those
stage-2 walks (S1PTW faults). The final IPA of an ``AT S12E*`` is mapped too (anywhere).

Usage::

    from generator import generate
    for g in generate(seed=1, count=3000):
        g.scenario      # qemu_runner.Scenario
        g.tags          # set of category strings (for coverage counts)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import controls
from qemu_runner import RAM_END, TABLE_REGION, Scenario

from model.arch import geometry as geo

# ------------------------------------------------------------------ register bits
# TCR_EL1 (and TCR_EL2 with E2H=1), fact sheet 1.1
T0SZ_S, EPD0, IRGN0_S, ORGN0_S, SH0_S, TG0_S = 0, 7, 8, 10, 12, 14
T1SZ_S, EPD1, SH1_S, TG1_S, IPS_S = 16, 23, 28, 30, 32
TBI0, TBI1, HA, HPD0, HPD1, E0PD0, E0PD1, DS59 = 37, 38, 39, 41, 42, 55, 56, 59
# TCR_EL2 with E2H=0, fact sheet 1.2
EL2_PS_S, EL2_TBI, EL2_HPD, EL2_DS = 16, 20, 24, 32
EL2_RES1 = (1 << 31) | (1 << 23)
# VTCR_EL2, fact sheet 1.3
VT_SL0_S, VT_PS_S, VT_RES1, VT_DS, VT_SL2 = 6, 16, 1 << 31, 32, 33
# HCR_EL2
HCR_VM, HCR_TGE, HCR_RW, HCR_E2H = 1 << 0, 1 << 27, 1 << 31, 1 << 34

TG0_ENC = {4: 0b00, 64: 0b01, 16: 0b10}
TG1_ENC = {16: 0b01, 4: 0b10, 64: 0b11}
PS_ENC = {32: 0, 36: 1, 40: 2, 42: 3, 44: 4, 48: 5, 52: 6}
PS_DEC = {v: k for k, v in PS_ENC.items()}
PAMAX = 52  # -cpu max

# MAIR attribute bytes: Normal WB, Device-nGnRnE, Device-nGnRE, Normal NC, Normal WT,
# Normal WB inner / NC outer, Device-GRE, Normal WB transient.
MAIR_BYTES = (0xFF, 0x00, 0x04, 0x44, 0xBB, 0x4F, 0x0C, 0x77)

# Descriptor bits, fact sheet 5.4 - 5.6
AF = 1 << 10
NG = 1 << 11


def _mask(hi: int, lo: int) -> int:
    return ((1 << (hi - lo + 1)) - 1) << lo


def encode_oa(addr: int, variant: str, low_bits: int) -> int:
    """Put an output/next-table address in descriptor format (fact sheet 5.2).

    variant: "DS0" (4K/16K, DS=0), "DS1" (4K/16K, DS=1), "LPA" (64KB, FEAT_LPA).
    low_bits: log2 of the granule (tables) or block/page size (leaves)."""
    if variant == "DS1":
        return (addr & _mask(49, low_bits)) | (((addr >> 50) & 3) << 8)
    if variant == "LPA":
        return (addr & _mask(47, low_bits)) | (((addr >> 48) & 0xF) << 12)
    return addr & _mask(47, low_bits)


def ttbr_encode(base: int, fmt52: bool) -> int:
    """TTBR BADDR for a base address (fact sheet 6): base[51:48] in TTBR[5:2] if 52-bit."""
    if fmt52:
        return (base & _mask(47, 6)) | (((base >> 48) & 0xF) << 2)
    return base & _mask(47, 1)


@dataclass
class Gen:
    scenario: Scenario
    tags: set = field(default_factory=set)


@dataclass
class StageGeo:
    """Geometry of one stage as the generator computes it."""

    stage: int
    granule: int
    ds: bool
    iasize: int
    start: int
    oa_bits: int  # architectural effective output size
    variant: str

    @property
    def gb(self) -> int:
        return geo.granule_bits(self.granule)

    def table_bytes(self, level: int) -> int:
        if level == self.start:
            return 1 << geo.start_table_bits(self.iasize, self.granule, self.start)
        return 1 << self.gb

    def desc_addr(self, base: int, level: int, ia: int) -> int:
        hi, lo = geo.index_bits(level, self.iasize, self.granule, self.start)
        return base | (((ia >> lo) & ((1 << (hi - lo + 1)) - 1)) << 3)

    def block_ok(self, level: int) -> bool:
        """Architectural block levels (fact sheet 5.3), written out here."""
        if self.granule == 4:
            return level in (1, 2) or (level == 0 and self.ds)
        if self.granule == 16:
            return level == 2 or (level == 1 and self.ds)
        return level == 2 or level == 1  # 64KB: L1 with PAMax >= 52 (-cpu max)


class Alloc:
    """Bump allocator of table memory inside TABLE_REGION."""

    def __init__(self, rng: random.Random):
        lo, hi = TABLE_REGION
        # start somewhere in the region (so tables land below and above 4 GiB)
        self.next = lo + rng.randrange(0, (hi - lo - (64 << 20)) >> 20) * (1 << 20)
        self.rng = rng

    def take(self, size: int) -> int:
        size = max(size, 8)
        align = max(size, 64)
        a = (self.next + align - 1) & ~(align - 1)
        a += self.rng.choice((0, 0, 1, 3)) * align
        self.next = a + size
        if self.next >= TABLE_REGION[1]:
            lo = TABLE_REGION[0]
            a = (lo + align - 1) & ~(align - 1)
            self.next = a + size
        return a


def _outside_ram(rng: random.Random, align_bits: int) -> int:
    """An address above guest RAM (a walk there takes an external abort)."""
    a = (
        rng.choice((0x2_0000_0000, 0x40_0000_0000, 0x8000_0000_0000))
        + rng.randrange(1 << 20) * 4096
    )
    return a & ~((1 << align_bits) - 1)


# ------------------------------------------------------------------ stage 2 builder
class _S2Builder:
    """Builds stage-2 tables for several IPAs sharing one VTTBR start table."""

    def __init__(
        self, g: StageGeo, base: int, mem: dict, alloc: Alloc, rng: random.Random, desc_attrs: int
    ):
        self.g, self.base, self.mem, self.alloc, self.rng = g, base, mem, alloc, rng
        self.next_of: dict[int, int] = {}  # table descriptor address -> next table base
        self.leaf_at: set[int] = set()
        self.attrs = desc_attrs  # MemAttr/S2AP/SH/AF for valid leaves
        self.fwb = False  # HCR_EL2.FWB: which stage-2 MemAttr values are not reserved

    def _path(self, ipa: int):
        """Follow existing tables; yields (level, desc_addr, exists)."""
        base, level = self.base, self.g.start
        while True:
            d = self.g.desc_addr(base, level, ipa)
            if d in self.next_of:
                base = self.next_of[d]
                level += 1
                continue
            return level, d, d in self.mem

    def _table(self, d: int, level: int, high: int = 0) -> int:
        nxt = self.alloc.take(1 << self.g.gb)
        self.mem[d] = encode_oa(nxt | high, self.g.variant, self.g.gb) | 0b11
        self.next_of[d] = nxt
        return nxt

    def leaf_levels_small(self) -> list[int]:
        """Leaf levels whose size is at most 1 GiB (so the output can sit in RAM)."""
        out = [3]
        for lv in range(max(self.g.start, 0), 3):
            if self.g.block_ok(lv) and geo.block_size_bits(lv, self.g.granule) <= 30:
                out.append(lv)
        return out

    def map_to(self, ipa: int, pa: int, leaf_level: int, fault: str | None, tags: set) -> bool:
        """Map the stage-2 granule/block holding ``ipa`` so that ipa -> pa. Returns False on a
        conflict with existing tables (the caller picks another IPA)."""
        g = self.g
        level, d, exists = self._path(ipa)
        if exists or level > leaf_level:
            return False
        fault_level = None
        if fault:
            fault_level = self.rng.randint(level, leaf_level)
        while level < leaf_level:
            if fault_level == level and fault in ("invalid", "block-bad", "table-high"):
                break
            self._table(d, level)
            level += 1
            d = g.desc_addr(self.next_of[d], level, ipa)
        size_bits = geo.block_size_bits(level, g.granule)
        oa = pa & ~((1 << size_bits) - 1)
        kind = 0b11 if level == 3 else 0b01
        val = encode_oa(oa, g.variant, size_bits) | kind | self.attrs
        if fault == "invalid":
            val &= ~1
            tags.add("s2ptw-fault-invalid")
        elif fault == "block-bad":
            # a block at a level that cannot hold one (or the reserved L3 encoding)
            bad = [
                lv for lv in range(g.start, 4) if lv >= level and (lv == 3 or not g.block_ok(lv))
            ]
            if bad:
                lv = bad[0]
                while level < lv:
                    self._table(d, level)
                    level += 1
                    d = g.desc_addr(self.next_of[d], level, ipa)
            out = _outside_ram(self.rng, 40)
            val = (
                encode_oa(out, g.variant, min(geo.block_size_bits(level, g.granule), 39))
                | 0b01
                | self.attrs
            )
            tags.add("s2ptw-fault-block")
        elif fault == "table-high":
            if level < 3:
                high = self.rng.randrange(1, 16) << 48
                nxt = self.alloc.take(1 << g.gb)
                self.mem[d] = encode_oa(nxt | high, g.variant, g.gb) | 0b11
                self.next_of[d] = nxt
                level += 1
                # continue the path below so QEMU's "ignore" reading finds a real table
                while level < 3:
                    d = g.desc_addr(nxt, level, ipa)
                    nxt = self._table(d, level)
                    level += 1
                d = g.desc_addr(nxt, level, ipa)
                val = encode_oa(pa & ~((1 << g.gb) - 1), g.variant, g.gb) | 0b11 | self.attrs
                tags.add("s2ptw-fault-high-table")
        elif fault == "af":
            val &= ~AF
            tags.add("s2ptw-fault-af")
        elif fault == "perm":
            val &= ~(1 << 6)  # S2AP[0]: no read
            tags.add("s2ptw-fault-perm")
        elif fault == "leaf-high":
            val |= encode_oa(self.rng.randrange(1, 16) << 48, g.variant, size_bits)
            tags.add("s2ptw-fault-high-leaf")
        self.mem[d] = val
        self.leaf_at.add(d)
        return True

    def map_any(self, ipa: int, rng: random.Random, tags: set) -> None:
        """Map the final IPA of an S12 walk: any leaf level, any output, maybe faulty."""
        g = self.g
        level, d, exists = self._path(ipa)
        if exists:
            tags.add("s2-final-shared")
            return
        choices = [lv for lv in range(level, 4)]
        target = rng.choice(choices)
        while level < target:
            self._table(d, level)
            level += 1
            d = g.desc_addr(self.next_of[d], level, ipa)
        size_bits = geo.block_size_bits(level, g.granule)
        oa_bits = rng.choice((g.oa_bits, g.oa_bits, 48, 52, 40))
        oa = rng.randrange(1 << oa_bits) & ~((1 << size_bits) - 1)
        kind = 0b11 if level == 3 else 0b01
        if level < 3 and not g.block_ok(level):
            tags.add("s2-final-block-bad")
        elif level < 3:
            tags.add(f"s2-final-block-L{level}")
        else:
            tags.add("s2-final-page")
        attrs = _s2_leaf_attrs(rng, g.ds, fwb=self.fwb, tags=tags)
        r = rng.random()
        if r < 0.04:
            kind = 0b01 if level == 3 else 0b00
            tags.add("s2-final-reserved-or-invalid")
        self.mem[d] = encode_oa(oa, g.variant, size_bits) | kind | attrs


def _s2_leaf_attrs(
    rng: random.Random, ds: bool, ok: bool = False, fwb: bool = False, tags: set | None = None
) -> int:
    # MemAttr[3:2]!=0 with [1:0]=0b00 is a reserved (UNPREDICTABLE) Normal encoding: avoided
    # (with HCR_EL2.FWB=1: MemAttr[3] set and 0b0100, see controls.FWB_MEMATTRS)
    memattr = rng.choice(
        (0b1111, 0b1111, 0b0101, 0b0000, 0b0001, 0b0010, 0b0011, 0b1010, 0b1110, 0b0111)
    )
    memattr = controls.s2_memattr(rng, fwb, memattr)
    s2ap = 0b11 if ok or rng.random() < 0.7 else rng.randrange(4)
    v = (memattr << 2) | (s2ap << 6) | AF
    if not ds:
        v |= rng.choice((0, 2, 3, 3)) << 8
    if not ok and rng.random() < 0.06:
        v &= ~AF
    if rng.random() < 0.2:
        v |= rng.randrange(4) << 53  # XN/XNX
    if not ok and tags is not None:
        v |= controls.s2_leaf_dbm(rng, tags)
    return v


# ------------------------------------------------------------------ stage 2 parameters
def _gen_vtcr(rng: random.Random, tags: set, want_iasize_min: int = 0):
    """-> (vtcr value, StageGeo or None if the set-up is illegal)."""
    granule = rng.choice((4, 4, 16, 64))
    ds = granule != 64 and rng.random() < 0.6
    ps_bits = rng.choice((52, 52, 48, 48, 44, 40, 42, 36))
    oa_bits = min(ps_bits, 52 if (granule == 64 or ds) else 48)
    r = rng.random()
    sl2 = 0
    if r < 0.85:
        # a legal start level and consistent T0SZ
        levels = {
            4: [0, 1, 2, 3] + ([-1] if ds else []),
            16: [1, 2, 3] + ([0] if ds else []),
            64: [1, 2, 3],
        }[granule]
        start = rng.choice(levels)
        lo, hi = geo.s2_iasize_range(granule, start)
        min_t0 = 64 - (52 if (granule == 64 or ds) else 48)
        hi = min(hi, 64 - min_t0)
        lo = max(lo, 64 - geo.max_txsz(granule, True))
        if lo > hi:
            start, lo, hi = {4: 1, 16: 2, 64: 2}[granule], 30, 40
        iasize = rng.randint(lo, hi)
        if want_iasize_min and iasize < want_iasize_min and hi >= want_iasize_min:
            iasize = rng.randint(want_iasize_min, hi)
        if start == -1:
            sl0, sl2 = 0, 1
        else:
            sl0 = {
                4: {2: 0, 1: 1, 0: 2, 3: 3},
                16: {3: 0, 2: 1, 1: 2, 0: 3},
                64: {3: 0, 2: 1, 1: 2},
            }[granule][start]
        tags.add(f"s2-{granule}k-start{start}")
        concat = geo.concatenated_tables(iasize, granule, start)
        if concat > 1:
            tags.add("s2-concatenated")
        t0sz = 64 - iasize
    else:
        sl0 = rng.randrange(4)
        sl2 = rng.randrange(2)
        t0sz = rng.choice((rng.randint(10, 50), 12, 16, 24, 33, 40))
        tags.add("s2-random-sl")
        start = None
        iasize = 64 - t0sz
    vtcr = (
        t0sz
        | (sl0 << VT_SL0_S)
        | (1 << IRGN0_S)
        | (1 << ORGN0_S)
        | (rng.randrange(4) << SH0_S)
        | (TG0_ENC[granule] << TG0_S)
        | (PS_ENC[ps_bits] << VT_PS_S)
        | VT_RES1
        | (int(ds) << VT_DS)
        | (sl2 << VT_SL2)
        | controls.vtcr_hafdbs(rng, tags)
    )
    tags.add(f"s2-{granule}k-ds{int(ds)}")
    if start is None:
        # only used as a flat fault case; give a geometry guess for building nothing
        return vtcr, None
    variant = "LPA" if granule == 64 else ("DS1" if ds else "DS0")
    return vtcr, StageGeo(2, granule, ds, iasize, start, oa_bits, variant)


# ------------------------------------------------------------------ stage 1
_S1_OPS = {
    "el10": ("S1E1R", "S1E1W", "S1E0R", "S1E0W"),
    "el10_s2": (
        "S1E1R",
        "S1E1W",
        "S1E0R",
        "S1E0W",
        "S12E1R",
        "S12E1W",
        "S12E0R",
        "S12E0W",
        "S12E1R",
        "S12E0W",
    ),
    "el2": ("S1E2R", "S1E2W"),
    "el20": ("S1E2R", "S1E2W"),
    "el20_tge": ("S1E2R", "S1E2W", "S1E0R", "S1E0W", "S1E1R", "S1E1W", "S12E0R", "S12E1W"),
    "el10_tge": ("S1E1R", "S1E0W", "S12E1R"),
}


def _leaf_attrs_s1(rng: random.Random, ds: bool, tags: set, ha: bool = False) -> int:
    v = AF | (rng.randrange(8) << 2) | (rng.randrange(4) << 6)
    dbm, clear_af = controls.s1_leaf_hafdbs(rng, ha, tags)
    v |= dbm
    if clear_af:
        v &= ~AF
        tags.add("s1-af0-ha")
    if not ds:
        v |= rng.choice((0, 2, 3, 3)) << 8
    if rng.random() < 0.5:
        v |= NG
    if rng.random() < 0.3:
        v |= rng.randrange(4) << 53  # PXN/UXN
    if rng.random() < 0.1:
        v |= rng.randrange(16) << 55  # software bits
    if rng.random() < 0.06:
        v &= ~AF
        tags.add("s1-af0")
    ap = (v >> 6) & 3
    tags.add(f"s1-ap{ap}")
    return v


def _table_attrs_s1(rng: random.Random, tags: set) -> int:
    v = 0
    if rng.random() < 0.25:
        aptable = rng.randrange(1, 4)
        v |= aptable << 61
        tags.add(f"s1-aptable{aptable}")
    if rng.random() < 0.15:
        v |= rng.randrange(1, 4) << 59
    if rng.random() < 0.1:
        v |= 1 << 63  # NSTable (ignored: non-secure regime)
    return v


def _pick_txsz(rng: random.Random, granule: int, ds: bool, tags: set) -> int:
    tmin = 12 if (granule == 64 or ds) else 16
    tmax = 47 if granule == 64 else 48
    r = rng.random()
    if r < 0.05:
        tags.add("txsz-illegal")
        return rng.choice((tmin - 1, tmax + 1, 0, 63, 11, 49, 8))
    if r < 0.35:
        return rng.choice((tmin, tmin, tmin + 1, tmin + 3, 16, 25, 39))
    return rng.randint(tmin, tmax)


def _s1_geo(granule, ds, txsz, ps_bits) -> StageGeo:
    tmin = 12 if (granule == 64 or ds) else 16
    tmax = 47 if granule == 64 else 48
    t = min(max(txsz, tmin), tmax)
    iasize = 64 - t
    start = geo.s1_start_level(iasize, granule)
    oa_bits = min(ps_bits, 52 if (granule == 64 or ds) else 48)
    variant = "LPA" if granule == 64 else ("DS1" if ds else "DS0")
    return StageGeo(1, granule, ds, iasize, start, oa_bits, variant)


def gen_one(rng: random.Random) -> Gen:
    tags: set = set()
    mem: dict[int, int] = {}
    alloc = Alloc(rng)
    kind = rng.choices(
        ("el10", "el10_s2", "el2", "el20", "el20_tge", "el10_tge", "s2only", "dc"),
        weights=(30, 30, 9, 9, 5, 1, 9, 7),
    )[0]
    tags.add(f"regime-{kind}")
    regs: dict[str, int] = {}
    hcr = HCR_RW
    if kind == "el10_s2" or kind == "s2only":
        hcr |= HCR_VM
    if kind in ("el20", "el20_tge"):
        hcr |= HCR_E2H | (rng.random() < 0.3 and kind == "el20") * HCR_VM
    if kind in ("el20_tge", "el10_tge"):
        hcr |= HCR_TGE
        if rng.random() < 0.5:
            hcr |= HCR_VM
    hcr |= controls.hcr_controls(rng, kind, tags)
    regs["HCR_EL2"] = hcr
    mair = 0
    for i in range(8):
        mair |= rng.choice(MAIR_BYTES) << (8 * i)
    regs["MAIR_EL1"] = mair
    regs["MAIR_EL2"] = mair

    if kind in ("s2only", "dc"):
        return _gen_s2only(rng, regs, mem, alloc, tags, dc=kind == "dc")

    # ---- stage 1 control
    el2_single = kind == "el2"
    two_range = not el2_single
    granule = rng.choice((4, 4, 16, 16, 64))
    ds = granule != 64 and rng.random() < 0.6
    if granule == 64 and rng.random() < 0.2:
        ds = True  # DS=1 ignored for 64KB
        tags.add("ds-with-64k")
    ds_eff = ds and granule != 64
    ps_bits = rng.choice((52, 52, 52, 48, 48, 44, 40, 36, 32))
    txsz = _pick_txsz(rng, granule, ds_eff, tags)
    upper = two_range and rng.random() < 0.35
    g = _s1_geo(granule, ds_eff, txsz, ps_bits)
    tags.add(f"s1-{granule}k-ds{int(ds_eff)}")
    tags.add(f"s1-{granule}k-start{g.start}")
    if granule == 64 and ps_bits == 52:
        tags.add("s1-64k-lpa")
    tbi = rng.random() < 0.3
    hpd = rng.random() < 0.15
    if hpd:
        tags.add("hpd")
    sh = rng.randrange(4)
    if two_range:
        n = 1 if upper else 0
        tcr = (1 << IRGN0_S) | (1 << ORGN0_S) | (rng.randrange(4) << SH0_S)
        tcr |= (1 << 24) | (1 << 26) | (rng.randrange(4) << SH1_S)
        tcr = (tcr & ~(3 << (SH0_S if n == 0 else SH1_S))) | (sh << (SH0_S if n == 0 else SH1_S))
        other_t = rng.choice((16, 25, 39, 12))
        if upper:
            tcr |= txsz << T1SZ_S | (TG1_ENC[granule] << TG1_S) | other_t << T0SZ_S
            tcr |= rng.choice((0, 1, 2)) << TG0_S
        else:
            tcr |= txsz << T0SZ_S | (TG0_ENC[granule] << TG0_S) | other_t << T1SZ_S
            tcr |= rng.choice((1, 2, 3)) << TG1_S
        tcr |= PS_ENC[ps_bits] << IPS_S
        tcr |= int(ds) << DS59
        tcr |= int(tbi) << (TBI1 if upper else TBI0)
        tcr |= int(hpd) << (HPD1 if upper else HPD0)
        tcr |= controls.tcr_hafdbs(rng, False, tags)
        if rng.random() < 0.03:
            tcr |= 1 << (EPD1 if upper else EPD0)
            tags.add("epd")
        if rng.random() < 0.03:
            tcr |= 1 << (E0PD1 if upper else E0PD0)
            tags.add("e0pd")
        tags.add("ttbr1" if upper else "ttbr0")
        if rng.random() < 0.1:
            tags.add("tg-other-encoding")
    else:
        tcr = EL2_RES1 | txsz | (1 << IRGN0_S) | (1 << ORGN0_S) | (sh << SH0_S)
        tcr |= TG0_ENC[granule] << TG0_S | PS_ENC[ps_bits] << EL2_PS_S
        tcr |= int(tbi) << EL2_TBI | int(hpd) << EL2_HPD | int(ds) << EL2_DS
        tcr |= controls.tcr_hafdbs(rng, True, tags)
        if rng.random() < 0.05:
            tcr |= 1 << DS59  # bit 59 means nothing in this layout
            tags.add("el2-bit59")
    if tbi:
        tags.add("tbi")

    el2_regime = kind in ("el2", "el20", "el20_tge")
    op = rng.choice(_S1_OPS[kind])
    tags.add(f"op-{op}")
    sctlr_on = rng.random() > 0.03
    if not sctlr_on:
        tags.add("mmu-off")
    if el2_regime:
        regs["TCR_EL2"] = tcr
        regs["SCTLR_EL2"] = int(sctlr_on)
        # junk in the EL1 registers (must not matter)
        regs["TCR_EL1"] = rng.getrandbits(32)
        regs["SCTLR_EL1"] = rng.randrange(2)
    else:
        regs["TCR_EL1"] = tcr
        regs["SCTLR_EL1"] = int(sctlr_on)
        regs["TCR_EL2"] = EL2_RES1 | rng.getrandbits(16)

    # ---- VA
    va = rng.getrandbits(g.iasize) if g.iasize < 64 else 0
    if rng.random() < 0.15:
        va &= ~((1 << rng.randrange(12, max(13, g.iasize))) - 1) | rng.getrandbits(12)
    if upper:
        va |= ((1 << 64) - 1) & ~((1 << g.iasize) - 1)
    if tbi:
        va = (va & ~(0xFF << 56)) | (rng.getrandbits(8) << 56)
        if upper:
            va |= 1 << 55
    if rng.random() < 0.05:
        va ^= 1 << rng.randrange(g.iasize, 64)
        tags.add("va-out-of-range-maybe")

    # ---- stage 2 (table IPAs through stage 2)
    s2 = None
    s2_active = bool(hcr & HCR_VM) and not (hcr & HCR_E2H and hcr & HCR_TGE) and not el2_regime
    if s2_active:
        vtcr, s2g = _gen_vtcr(rng, tags, want_iasize_min=33)
        regs["VTCR_EL2"] = vtcr
        if s2g is not None:
            vbase = alloc.take(s2g.table_bytes(s2g.start))
            vfmt52 = s2g.ds or (s2g.granule == 64 and ((vtcr >> VT_PS_S) & 7) == 6)
            regs["VTTBR_EL2"] = ttbr_encode(vbase, vfmt52) | (rng.randrange(256) << 48)
            fwb = bool(hcr & controls.HCR_FWB)
            page_attrs = controls.table_page_attrs(
                rng, _s2_leaf_attrs(rng, s2g.ds, ok=True, fwb=fwb), fwb, tags
            )
            s2 = _S2Builder(s2g, vbase, mem, alloc, rng, page_attrs)
            s2.fwb = fwb
            tags.add("two-stage-tables")
        else:
            regs["VTTBR_EL2"] = alloc.take(4096)

    # ---- stage-1 chain
    fmt52 = ds_eff or (granule == 64 and ps_bits == 52)
    start_bytes = g.table_bytes(g.start)

    def place_table(level: int, size: int, tags_: set) -> tuple[int, int]:
        """-> (IPA or PA of the new table, PA where its descriptor for this walk lives)"""
        pa = alloc.take(size)
        if s2 is None:
            return pa, pa
        return pa, pa  # remapped by map_s1_desc

    def locate_desc(table_pa: int, level: int, size: int) -> tuple[int, int]:
        """Choose the table's input address (IPA when stage 2 is on) and return
        (table address as stage 1 sees it, PA of the descriptor read at this level)."""
        if s2 is None:
            return table_pa, g.desc_addr(table_pa, level, va)
        ipa_limit = min(s2.g.iasize, g.oa_bits)
        for _ in range(20):
            leaf_levels = s2.leaf_levels_small()
            ll = rng.choice(leaf_levels)
            sbits = geo.block_size_bits(ll, s2.g.granule)
            align = max(sbits, (size - 1).bit_length())
            if ipa_limit <= align:
                ipa_limit = align + 1
            hi_bits = rng.randrange(align, ipa_limit + 1) if rng.random() < 0.5 else ipa_limit
            q = (rng.getrandbits(hi_bits) & ~((1 << align) - 1)) | (table_pa & ((1 << align) - 1))
            q = q & ~(size - 1) if size <= (1 << align) else q
            d_ipa = g.desc_addr(q, level, va)
            d_pa = g.desc_addr(table_pa, level, va)
            fault = None
            if rng.random() < 0.05:
                fault = rng.choice(
                    ("invalid", "block-bad", "table-high", "af", "perm", "leaf-high")
                )
            if rng.random() < 0.02:
                # IPA beyond the stage-2 input size
                q |= 1 << rng.randrange(s2.g.iasize, 52) if s2.g.iasize < 52 else 0
                tags.add("s1-table-ipa-out-of-s2-range")
                return q, d_pa
            if s2.map_to(d_ipa, d_pa, ll, fault, tags):
                return q, d_pa
        tags.add("s2-map-conflict")
        return table_pa, g.desc_addr(table_pa, level, va)

    start_pa = alloc.take(start_bytes)
    table_in, d_pa = locate_desc(start_pa, g.start, start_bytes)
    ttbr = ttbr_encode(table_in, fmt52)
    if two_range:
        ttbr |= rng.randrange(1 << 16) << 48  # ASID
    # high bits in the TTBR
    if rng.random() < 0.06:
        if fmt52:
            ttbr |= rng.randrange(1, 16) << 2
            tags.add("ttbr-high-bits")
        else:
            ttbr |= rng.randrange(1, 16) << 2 if start_bytes <= 4 else 0
    if rng.random() < 0.03 and start_bytes > 64:
        ttbr |= 1 << rng.randrange(6, (start_bytes - 1).bit_length())
        tags.add("ttbr-misaligned")
    ttbr_name = ("TTBR1_" if upper else "TTBR0_") + ("EL2" if el2_regime else "EL1")
    regs[ttbr_name] = ttbr
    other = ("TTBR0_" if upper else "TTBR1_") + ("EL2" if el2_regime else "EL1")
    regs[other] = rng.getrandbits(48) & ~0xFFF

    level = g.start
    while True:
        is_last = level == 3
        r = rng.random()
        if is_last:
            what = "page" if r < 0.88 else ("reserved" if r < 0.94 else "invalid")
        else:
            p_block = 0.16 if level >= 1 else 0.1
            if r < p_block:
                what = "block"
            elif r < p_block + 0.025:
                what = "invalid"
            elif r < p_block + 0.045:
                what = "table-high"
            else:
                what = "table"
        if what in ("table", "table-high"):
            nxt_pa = alloc.take(1 << g.gb)
            nxt_in, nxt_d_pa = locate_desc(nxt_pa, level + 1, 1 << g.gb)
            high = 0
            if what == "table-high":
                if g.variant == "DS1":
                    high = (
                        rng.choice((1, 2, 3)) << 50
                        if rng.random() < 0.7
                        else rng.randrange(1, 4) << 48
                    )
                elif g.variant == "LPA":
                    high = rng.randrange(1, 16) << 48
                else:
                    high = rng.randrange(1, 16) << 48  # bits [51:48] not representable -> dropped
                tags.add(f"s1-table-high-{g.variant}")
            mem[d_pa] = (
                encode_oa(nxt_in | high, g.variant, g.gb) | 0b11 | _table_attrs_s1(rng, tags)
            )
            d_pa = nxt_d_pa
            level += 1
            tags.add("s1-table")
            continue
        size_bits = geo.block_size_bits(level, granule)
        oa_bits = rng.choice((g.oa_bits, g.oa_bits, g.oa_bits, 48, 52, 40, 33))
        oa = rng.getrandbits(oa_bits) & ~((1 << size_bits) - 1) if size_bits < oa_bits else 0
        if s2 is not None and op.startswith("S12") and rng.random() < 0.5:
            oa &= (1 << min(s2.g.iasize, 52)) - 1
        ha = bool(tcr & (controls.TCR2_HA if el2_single else controls.TCR_HA))
        val = encode_oa(oa, g.variant, size_bits) | _leaf_attrs_s1(rng, ds_eff, tags, ha)
        if what == "page":
            val |= 0b11
            tags.add("s1-page")
        elif what == "block":
            val |= 0b01
            tags.add(f"s1-block-L{level}" + ("" if g.block_ok(level) else "-bad"))
        elif what == "reserved":
            val |= 0b01
            tags.add("s1-reserved-l3")
        else:
            tags.add("s1-invalid")
        if oa >> 48:
            tags.add("s1-leaf-oa-high")
        mem[d_pa] = val
        # final IPA through stage 2 (S12 ops)
        if s2 is not None and op.startswith("S12"):
            ipa = oa | (va & ((1 << size_bits) - 1))
            s2.map_any(ipa, rng, tags)
            tags.add("two-stage-final")
        break
    return Gen(Scenario(op=op, va=va, regs=regs, memory=mem), tags)


_DC_OPS = ("S1E1R", "S1E1W", "S1E0R", "S1E0W", "S12E1R", "S12E1W", "S12E0R", "S12E0W")


def _gen_s2only(rng, regs, mem, alloc, tags, dc: bool = False) -> Gen:
    """Stage 1 off (SCTLR_EL1.M=0), AT S12E*: the VA is the IPA walked by stage 2. ``dc``:
    HCR_EL2.DC=1 turns stage 1 off whatever SCTLR_EL1.M and stage 2 on whatever VM, for
    every EL1&0 AT operation."""
    vtcr, s2g = _gen_vtcr(rng, tags)
    regs["VTCR_EL2"] = vtcr
    regs["SCTLR_EL1"] = 0
    regs["TCR_EL1"] = rng.getrandbits(40)
    op = rng.choice(("S12E1R", "S12E1W", "S12E0R", "S12E0W"))
    if dc:
        vm = controls.HCR_VM if rng.random() < 0.5 else 0
        regs["HCR_EL2"] |= controls.HCR_DC | vm
        regs["SCTLR_EL1"] = rng.randrange(2)
        op = rng.choice(_DC_OPS)
        tags.add(f"dc-vm{regs['HCR_EL2'] & 1}-m{regs['SCTLR_EL1']}")
    tags.add(f"op-{op}")
    if s2g is None:
        regs["VTTBR_EL2"] = alloc.take(1 << 16)
        return Gen(
            Scenario(
                op=op, va=rng.getrandbits(rng.choice((30, 40, 48, 52))), regs=regs, memory=mem
            ),
            tags,
        )
    vbase = alloc.take(s2g.table_bytes(s2g.start))
    vfmt52 = s2g.ds or (s2g.granule == 64 and ((vtcr >> VT_PS_S) & 7) == 6)
    vttbr = ttbr_encode(vbase, vfmt52) | (rng.randrange(256) << 48)
    if rng.random() < 0.06 and vfmt52:
        vttbr |= rng.randrange(1, 16) << 2
        tags.add("vttbr-high-bits")
    regs["VTTBR_EL2"] = vttbr
    ipa = rng.getrandbits(s2g.iasize)
    if rng.random() < 0.05:
        ipa |= 1 << rng.randrange(s2g.iasize, 56)
        tags.add("ipa-out-of-range")
    b = _S2Builder(s2g, vbase, mem, alloc, rng, 0)
    # walk with per-level choices (tables may carry high bits)
    level, d = s2g.start, s2g.desc_addr(vbase, s2g.start, ipa)
    g = s2g
    while True:
        r = rng.random()
        if level < 3 and r < 0.75:
            nxt = alloc.take(1 << g.gb)
            high = 0
            if rng.random() < 0.04:
                high = (
                    (rng.randrange(1, 4) << 50)
                    if g.variant == "DS1"
                    else (rng.randrange(1, 16) << 48)
                )
                tags.add(f"s2-table-high-{g.variant}")
            mem[d] = (
                encode_oa(nxt | high, g.variant, g.gb) | 0b11 | (rng.random() < 0.1) * (0xF << 59)
            )
            d = g.desc_addr(nxt, level + 1, ipa)
            level += 1
            tags.add("s2-table")
            continue
        break
    size_bits = geo.block_size_bits(level, g.granule)
    oa = rng.getrandbits(rng.choice((g.oa_bits, 48, 52, 40))) & ~((1 << size_bits) - 1)
    kind = 0b11 if level == 3 else 0b01
    if level < 3:
        tags.add(f"s2-block-L{level}" + ("" if g.block_ok(level) else "-bad"))
    else:
        tags.add("s2-page")
    if rng.random() < 0.05:
        kind = 0b01 if level == 3 else 0
        tags.add("s2-reserved-or-invalid")
    fwb = bool(regs["HCR_EL2"] & controls.HCR_FWB)
    mem[d] = (
        encode_oa(oa, g.variant, size_bits) | kind | _s2_leaf_attrs(rng, g.ds, fwb=fwb, tags=tags)
    )
    del b
    return Gen(Scenario(op=op, va=ipa, regs=regs, memory=mem), tags)


def generate(seed: int, count: int) -> list[Gen]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        g = gen_one(random.Random(rng.getrandbits(64)))
        g.scenario.name = f"gen-{seed}-{i}"
        out.append(g)
    return out


__all__ = ["Gen", "generate", "encode_oa", "ttbr_encode", "RAM_END"]
