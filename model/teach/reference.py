"""Geometry reference tables, generated from ``model.geometry`` - never typed by hand.

Stage 1: for every granule x feature mode (4KB/16KB with DS=0 or DS=1; 64KB without or with
FEAT_LPA/FEAT_LVA) and a set of input sizes covering every start level, the start level,
the index bits per level, the start table (entries, bytes, alignment) and the block size per
level where a block is allowed.

Stage 2: for every granule x mode x SL0/SL2 encoding, the start level, the legal T0SZ range,
the IPA sizes and the concatenation counts; a row per boundary IPA size.

Every row carries a ``Configuration`` that walks a sample address with exactly those
settings, so the page can link it into the explorer and the tests can check the table
against the walker.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache

from model.arch import geometry as geo
from model.arch.fields import TCR_EL1, VTCR_EL2
from model.explore.configs import CONFIG_PRESETS, Configuration

SAMPLE = 0x000F_1234_5678_9ABC
LEVELS = (-1, 0, 1, 2, 3)


@dataclass(frozen=True)
class Mode:
    slug: str
    granule: int
    title: str
    ds: bool
    wide: bool  # 52-bit capable (DS=1 or 64KB with LPA/LVA)
    cpu: str


MODES = (
    Mode("4k-ds0", 4, "4KB, DS=0", False, False, "max"),
    Mode("4k-ds1", 4, "4KB, DS=1 (FEAT_LPA2)", True, True, "max"),
    Mode("16k-ds0", 16, "16KB, DS=0", False, False, "max"),
    Mode("16k-ds1", 16, "16KB, DS=1 (FEAT_LPA2)", True, True, "max"),
    Mode("64k", 64, "64KB, no FEAT_LPA/LVA", False, False, "v8-48bit"),
    Mode("64k-lpa", 64, "64KB, FEAT_LPA + FEAT_LVA", False, True, "lpa-lva"),
)

_TG0 = {4: 0b00, 16: 0b10, 64: 0b01}


def _size(bits: int) -> str:
    units = ((50, "PB"), (40, "TB"), (30, "GB"), (20, "MB"), (10, "KB"))
    for shift, unit in units:
        if bits >= shift:
            return f"{1 << (bits - shift)}{unit}"
    return f"{1 << bits}B"


@dataclass
class Stage1Row:
    mode: Mode
    iasize: int
    txsz: int
    start_level: int
    index: dict[int, tuple[int, int]]
    entries: int
    table_bytes: int
    align: int
    blocks: dict[int, str]
    config: Configuration = field(repr=False)

    @property
    def levels_read(self) -> int:
        return 3 - self.start_level + 1


@dataclass
class Stage2Row:
    mode: Mode
    sl0: int
    sl2: int
    start_level: int
    t0sz_range: tuple[int, int]
    iasize: int
    t0sz: int
    index: dict[int, tuple[int, int]]
    concatenated: int
    entries: int
    align: int
    invalid: str | None
    config: Configuration | None = field(repr=False)


def _input_sizes(mode: Mode) -> list[int]:
    top = 52 if mode.wide else 48
    sizes = {25, top}
    # the smallest and largest input size of every start level, down to TxSZ = 39
    by_level: dict[int, list[int]] = {}
    for iasize in range(25, top + 1):
        by_level.setdefault(geo.s1_start_level(iasize, mode.granule), []).append(iasize)
    for sizes_at in by_level.values():
        sizes.update((min(sizes_at), max(sizes_at)))
    sizes.update(s for s in (39, 42, 47, 48) if s <= top)
    return sorted(sizes)


def _s1_config(mode: Mode, iasize: int) -> Configuration:
    base = CONFIG_PRESETS["4k-48"]
    tcr = TCR_EL1.set(base.registers["TCR_EL1"], "T0SZ", 64 - iasize)
    tcr = TCR_EL1.set(tcr, "TG0", _TG0[mode.granule])
    tcr = TCR_EL1.set(tcr, "DS", int(mode.ds))
    tcr = TCR_EL1.set(tcr, "IPS", 0b110 if mode.wide else 0b101)
    return replace(
        base.with_registers(TCR_EL1=tcr, TTBR0_EL1=0x4120_0000),
        slug="4k-48",
        title=f"{mode.title}, {iasize}-bit input",
        cpu=mode.cpu,
        address=SAMPLE & ((1 << iasize) - 1),
    ).refilled()


@cache
def stage1_rows() -> tuple[Stage1Row, ...]:
    rows = []
    for mode in MODES:
        g = mode.granule
        pamax = 52 if mode.wide else 48
        for iasize in _input_sizes(mode):
            start = geo.s1_start_level(iasize, g)
            tbits = geo.start_table_bits(iasize, g, start)
            fmt52 = mode.wide
            align = max(tbits, 6) if fmt52 else tbits
            blocks = {
                lvl: _size(geo.block_size_bits(lvl, g))
                for lvl in range(start, 3)
                if geo.block_allowed(lvl, g, mode.ds, pamax)
            }
            rows.append(
                Stage1Row(
                    mode,
                    iasize,
                    64 - iasize,
                    start,
                    {lvl: (hi, lo) for lvl, hi, lo in geo.index_fields(iasize, g, start)},
                    geo.start_table_entries(iasize, g, start),
                    1 << tbits,
                    1 << align,
                    blocks,
                    _s1_config(mode, iasize),
                )
            )
    return tuple(rows)


S2_MODES = (MODES[0], MODES[1], MODES[2], MODES[3], MODES[5])


def _sl_encodings(mode: Mode) -> list[tuple[int, int]]:
    encodings = [(sl0, 0) for sl0 in range(4)]
    if mode.granule == 4 and mode.ds:
        encodings.append((0, 1))
    return encodings


def _s2_config(mode: Mode, iasize: int, sl0: int, sl2: int, concat: int) -> Configuration:
    base = CONFIG_PRESETS["s2-52-concat16"]
    vtcr = VTCR_EL2.encode(
        T0SZ=64 - iasize,
        SL0=sl0,
        SL2=sl2,
        TG0=_TG0[mode.granule],
        PS=0b110 if mode.wide else 0b101,
        DS=int(mode.ds),
        IRGN0=1,
        ORGN0=1,
        SH0=0b11,
    )
    return replace(
        base.with_registers(VTCR_EL2=vtcr, VTTBR_EL2=0x8000_0000),
        slug="s2-52-concat16",
        title=f"Stage 2, {mode.title}, SL0={sl0:#04b} SL2={sl2}, {iasize}-bit IPA",
        cpu=mode.cpu,
        address=SAMPLE & ((1 << iasize) - 1),
    ).refilled()


@cache
def stage2_rows() -> tuple[Stage2Row, ...]:
    rows = []
    for mode in S2_MODES:
        g = mode.granule
        pamax = 52 if mode.wide else 48
        tmin = geo.min_txsz_s2(g, mode.ds, pamax, lpa=mode.wide)
        tmax = geo.max_txsz(g, ttst=mode.cpu != "v8-48bit")
        for sl0, sl2 in _sl_encodings(mode):
            start = geo.s2_start_level(g, sl0, sl2)
            invalid = geo.s2_invalid_sl(g, sl0, sl2, mode.ds, pamax, mode.cpu != "v8-48bit")
            if start is None:
                invalid = invalid or "reserved encoding"
            if invalid:
                rows.append(
                    Stage2Row(
                        mode,
                        sl0,
                        sl2,
                        start if start is not None else 0,
                        (0, 0),
                        0,
                        0,
                        {},
                        0,
                        0,
                        0,
                        invalid,
                        None,
                    )
                )
                continue
            assert start is not None  # an encoding without a start level is invalid
            lo_t, hi_t = geo.s2_t0sz_range(g, start)
            lo_t, hi_t = max(lo_t, tmin), min(hi_t, tmax)
            if lo_t > hi_t:
                rows.append(
                    Stage2Row(
                        mode,
                        sl0,
                        sl2,
                        start,
                        (lo_t, hi_t),
                        0,
                        0,
                        {},
                        0,
                        0,
                        0,
                        "no T0SZ is legal for this start level in this mode",
                        None,
                    )
                )
                continue
            for t0sz in sorted({lo_t, hi_t}, reverse=True):
                iasize = 64 - t0sz
                concat = geo.concatenated_tables(iasize, g, start)
                tbits = geo.start_table_bits(iasize, g, start)
                align = max(tbits, 6) if mode.wide else tbits
                rows.append(
                    Stage2Row(
                        mode,
                        sl0,
                        sl2,
                        start,
                        (lo_t, hi_t),
                        iasize,
                        t0sz,
                        {lvl: (hi, lo) for lvl, hi, lo in geo.index_fields(iasize, g, start)},
                        concat,
                        geo.start_table_entries(iasize, g, start),
                        1 << align,
                        None,
                        _s2_config(mode, iasize, sl0, sl2, concat),
                    )
                )
    return tuple(rows)


def level_columns(rows) -> list[int]:
    """The levels that appear in any row (for table headers)."""
    return [lvl for lvl in LEVELS if any(lvl in r.index for r in rows)]


def byte_size(n: int) -> str:
    return _size(n.bit_length() - 1) if n and not n & (n - 1) else f"{n}B"
