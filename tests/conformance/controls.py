"""The hypervisor controls and hardware-update features the generator mixes into scenarios,
and a systematic sweep of two-stage memory attributes.

* HCR_EL2.DC (with and without VM, SCTLR_EL1.M 0 or 1, every EL1&0 AT operation),
  HCR_EL2.FWB, CD and PTW;
* FEAT_HAFDBS: TCR_ELx.HA/HD and VTCR_EL2.HA/HD, DBM in stage-1 and stage-2 leaves, and
  stage-2 mappings of stage-1 table pages that are read-only, have AF=0, DBM=1 or are
  Device memory (for HCR_EL2.PTW);
* ``attribute_sweep()``: every stage-1 MAIR attribute of the generator against every
  stage-2 MemAttr, with FWB=0 and FWB=1, with and without CD, by AT S12E1R.

Bit positions are written out here from the register descriptions (HCR_EL2: VM 0, PTW 2,
DC 12, CD 32, FWB 46; TCR_EL1 HA 39, HD 40; TCR_EL2 (E2H=0) and VTCR_EL2 HA 21, HD 22;
descriptor DBM 51, AF 10, S2AP [7:6], MemAttr [5:2]), not taken from ``model.fields``.
"""

from __future__ import annotations

import random

from qemu_runner import Scenario

HCR_VM, HCR_PTW, HCR_DC, HCR_RW = 1 << 0, 1 << 2, 1 << 12, 1 << 31
HCR_CD, HCR_FWB = 1 << 32, 1 << 46
TCR_HA, TCR_HD = 1 << 39, 1 << 40  # TCR_EL1, TCR_EL2 with E2H=1
TCR2_HA, TCR2_HD = 1 << 21, 1 << 22  # TCR_EL2 with E2H=0
VTCR_HA, VTCR_HD = 1 << 21, 1 << 22
DBM = 1 << 51
AF = 1 << 10

# Stage-2 MemAttr values with FWB=1 that are not reserved (MemAttr[3] is RES0, 0b100 reserved).
FWB_MEMATTRS = (0b0000, 0b0001, 0b0010, 0b0011, 0b0101, 0b0110, 0b0111)
# With FWB=0: Device types and Normal inner/outer NC, WT, WB (0bxx00 with xx != 00 reserved).
NOFWB_MEMATTRS = tuple(m for m in range(16) if not (m >> 2 and not m & 3))
MAIR_BYTES = (0xFF, 0x00, 0x04, 0x44, 0xBB, 0x4F, 0x0C, 0x77)


def hcr_controls(rng: random.Random, kind: str, tags: set) -> int:
    """HCR_EL2 bits besides VM/E2H/TGE/RW for a scenario of ``kind``."""
    hcr = 0
    two_stage = kind in ("el10_s2", "s2only", "dc")
    if rng.random() < (0.35 if two_stage else 0.1):
        hcr |= HCR_FWB
        tags.add("hcr-fwb")
    if rng.random() < (0.12 if two_stage else 0.05):
        hcr |= HCR_CD
        tags.add("hcr-cd")
    if rng.random() < (0.25 if two_stage else 0.05):
        hcr |= HCR_PTW
        tags.add("hcr-ptw")
    if kind in ("el10", "el10_s2") and rng.random() < 0.05:
        hcr |= HCR_DC
        tags.add("hcr-dc-over-s1-tables")
    return hcr


def tcr_hafdbs(rng: random.Random, el2_single: bool, tags: set) -> int:
    """TCR HA/HD for a stage-1 walk (the E2H=0 TCR_EL2 has them at bits 21/22)."""
    r = rng.random()
    if r < 0.6:
        return 0
    ha, hd = (TCR2_HA, TCR2_HD) if el2_single else (TCR_HA, TCR_HD)
    if r < 0.75:
        tags.add("s1-ha")
        return ha
    tags.add("s1-ha-hd")
    return ha | hd


def vtcr_hafdbs(rng: random.Random, tags: set) -> int:
    r = rng.random()
    if r < 0.5:
        return 0
    if r < 0.65:
        tags.add("s2-ha")
        return VTCR_HA
    tags.add("s2-ha-hd")
    return VTCR_HA | VTCR_HD


def s1_leaf_hafdbs(rng: random.Random, ha: bool, tags: set) -> tuple[int, bool]:
    """(DBM bit to add, whether to clear AF) for a stage-1 leaf."""
    dbm = DBM if rng.random() < 0.3 else 0
    if dbm:
        tags.add("s1-dbm")
    clear_af = ha and rng.random() < 0.3
    return dbm, clear_af


def s2_memattr(rng: random.Random, fwb: bool, default: int) -> int:
    """A stage-2 MemAttr that is not reserved under ``fwb``."""
    if not fwb:
        return default
    return rng.choice(FWB_MEMATTRS)


def table_page_attrs(rng: random.Random, base: int, fwb: bool, tags: set) -> int:
    """The stage-2 attributes of the pages holding stage-1 tables: ``base`` (RW, AF=1), made
    read-only, AF=0, DBM=1 or Device memory now and then."""
    v = base
    if rng.random() < 0.2:
        v = (v & ~(0b11 << 6)) | (0b01 << 6)  # S2AP read-only
        tags.add("s2-table-page-ro")
    if rng.random() < 0.12:
        v &= ~AF
        tags.add("s2-table-page-af0")
    if rng.random() < 0.2:
        v |= DBM
        tags.add("s2-table-page-dbm")
    memattr = (v >> 2) & 0xF
    if rng.random() < 0.15:
        memattr = rng.randrange(4)  # Device at stage 2 (FWB and not)
        tags.add("s2-table-page-device")
    elif fwb:
        memattr = rng.choice(FWB_MEMATTRS[4:])
    return (v & ~(0xF << 2)) | (memattr << 2)


def s2_leaf_dbm(rng: random.Random, tags: set) -> int:
    if rng.random() < 0.25:
        tags.add("s2-dbm")
        return DBM
    return 0


# ------------------------------------------------------------------ the attribute sweep
_SWEEP_T = 0x7000_0000  # stage-1 tables (three 4KB tables)
_SWEEP_S2 = 0x7100_0000  # stage-2 level-1 table (IPA 0..2^39 in 1GB blocks)
_SWEEP_OUT = 0x8000_0000  # the stage-1 output IPA (and, mapped flat, the PA)


def _sweep_scenario(attr_index: int, memattr: int, fwb: bool, cd: bool) -> Scenario:
    """AT S12E1R of a 4KB 3-level stage 1 (T0SZ=25, start level 1) whose page uses MAIR
    entry ``attr_index``, over a 1GB-block stage 2 whose output block has ``memattr``."""
    va = 0x1234_5000
    tcr = 25 | (1 << 8) | (1 << 10) | (0b11 << 12) | (0b101 << 32) | (1 << 23)
    mem = {}
    l1 = _SWEEP_T + ((va >> 30) & 0x1FF) * 8
    l2 = _SWEEP_T + 0x1000 + ((va >> 21) & 0x1FF) * 8
    l3 = _SWEEP_T + 0x2000 + ((va >> 12) & 0x1FF) * 8
    mem[l1] = (_SWEEP_T + 0x1000) | 0b11
    mem[l2] = (_SWEEP_T + 0x2000) | 0b11
    mem[l3] = _SWEEP_OUT | 0b11 | AF | (attr_index << 2) | (0b11 << 8)
    # Stage 2: the tables' gigabyte Normal Write-Back RW (identity), the output's with memattr.
    tables_gb = _SWEEP_T >> 30
    s2_rw = 0b01 | AF | (0b11 << 6) | (0b11 << 8)
    table_memattr = 0b0111 if fwb else 0b1111
    mem[_SWEEP_S2 + tables_gb * 8] = (tables_gb << 30) | s2_rw | (table_memattr << 2)
    out_gb = _SWEEP_OUT >> 30
    mem[_SWEEP_S2 + out_gb * 8] = (out_gb << 30) | s2_rw | (0b10 << 8) | (memattr << 2)
    mair = sum(b << (8 * i) for i, b in enumerate(MAIR_BYTES))
    vtcr = 25 | (0b01 << 6) | (0b101 << 16) | (1 << 31) | (0b11 << 12) | (1 << 8) | (1 << 10)
    hcr = HCR_RW | HCR_VM | (HCR_FWB if fwb else 0) | (HCR_CD if cd else 0)
    regs = {
        "HCR_EL2": hcr,
        "TCR_EL1": tcr,
        "TTBR0_EL1": _SWEEP_T,
        "MAIR_EL1": mair,
        "SCTLR_EL1": 1,
        "VTCR_EL2": vtcr,
        "VTTBR_EL2": _SWEEP_S2,
    }
    name = f"attrs-s1-{MAIR_BYTES[attr_index]:02x}-s2-{memattr:04b}-fwb{int(fwb)}-cd{int(cd)}"
    return Scenario("S12E1R", va, regs, mem, name)


def attribute_sweep() -> list[Scenario]:
    """Every stage-1 attribute x stage-2 MemAttr pair, FWB 0/1 x CD 0/1; with HCR_EL2.DC=1
    (stage 1 off: Normal Write-Back) against every stage-2 MemAttr too."""
    out = []
    for fwb in (False, True):
        for cd in (False, True):
            for memattr in FWB_MEMATTRS if fwb else NOFWB_MEMATTRS:
                for index in range(len(MAIR_BYTES)):
                    out.append(_sweep_scenario(index, memattr, fwb, cd))
                s = _sweep_scenario(0, memattr, fwb, cd)
                s.regs["HCR_EL2"] |= HCR_DC
                s.regs["SCTLR_EL1"] = 0
                s.va = _SWEEP_OUT | 0x123
                s.name = f"attrs-dc-s2-{memattr:04b}-fwb{int(fwb)}-cd{int(cd)}"
                out.append(s)
    return out
