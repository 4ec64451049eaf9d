"""Hand-written edge cases run on every conformance run.

* The fact sheet's worked examples (lpa2-facts.md section 10). Their table addresses lie
  above guest RAM, so for QEMU the *tables* are relocated into TABLE_REGION (the TTBR,
  descriptors' table pointers change; registers, VA, leaf descriptors and the final output
  address are the fact sheet's). ``FACT_SHEET_MODEL_ONLY`` keeps the exact fact-sheet
  addresses and is checked against the model alone.
* One minimal example per deviation rule (deviations.py ``Rule.example``).

``arch_pa`` / ``arch_fst`` record the architectural answer stated by the fact sheet, and
the test checks the model against it as well as against QEMU.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator import (
    AF,
    DS59,
    EL2_RES1,
    HCR_E2H,
    HCR_RW,
    HCR_TGE,
    HCR_VM,
    IPS_S,
    SH0_S,
    SH1_S,
    T1SZ_S,
    TG0_S,
    TG1_S,
    VT_DS,
    VT_PS_S,
    VT_RES1,
    VT_SL0_S,
    VT_SL2,
    encode_oa,
    ttbr_encode,
)
from qemu_runner import Scenario

from model.arch import geometry as geo

T = 0x6000_0000  # relocated tables live here (TABLE_REGION)
MAIR = 0x44_0C_04_FF  # Attr0 WB, Attr1 nGnRE, Attr2 GRE, Attr3 NC


@dataclass
class Edge:
    scenario: Scenario
    arch_pa: int | None = None  # expected PA (PAR[51:12]) if the walk succeeds
    arch_fst: int | None = None  # expected PAR.FST if it faults


def _chain(
    granule, ds, iasize, va, leaf_level, leaf, base=T, variant=None, start=None, table_bits=None
):
    """4KB/16KB/64KB stage-1 style chain: tables at base, base+64K, ...; leaf at leaf_level.
    table_bits: optional {level: extra bits ORed into that level's table descriptor}."""
    start = geo.s1_start_level(iasize, granule) if start is None else start
    gb = geo.granule_bits(granule)
    variant = variant or ("LPA" if granule == 64 else ("DS1" if ds else "DS0"))
    mem, tbl = {}, base
    for level in range(start, leaf_level + 1):
        hi, lo = geo.index_bits(level, iasize, granule, start)
        d = tbl | (((va >> lo) & ((1 << (hi - lo + 1)) - 1)) << 3)
        if level == leaf_level:
            mem[d] = leaf
        else:
            nxt = base + (level - start + 1) * 0x10000
            mem[d] = encode_oa(nxt, variant, gb) | 0b11 | (table_bits or {}).get(level, 0)
            tbl = nxt
    return mem


def _el1(op, va, tcr, ttbr, mem, name, ttbr_name="TTBR0_EL1", hcr=HCR_RW, **extra):
    regs = {
        "TCR_EL1": tcr,
        ttbr_name: ttbr,
        "MAIR_EL1": MAIR,
        "SCTLR_EL1": 1,
        "HCR_EL2": hcr,
        **extra,
    }
    return Scenario(op=op, va=va, regs=regs, memory=mem, name=name)


def _ex1(name="fs-ex1-4k-ds1-level-1", ips=0b110, ttbr_hi=0, leaf_override=None, l_1_bits=0):
    # Example 1: TCR_EL1 T0SZ=12, TG0=4KB, IPS=52, DS=1, SH0=0b11; VA 0x000F_1234_5678_9ABC.
    va = 0x000F_1234_5678_9ABC
    tcr = 12 | (0b11 << SH0_S) | (0 << TG0_S) | (ips << IPS_S) | (1 << DS59) | (1 << 23)
    leaf = 0x0042_DCBA_9876_5F47 if leaf_override is None else leaf_override
    mem = _chain(4, True, 52, va, 3, leaf, table_bits={-1: l_1_bits})
    ttbr = ttbr_encode(T, True) | (1 << 48) | (ttbr_hi << 2)
    return _el1("S1E1R", va, tcr, ttbr, mem, name)


def build() -> list[Edge]:
    out: list[Edge] = []
    # --- fact sheet example 1 (relocated): OA 0x000E_DCBA_9876_5ABC
    out.append(Edge(_ex1(), arch_pa=0x000E_DCBA_9876_5000))
    # (a) level -1 block: Translation fault level -1 (0x2B)
    s = _ex1("fs-ex1a-level-1-block")
    lvl_1 = min(s.memory)
    s.memory[lvl_1] &= ~2
    out.append(Edge(s, arch_fst=0x2B))
    # (b) IPS=48 with TTBR[5:2] != 0: Address size fault level 0 (0x00)
    out.append(Edge(_ex1("fs-ex1b-ttbr-high-ips48", ips=0b101, ttbr_hi=0x8), arch_fst=0x00))
    # (c) IPS=48, level -1 table descriptor with desc[9:8]=0b11: Address size level -1 (0x29)
    out.append(Edge(_ex1("fs-ex1c-desc98-ips48", ips=0b101, l_1_bits=0b11 << 8), arch_fst=0x29))

    # --- example 2: 16KB DS=1 TTBR1 T1SZ=12, 64GB block at L1 -> 0x000B_2344_5678_9ABC
    va = 0xFFF8_1234_5678_9ABC
    tcr = (
        (12 << T1SZ_S)
        | (0b01 << TG1_S)
        | (0b110 << IPS_S)
        | (1 << DS59)
        | (0b11 << SH1_S)
        | (1 << 7)
    )
    mem = _chain(16, True, 52, va, 1, 0x0063_2340_0000_0601)
    out.append(
        Edge(
            _el1(
                "S1E1R",
                va,
                tcr,
                ttbr_encode(T, True),
                mem,
                "fs-ex2-16k-l1-block",
                ttbr_name="TTBR1_EL1",
            ),
            arch_pa=0x000B_2344_5678_9000,
        )
    )
    # --- example 3: 64KB LPA/LVA T0SZ=12 page -> 0x000C_5555_6667_1ABC
    va = 0x000A_9876_5432_1ABC
    tcr = 12 | (0b01 << TG0_S) | (0b110 << IPS_S) | (1 << 23)
    mem = _chain(64, False, 52, va, 3, 0x0000_5555_6667_C703)
    out.append(
        Edge(
            _el1("S1E1R", va, tcr, ttbr_encode(T, True), mem, "fs-ex3-64k-lpa-page"),
            arch_pa=0x000C_5555_6667_1000,
        )
    )
    # --- example 4: stage 2, 4KB DS=1 T0SZ=12: 16 concatenated level-0 tables / SL2
    ipa = 0x000F_1234_5678_9ABC
    for sl0, sl2, nm in ((0b10, 0, "fs-ex4-s2-concat16"), (0b00, 1, "fs-ex4-s2-sl2")):
        start = -1 if sl2 else 0
        vtcr = (
            12
            | (sl0 << VT_SL0_S)
            | (0b110 << VT_PS_S)
            | VT_RES1
            | (1 << VT_DS)
            | (sl2 << VT_SL2)
            | (0b11 << SH0_S)
        )
        leaf = encode_oa(0x000D_0000_1234_5000, "DS1", 12) | 0b11 | AF | (0b11 << 6) | (0b1111 << 2)
        base = 0x6100_0000
        mem = _chain(4, True, 52, ipa, 3, leaf, base=base, start=start)
        regs = {
            "VTCR_EL2": vtcr,
            "VTTBR_EL2": ttbr_encode(base, True),
            "HCR_EL2": HCR_RW | HCR_VM,
            "SCTLR_EL1": 0,
        }
        out.append(Edge(Scenario("S12E1R", ipa, regs, mem, nm), arch_pa=0x000D_0000_1234_5000))
    # SL2=1 with SL0 != 0: invalid -> stage-2 Translation fault level 0
    regs = dict(out[-1].scenario.regs)
    regs["VTCR_EL2"] |= 0b01 << VT_SL0_S
    out.append(
        Edge(
            Scenario("S12E1R", ipa, regs, dict(out[-1].scenario.memory), "fs-ex4-s2-sl2-bad-sl0"),
            arch_fst=0x04,
        )
    )

    # --- one minimal example per deviation rule
    # high-oa-bits-ignored: DS=1, IPS=48, TTBR[5:2]=1 (table really at T)
    tcr48 = 16 | (0b101 << IPS_S) | (1 << DS59) | (1 << 23)
    va = 0x1234_5678_9000
    leaf = encode_oa(0x8_0000_0000, "DS1", 12) | 0b11 | AF
    mem = _chain(4, True, 48, va, 3, leaf)
    out.append(
        Edge(
            _el1("S1E1R", va, tcr48, ttbr_encode(T, True) | (1 << 2), mem, "dev-high-oa-ttbr"),
            arch_fst=0x00,
        )
    )
    # block-any-level: 4KB DS=0 level-0 block
    tcr4 = 16 | (0b101 << IPS_S) | (1 << 23)
    mem = _chain(4, False, 48, va, 0, 0x0000_0080_0000_0000 | AF | 0b01)
    out.append(Edge(_el1("S1E1R", va, tcr4, T, mem, "dev-block-any-level"), arch_fst=0x04))
    # s2-start-level-strict: SL2=1 (level -1) with a 49-bit IPA
    vtcr = 15 | (0b110 << VT_PS_S) | VT_RES1 | (1 << VT_DS) | (1 << VT_SL2)
    ipa = 0x1_1234_5678_9000
    leaf = encode_oa(0x4_0000_0000, "DS1", 12) | 0b11 | AF | (0b11 << 6) | (0b1111 << 2)
    mem = _chain(4, True, 49, ipa, 3, leaf, base=0x6200_0000, start=-1)
    out.append(
        Edge(
            Scenario(
                "S12E1R",
                ipa,
                {
                    "VTCR_EL2": vtcr,
                    "VTTBR_EL2": 0x6200_0000,
                    "HCR_EL2": HCR_RW | HCR_VM,
                    "SCTLR_EL1": 0,
                },
                mem,
                "dev-s2-sl2-not-52",
            ),
            arch_pa=0x4_0000_0000,
        )
    )
    # tge-e2h0-walks-el10: TGE=1, E2H=0, AT S1E1R: architecture = flat
    mem = _chain(4, False, 48, va, 3, encode_oa(0x8_0000_0000, "DS0", 12) | 0b11 | AF)
    out.append(
        Edge(_el1("S1E1R", va, tcr4, T, mem, "dev-tge-e2h0", hcr=HCR_RW | HCR_TGE), arch_pa=va)
    )
    # ttbr52-small-start-table: 4KB DS=1 T0SZ=15 (2-entry start table), TTBR[5:4] != 0
    tcr49 = 15 | (0b101 << IPS_S) | (1 << DS59) | (1 << 23)
    va49 = 0x1_0000_0000_0000 | 0x1234_5000
    mem = _chain(4, True, 49, va49, 3, encode_oa(0x9_0000_0000, "DS1", 12) | 0b11 | AF)
    # (IPS=48: the architecture faults on TTBR[5:2]; QEMU ignores them as base[51:48] but
    # TTBR[5:4] stay in the 16-byte start table's address)
    out.append(
        Edge(
            _el1(
                "S1E1R", va49, tcr49, ttbr_encode(T, True) | (0b0100 << 2), mem, "dev-ttbr52-leak"
            ),
            arch_fst=0x00,
        )
    )
    # walk-outside-ram: DS=1 IPS=52, level-0 table descriptor pointing above RAM
    tcr52 = 16 | (0b110 << IPS_S) | (1 << DS59) | (1 << 23)
    mem = _chain(4, True, 48, va, 3, 0x0)
    first = min(mem)
    mem[first] |= 0b01 << 8  # next table at +2^50
    out.append(
        Edge(
            _el1("S1E1R", va, tcr52, ttbr_encode(T, True), mem, "env-walk-outside-ram"),
            arch_fst=0x05,
        )
    )
    # s2-attr-combine-device: stage 1 Device-GRE (Attr2), stage 2 Normal NC (MemAttr 0b0101)
    vtcr = 24 | (0b01 << VT_SL0_S) | (0b101 << VT_PS_S) | VT_RES1
    va = 0x1234_5000
    s1leaf = encode_oa(0x4000_0000, "DS0", 12) | 0b11 | AF | (2 << 2)
    mem = _chain(4, False, 48, va, 3, s1leaf)
    # identity-map the stage-1 tables (T..T+0x40000) and the output with 2MB/1GB blocks
    s2base = 0x6300_0000
    s2 = {}
    for ipa_blk in (T & ~((1 << 30) - 1), 0x4000_0000):
        s2[s2base + ((ipa_blk >> 30) << 3)] = ipa_blk | 0b01 | AF | (0b11 << 6) | (0b0101 << 2)
    mem.update(s2)
    regs = {
        "TCR_EL1": tcr4,
        "TTBR0_EL1": T,
        "MAIR_EL1": MAIR,
        "SCTLR_EL1": 1,
        "HCR_EL2": HCR_RW | HCR_VM,
        "VTCR_EL2": vtcr,
        "VTTBR_EL2": s2base,
    }
    out.append(Edge(Scenario("S12E1R", va, regs, mem, "dev-s2-attr-combine"), arch_pa=0x4000_0000))
    # s1ptw-reports-s1-level: stage-2 fault (invalid level-1 entry) reading the L0 table
    regs2 = dict(regs)
    mem2 = {a: v for a, v in mem.items() if a not in s2}
    out.append(Edge(Scenario("S1E1R", va, regs2, mem2, "dev-s1ptw-level"), arch_fst=0x05))
    # level-1-af-perm-abort: level -1 'block' with AF=0 (DS=1, T0SZ=12)
    s = _ex1("dev-level-1-af-abort")
    s.memory[min(s.memory)] = 0x0000_0000_0000_0001  # block, AF=0
    out.append(Edge(s, arch_fst=0x2B))
    # par-sh-device-nc: Device-nGnRE page with descriptor SH=0b11 -> PAR.SH must be 0b10
    va = 0x1234_5000
    mem = _chain(
        4, False, 48, va, 3, encode_oa(0x9000_0000, "DS0", 12) | 0b11 | AF | (1 << 2) | (0b11 << 8)
    )
    out.append(Edge(_el1("S1E1R", va, tcr4, T, mem, "dev-par-sh-device"), arch_pa=0x9000_0000))
    # EL2 single-range (TCR_EL2.DS at bit 32) and VHE regimes, plain successes
    tcr_el2 = EL2_RES1 | 12 | (1 << 32) | (0b00 << TG0_S) | (0b110 << 16)
    va52 = 0x000E_0000_1234_5000
    mem = _chain(4, True, 52, va52, 3, encode_oa(0x000A_0000_0000_0000, "DS1", 12) | 0b11 | AF)
    out.append(
        Edge(
            Scenario(
                "S1E2R",
                va52,
                {
                    "TCR_EL2": tcr_el2,
                    "TTBR0_EL2": ttbr_encode(T, True),
                    "MAIR_EL2": MAIR,
                    "SCTLR_EL2": 1,
                    "HCR_EL2": HCR_RW,
                },
                mem,
                "el2-nvhe-ds32",
            ),
            arch_pa=0x000A_0000_0000_0000,
        )
    )
    mem_el0 = _chain(
        4, True, 52, va52, 3, encode_oa(0x000A_0000_0000_0000, "DS1", 12) | 0b11 | AF | (0b01 << 6)
    )
    tcr_vhe = 12 | (0b110 << IPS_S) | (1 << DS59) | (1 << 23)
    out.append(
        Edge(
            Scenario(
                "S1E0R",
                va52,
                {
                    "TCR_EL2": tcr_vhe,
                    "TTBR0_EL2": ttbr_encode(T, True),
                    "MAIR_EL2": MAIR,
                    "SCTLR_EL2": 1,
                    "HCR_EL2": HCR_RW | HCR_E2H | HCR_TGE,
                },
                mem_el0,
                "vhe-el20-el0",
            ),
            arch_pa=0x000A_0000_0000_0000,
        )
    )
    return out


# The fact sheet's examples with their own (out-of-RAM) addresses: model only.
def fact_sheet_model_only() -> list[Edge]:
    out = []
    # Example 1
    va = 0x000F_1234_5678_9ABC
    tcr = 12 | (0b11 << SH0_S) | (0b110 << IPS_S) | (1 << DS59)
    mem = {
        0x0008_0000_4000_0078: 0x0000_0001_2345_6303,
        0x000C_0001_2345_6120: 0x0000_0000_00AB_C103,
        0x0004_0000_00AB_C688: 0x0001_0000_0000_F303,
        0x000D_0000_0000_F598: 0x0001_0000_000A_B303,
        0x000D_0000_000A_BC48: 0x0042_DCBA_9876_5F47,
    }
    out.append(
        Edge(
            _el1("S1E1R", va, tcr, 0x0001_0000_4000_0020, mem, "fs-ex1-exact"),
            arch_pa=0x000E_DCBA_9876_5000,
        )
    )
    # Example 2
    va = 0xFFF8_1234_5678_9ABC
    tcr = (12 << T1SZ_S) | (0b01 << TG1_S) | (0b110 << IPS_S) | (1 << DS59) | (0b11 << SH1_S)
    mem = {
        0x0005_0000_1234_0080: 0x0002_0000_0BCD_4203,
        0x000A_0000_0BCD_4918: 0x0063_2340_0000_0601,
    }
    out.append(
        Edge(
            _el1(
                "S1E1R", va, tcr, 0x0000_0000_1234_0014, mem, "fs-ex2-exact", ttbr_name="TTBR1_EL1"
            ),
            arch_pa=0x000B_2344_5678_9000,
        )
    )
    # Example 3
    va = 0x000A_9876_5432_1ABC
    tcr = 12 | (0b01 << TG0_S) | (0b110 << IPS_S)
    mem = {
        0x0009_0000_0042_1530: 0x0000_1111_2222_F003,
        0x000F_1111_2222_1D90: 0x0000_3333_4444_2003,
        0x0002_3333_4444_A190: 0x0000_5555_6667_C703,
    }
    out.append(
        Edge(
            _el1("S1E1R", va, tcr, 0x0000_0000_0042_0024, mem, "fs-ex3-exact"),
            arch_pa=0x000C_5555_6667_1000,
        )
    )
    return out
