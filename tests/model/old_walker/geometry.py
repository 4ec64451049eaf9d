"""Pure functions describing translation-table geometry (granules, levels, sizes).

The walker uses these, and so can the UI: one source of truth for the arithmetic.
Levels run from -1 to 3 (64-bit descriptors; FEAT_D128's level -2 is out of scope).
"""

from __future__ import annotations

FINAL_LEVEL = 3
GRANULE_BITS = {4: 12, 16: 14, 64: 16}
TG0_GRANULE = {0b00: 4, 0b01: 64, 0b10: 16}
TG1_GRANULE = {0b10: 4, 0b01: 16, 0b11: 64}
PS_BITS = {0b000: 32, 0b001: 36, 0b010: 40, 0b011: 42, 0b100: 44, 0b101: 48, 0b110: 52}


def granule_bits(granule_kb: int) -> int:
    return GRANULE_BITS[granule_kb]


def stride(granule_kb: int) -> int:
    return GRANULE_BITS[granule_kb] - 3


def level_shift(level: int, granule_kb: int) -> int:
    """Lowest input-address bit indexed at ``level`` (= log2 of the size one entry maps)."""
    gb = GRANULE_BITS[granule_kb]
    return gb + (gb - 3) * (FINAL_LEVEL - level)


def block_size_bits(level: int, granule_kb: int) -> int:
    """log2 of the size mapped by one entry at ``level`` (block or page size)."""
    return level_shift(level, granule_kb)


def s1_start_level(iasize: int, granule_kb: int) -> int:
    gb = GRANULE_BITS[granule_kb]
    return FINAL_LEVEL - (iasize - 1 - gb) // (gb - 3)


def index_bits(level: int, iasize: int, granule_kb: int, start_level: int) -> tuple[int, int]:
    """(hi, lo) of the input-address bits that index the table at ``level``.

    The start level takes every remaining bit up to ``iasize - 1`` (this covers stage-2
    concatenation); other levels take exactly ``stride`` bits.
    """
    lo = level_shift(level, granule_kb)
    hi = iasize - 1 if level == start_level else lo + stride(granule_kb) - 1
    return hi, lo


def index_fields(iasize: int, granule_kb: int, start_level: int) -> list[tuple[int, int, int]]:
    """[(level, hi, lo), ...] from the start level to level 3."""
    return [
        (lvl, *index_bits(lvl, iasize, granule_kb, start_level))
        for lvl in range(start_level, FINAL_LEVEL + 1)
    ]


def start_table_bits(iasize: int, granule_kb: int, start_level: int) -> int:
    """log2 of the start table size in bytes (including stage-2 concatenation)."""
    gb = GRANULE_BITS[granule_kb]
    return iasize - ((gb - 3) * (FINAL_LEVEL - start_level) + gb) + 3


def start_table_entries(iasize: int, granule_kb: int, start_level: int) -> int:
    return 1 << (start_table_bits(iasize, granule_kb, start_level) - 3)


def concatenated_tables(iasize: int, granule_kb: int, start_level: int) -> int:
    """Number of granule-sized tables making up the start table (1 if it is smaller)."""
    tb = start_table_bits(iasize, granule_kb, start_level)
    return 1 << max(0, tb - GRANULE_BITS[granule_kb])


def block_allowed(level: int, granule_kb: int, ds: bool, pamax: int = 48) -> bool:
    """May a block descriptor appear at ``level`` (AArch64.BlockDescSupported)?

    ``ds`` is the effective DS for 4KB/16KB; for 64KB level 1 needs PAMax >= 52.
    """
    if granule_kb == 4:
        return level in (1, 2) or (level == 0 and ds)
    if granule_kb == 16:
        return level == 2 or (level == 1 and ds)
    return level == 2 or (level == 1 and pamax >= 52)


def block_levels(granule_kb: int, ds: bool, pamax: int = 48) -> list[int]:
    return [lvl for lvl in range(-1, 3) if block_allowed(lvl, granule_kb, ds, pamax)]


def contiguous_entries(level: int, granule_kb: int) -> int:
    if granule_kb == 4:
        return 16
    if granule_kb == 16:
        return 32 if level == 2 else 128
    return 32


def contiguous_ignored(level: int, granule_kb: int) -> bool:
    """The contiguous bit is treated as 0 at the block levels added by LPA/LPA2."""
    return (granule_kb == 4 and level == 0) or (granule_kb in (16, 64) and level == 1)


def min_txsz_s1(granule_kb: int, ds: bool, lva: bool) -> int:
    if granule_kb == 64:
        return 12 if lva else 16
    return 12 if ds else 16


def max_txsz(granule_kb: int, ttst: bool) -> int:
    if not ttst:
        return 39
    return 47 if granule_kb == 64 else 48


def min_txsz_s2(granule_kb: int, ds: bool, pamax: int, lpa: bool) -> int:
    """AArch64.S2MinTxSZ (AArch64 stage 1)."""
    ips = min(pamax, 48) if lpa and granule_kb != 64 and not ds else min(pamax, 52)
    return 64 - ips


def ps_bits(ps: int) -> int:
    """Decoded IPS/PS value (reserved encodings behave as 52 here, capped by the caller)."""
    return PS_BITS.get(ps, 52)


def effective_oa_bits(ps: int, granule_kb: int, pamax: int, lpa: bool, lpa2: bool) -> int:
    """AArch64.PhysicalAddressSize: PS decoded, capped at PAMax and at 48 unless the granule
    can express 52-bit addresses (64KB with FEAT_LPA, 4KB/16KB with FEAT_LPA2)."""
    wide = (granule_kb == 64 and lpa) or (granule_kb != 64 and lpa2)
    cap = min(52 if wide else 48, pamax)
    return min(ps_bits(ps), cap)


# -- stage 2 -------------------------------------------------------------------------------


def s2_start_level(granule_kb: int, sl0: int, sl2: int = 0) -> int | None:
    """AArch64.S2StartLevel; None for encodings with no start level."""
    if granule_kb == 4:
        if sl2:
            return -1 if sl0 == 0 else None
        return {0: 2, 1: 1, 2: 0, 3: 3}[sl0]
    if granule_kb == 16:
        return {0: 3, 1: 2, 2: 1, 3: 0}[sl0]
    return {0: 3, 1: 2, 2: 1}.get(sl0)


def s2_invalid_sl(
    granule_kb: int, sl0: int, sl2: int, ds: bool, pamax: int, ttst: bool
) -> str | None:
    """AArch64.S2InvalidSL: a reason string if the SL0/SL2 encoding is invalid, else None."""
    if granule_kb == 4:
        if sl2 and sl0 != 0:
            return "SL2=1 needs SL0=0b00"
        if not sl2 and sl0 == 2 and pamax < 44:
            return "SL0=0b10 (level 0) needs a PA size of at least 44 bits"
        if not sl2 and sl0 == 3 and not ttst:
            return "SL0=0b11 (level 3) needs FEAT_TTST"
        return None
    if granule_kb == 16:
        if sl0 == 3 and not ds:
            return "SL0=0b11 (level 0) with 16KB needs DS=1"
        if sl0 == 2 and pamax < 42:
            return "SL0=0b10 (level 1) needs a PA size of at least 42 bits"
        return None
    if sl0 == 3:
        return "SL0=0b11 is reserved with 64KB"
    if sl0 == 2 and pamax < 44:
        return "SL0=0b10 (level 1) needs a PA size of at least 44 bits"
    return None


def s2_iasize_range(granule_kb: int, start_level: int) -> tuple[int, int]:
    """(min, max) IPA sizes consistent with a stage-2 start level (AArch64.S2InconsistentSL),
    capped at 52 bits."""
    gb = GRANULE_BITS[granule_kb]
    st = gb - 3
    levels = FINAL_LEVEL - start_level
    lo = levels * st + gb + 1
    hi = lo + (st - 1) + 4
    return lo, min(hi, 52)


def s2_t0sz_range(granule_kb: int, start_level: int) -> tuple[int, int]:
    """(min, max) VTCR_EL2.T0SZ consistent with a start level (before the TxSZ limits)."""
    lo, hi = s2_iasize_range(granule_kb, start_level)
    return 64 - hi, 64 - lo


def s2_inconsistent_sl(iasize: int, granule_kb: int, start_level: int) -> bool:
    gb = GRANULE_BITS[granule_kb]
    st = gb - 3
    lo = (FINAL_LEVEL - start_level) * st + gb + 1
    hi = lo + (st - 1) + 4
    return iasize < lo or iasize > hi


def s2_max_concatenation(granule_kb: int, start_level: int) -> int:
    """Most concatenated tables usable at a start level (capped by the 52-bit IPA limit)."""
    _, hi = s2_iasize_range(granule_kb, start_level)
    return concatenated_tables(hi, granule_kb, start_level)


def granule_table(granule_kb: int, iasize: int, start_level: int | None = None) -> list[dict]:
    """Rows describing each level for the UI: index bits, entry size, block legality."""
    if start_level is None:
        start_level = s1_start_level(iasize, granule_kb)
    rows = []
    for lvl, hi, lo in index_fields(iasize, granule_kb, start_level):
        rows.append(
            {
                "level": lvl,
                "index_hi": hi,
                "index_lo": lo,
                "entries": 1 << (hi - lo + 1),
                "entry_size_bits": block_size_bits(lvl, granule_kb),
            }
        )
    return rows
