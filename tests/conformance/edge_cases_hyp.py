"""Hand-written edge cases for the hypervisor controls and hardware updates: HCR_EL2.DC, PTW,
FWB and CD, FEAT_HAFDBS at both stages (the Access flag and dirty state written through
stage 2), and one minimal example per deviation rule they brought.

Every case is one small two-stage set-up: a 4KB stage 1 of three levels (T0SZ=25, start
level 1) whose tables live in one gigabyte that stage 2 maps flat with a level-1 block
(``table_page``: its S2AP, AF, DBM, MemAttr), and the output IPA in another gigabyte mapped
flat the same way (``out_page``). ``arch_pa``/``arch_fst`` are the architecture's answers,
checked against the model as well as QEMU (test_conformance.py).
"""

from __future__ import annotations

from edge_cases import Edge
from qemu_runner import Scenario

T = 0x7400_0000  # stage-1 tables (gigabyte 1)
S2 = 0x7500_0000  # stage-2 level-1 table
OUT = 0x8000_0000  # output IPA = PA (gigabyte 2)
VA = 0x1234_5000
MAIR = 0x44_0C_04_FF  # Attr0 Normal WB, Attr1 nGnRE, Attr2 GRE, Attr3 NC

HCR_VM, HCR_PTW, HCR_DC, HCR_RW = 1 << 0, 1 << 2, 1 << 12, 1 << 31
HCR_CD, HCR_FWB = 1 << 32, 1 << 46
TCR_HA, TCR_HD = 1 << 39, 1 << 40
VTCR_HA, VTCR_HD = 1 << 21, 1 << 22
AF, DBM, AP2 = 1 << 10, 1 << 51, 1 << 7
S2AP_RW, S2AP_RO = 0b11 << 6, 0b01 << 6
WB, DEVICE = 0b1111 << 2, 0b0000 << 2  # stage-2 MemAttr (FWB=0)


def _s2_block(gigabyte: int, attrs: int) -> int:
    return (gigabyte << 30) | 0b01 | (0b11 << 8) | attrs


def _scenario(
    name: str,
    op: str = "S1E1R",
    hcr: int = HCR_RW | HCR_VM,
    tcr_extra: int = 0,
    vtcr_extra: int = 0,
    leaf_extra: int = AF,
    table_page: int = AF | S2AP_RW | WB,
    out_page: int = AF | S2AP_RW | WB,
    sctlr: int = 1,
    va: int = VA,
) -> Scenario:
    tcr = 25 | (1 << 8) | (1 << 10) | (0b11 << 12) | (0b101 << 32) | (1 << 23) | tcr_extra
    vtcr = 25 | (0b01 << 6) | (0b101 << 16) | (1 << 31) | (0b11 << 12) | (1 << 8) | (1 << 10)
    mem = {
        T + ((va >> 30) & 0x1FF) * 8: (T + 0x1000) | 0b11,
        T + 0x1000 + ((va >> 21) & 0x1FF) * 8: (T + 0x2000) | 0b11,
        T + 0x2000 + ((va >> 12) & 0x1FF) * 8: OUT | 0b11 | (0b11 << 8) | leaf_extra,
        S2 + (T >> 30) * 8: _s2_block(T >> 30, table_page),
        S2 + (OUT >> 30) * 8: _s2_block(OUT >> 30, out_page),
    }
    regs = {
        "HCR_EL2": hcr,
        "TCR_EL1": tcr,
        "TTBR0_EL1": T,
        "MAIR_EL1": MAIR,
        "SCTLR_EL1": sctlr,
        "VTCR_EL2": vtcr | vtcr_extra,
        "VTTBR_EL2": S2,
    }
    return Scenario(op, va, regs, mem, name)


def build() -> list[Edge]:
    ro_tables = AF | S2AP_RO | WB
    out = [
        # HCR_EL2.DC=1: stage 1 off whatever SCTLR_EL1.M (flat, Normal WB: PA = VA); for
        # AT S12E1R stage 2 on whatever VM.
        Edge(_scenario("dc-m1-s1e1r", hcr=HCR_RW | HCR_DC, va=OUT | 0x5000), arch_pa=OUT | 0x5000),
        Edge(
            _scenario("dc-vm0-s12e1r", "S12E1R", hcr=HCR_RW | HCR_DC, va=OUT | 0x5000),
            arch_pa=OUT | 0x5000,
        ),
        # DC with stage 2 faulting: the IPA's gigabyte is not mapped -> stage-2 Translation
        # fault at level 1 (stage 2 is on although VM=0).
        Edge(
            _scenario("dc-vm0-s12e1r-unmapped", "S12E1R", hcr=HCR_RW | HCR_DC, va=0xC000_0000),
            arch_fst=0x05,
        ),
        # HCR_EL2.PTW=1, stage 2 maps the stage-1 tables as Device: stage-2 Permission fault
        # at the stage-2 leaf level (1), S1PTW.
        Edge(
            _scenario("ptw-device-tables", hcr=HCR_RW | HCR_VM | HCR_PTW, table_page=AF | S2AP_RW),
            arch_fst=0x0D,
        ),
        # The same tables without PTW: the walk succeeds.
        Edge(_scenario("ptw0-device-tables", table_page=AF | S2AP_RW), arch_pa=OUT),
        # HA=1, leaf AF=0: the AF update is a write through stage 2, which maps the tables
        # read-only: stage-2 Permission fault (level 1) on the stage-1 walk, even for AT.
        Edge(
            _scenario(
                "hw-af-tables-read-only", tcr_extra=TCR_HA, leaf_extra=0, table_page=ro_tables
            ),
            arch_fst=0x0D,
        ),
        # ... and succeeds when stage 2 lets the table page be marked dirty (DBM, HA/HD).
        Edge(
            _scenario(
                "hw-af-tables-dbm",
                tcr_extra=TCR_HA,
                vtcr_extra=VTCR_HA | VTCR_HD,
                leaf_extra=0,
                table_page=ro_tables | DBM,
            ),
            arch_pa=OUT,
        ),
        # DBM=1, AP[2]=1, AF=1 with HA=HD=1 and AT S1E1W: the write is permitted and AT marks
        # nothing dirty, so there is no write through the read-only stage 2.
        Edge(
            _scenario(
                "hw-dirty-at-s1e1w",
                "S1E1W",
                tcr_extra=TCR_HA | TCR_HD,
                leaf_extra=AF | DBM | AP2,
                table_page=ro_tables,
            ),
            arch_pa=OUT,
        ),
        # Stage-2 table page with AF=0: an Access flag fault at stage 2 (S1PTW) without
        # VTCR_EL2.HA, none with it.
        Edge(_scenario("hw-s2-table-af0", table_page=S2AP_RW | WB), arch_fst=0x09),
        Edge(
            _scenario("hw-s2-table-af0-ha", vtcr_extra=VTCR_HA, table_page=S2AP_RW | WB),
            arch_pa=OUT,
        ),
        # Final stage 2 read-only with DBM=1 and VTCR_EL2.HA=HD=1: AT S12E1W is permitted.
        Edge(
            _scenario(
                "hw-s2-final-dbm",
                "S12E1W",
                vtcr_extra=VTCR_HA | VTCR_HD,
                out_page=AF | S2AP_RO | WB | DBM,
            ),
            arch_pa=OUT,
        ),
        Edge(
            _scenario("hw-s2-final-ro", "S12E1W", out_page=AF | S2AP_RO | WB),
            arch_fst=0x0D,
        ),
        # --- one minimal example per deviation rule
        # fwb-device-stage2-type: stage 1 Device-nGnRE (Attr1), FWB MemAttr 0b0011 (GRE):
        # the architecture keeps nGnRE.
        Edge(
            _scenario(
                "dev-fwb-device-type",
                "S12E1R",
                hcr=HCR_RW | HCR_VM | HCR_FWB,
                leaf_extra=AF | (1 << 2),
                table_page=AF | S2AP_RW | (0b0111 << 2),
                out_page=AF | S2AP_RW | (0b0011 << 2),
            ),
            arch_pa=OUT,
        ),
        # fwb-ignores-cd: FWB MemAttr 0b0111 (stage 1's WB) with CD=1: Non-cacheable.
        Edge(
            _scenario(
                "dev-fwb-cd",
                "S12E1R",
                hcr=HCR_RW | HCR_VM | HCR_FWB | HCR_CD,
                table_page=AF | S2AP_RW | (0b0111 << 2),
                out_page=AF | S2AP_RW | (0b0111 << 2),
            ),
            arch_pa=OUT,
        ),
        # at-marks-dirty: the hw-dirty-at-s1e1w case, with the leaf's AF set.
        Edge(
            _scenario(
                "dev-at-marks-dirty",
                "S12E1W",
                tcr_extra=TCR_HA | TCR_HD,
                leaf_extra=AF | DBM | AP2,
                table_page=ro_tables,
            ),
            arch_pa=OUT,
        ),
        # ptw-without-stage2: PTW=1 with VM=0: no stage 2, so nothing to check.
        Edge(_scenario("dev-ptw-no-stage2", hcr=HCR_RW | HCR_PTW), arch_pa=OUT),
        # ptw-fault-level-0 (8.2 and later): the PTW fault above, at stage-2 level 1.
        Edge(
            _scenario("dev-ptw-level", hcr=HCR_RW | HCR_VM | HCR_PTW, table_page=AF | S2AP_RW),
            arch_fst=0x0D,
        ),
    ]
    return out


def attr_expectations() -> dict[str, int]:
    """PAR.ATTR the architecture gives for the attribute edge cases (checked on the model)."""
    return {
        "dc-m1-s1e1r": 0xFF,
        "dc-vm0-s12e1r": 0xFF,
        "dev-fwb-device-type": 0x04,
        "dev-fwb-cd": 0x44,
        "ptw0-device-tables": 0xFF,
    }
