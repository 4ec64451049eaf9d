"""The mapping listing against tables written independently (``tables.py``): every granule,
DS off and on, TTBR0 and TTBR1, EL2, stage 2 and two stages; faults listed, not raised;
every listed range walks to the output the listing gives."""

from __future__ import annotations

import json
import random

import pytest

from app import cli
from model import walk
from model.arch import geometry as geo
from model.arch.cpu import CPU_PRESETS, Choices
from model.arch.faults import FaultKind
from model.arch.fields import HCR_EL2, MAIR, SCTLR, TCR_EL1, TCR_EL2, VTCR_EL2
from model.arch.plans import stage1_plan
from model.arch.tablewalk import descriptor_type
from model.explore.ptdump import _levels, list_mappings
from model.explore.ptdump_text import render_listing

from .elfcore import core_of
from .tables import AF, CONTIGUOUS, Allocator, Tables, merged

TG0 = {4: 0b00, 16: 0b10, 64: 0b01}
TG1 = {4: 0b10, 16: 0b01, 64: 0b11}
PS = {40: 0b010, 48: 0b101, 52: 0b110}
MAIR_VALUE = MAIR.encode(Attr0=0xFF, Attr1=0x04, Attr2=0x44)


def stage1_regs(t: Tables, ps: int, upper: bool = False, el2: bool = False) -> dict:
    if el2:
        tcr = TCR_EL2.encode(T0SZ=64 - t.iasize, TG0=TG0[t.granule], PS=PS[ps], DS=int(t.ds))
        return {"TCR_EL2": tcr, "TTBR0_EL2": t.ttbr(), "MAIR_EL2": MAIR_VALUE}
    size, tg = (("T1SZ", "TG1"), TG1) if upper else (("T0SZ", "TG0"), TG0)
    tcr = TCR_EL1.encode(
        IPS=PS[ps], DS=int(t.ds), **{size[0]: 64 - t.iasize, size[1]: tg[t.granule]}
    )
    tcr = TCR_EL1.set(tcr, "EPD0" if upper else "EPD1", 1)
    ttbr = "TTBR1_EL1" if upper else "TTBR0_EL1"
    return {"TCR_EL1": tcr, ttbr: t.ttbr(), "MAIR_EL1": MAIR_VALUE, "SCTLR_EL1": SCTLR.encode(M=1)}


def stage2_regs(t: Tables, ps: int, sl0: int, sl2: int = 0) -> dict:
    vtcr = VTCR_EL2.encode(
        T0SZ=64 - t.iasize, SL0=sl0, SL2=sl2, TG0=TG0[t.granule], PS=PS[ps], DS=int(t.ds)
    )
    return {"VTCR_EL2": vtcr, "VTTBR_EL2": t.ttbr(), "HCR_EL2": HCR_EL2.encode(RW=1, VM=1)}


def alloc(seed: int) -> Allocator:
    return Allocator(0x4000_0000, 0x4400_0000, random.Random(seed))


def listed(listing):
    return [(m.start, m.end, m.oa, m.level, m.kind) for m in listing.mappings]


def check_walks(listing, regs, memory, regime):
    """Both ends of every listed range walk to the output the listing gives."""
    access = "el2r" if regime in ("el2", "el20") else "el1r"
    for m in listing.mappings:
        for va in (m.start, m.end - 1):
            result = walk(regime, regs, memory, va, access)
            assert result.output_address == m.oa + (va - m.start), (hex(va), result.fault)


def test_4k_ds0_pages_blocks_contiguous_runs_and_faults():
    t = Tables(1, 4, False, 48, alloc(1))
    for i in range(32):  # two aligned contiguous runs of 16 pages
        t.map(0x1000_0000 + i * 0x1000, 0x8000_0000 + i * 0x1000, 3, contiguous=1)
    for i in range(5):  # pages whose attributes change: separate ranges
        t.map(0x2000_0000 + i * 0x1000, 0x9000_0000 + i * 0x1000, 3, ap=i % 2, attr=1)
    t.map(0x4000_0000, 0xA000_0000, 2)  # 2MB block
    t.map(0x80_0000_0000, 0x40_0000_0000, 1, pxn=1)  # 1GB block
    t.map(0x3000_0000, 0xB000_0000, 3, af=0)  # Access flag fault on every access
    t.put(0x3000_1000, 3, 0xC000_0001)  # reserved: bits[1:0]=0b01 at level 3
    l0_block = t.put(0x100_0000_0000, 0, 0x4000_0000_0401)  # a level-0 block needs DS=1
    t.put(0x200_0000_0000, 0, 0x100_0000_0003)  # next table above the 40-bit output size
    regs = stage1_regs(t, 40)
    listing = list_mappings("el10", regs, t.words)
    assert listed(listing) == merged(t.mappings)
    runs = [m for m in listing.mappings if m.contiguous]
    assert [(m.entries, m.contiguous_runs, m.contiguous_problem) for m in runs] == [(32, 2, None)]
    faults = {(f.start, f.level, f.fault.kind, f.fault.fsc) for f in listing.faults}
    assert faults == {
        (0x3000_0000, 3, FaultKind.ACCESS_FLAG, 0x0B),
        (0x3000_1000, 3, FaultKind.TRANSLATION, 0x07),
        (0x100_0000_0000, 0, FaultKind.TRANSLATION, 0x04),
        (0x200_0000_0000, 0, FaultKind.ADDRESS_SIZE, 0x00),
    }
    assert next(f for f in listing.faults if f.level == 0 and f.address == l0_block)
    check_walks(listing, regs, t.words, "el10")
    text = render_listing(listing)
    assert "CONx2" in text and "FAULT" in text and "DS0 (address in desc[47:n])" in text


def test_misprogrammed_contiguous_run_is_flagged():
    t = Tables(1, 4, False, 48, alloc(2))
    for i in range(8):  # 8 of 16 entries with the hint
        t.map(0x1000_0000 + i * 0x1000, 0x8000_0000 + i * 0x1000, 3, contiguous=1)
    listing = list_mappings("el10", stage1_regs(t, 48), t.words)
    (m,) = listing.mappings
    assert m.contiguous_problem and "aligned runs of 16" in m.contiguous_problem


@pytest.mark.parametrize(
    "granule, ds, iasize, upper, ps, leaves",
    [
        # 4KB LPA2: level -1, a 512GB level-0 block, output above 2^48
        (4, True, 52, False, 52, [(0x000F_1234_5678_9000, 0x000C_0000_1234_5000, 3),
                                   (0x0008_0000_0000_0000, 0x0004_0080_0000_0000, 0)]),
        # 16KB LPA2 in the TTBR1 range: a 64GB level-1 block
        (16, True, 52, True, 52, [(0xFFF8_1234_5678_8000, 0x000B_2340_0000_4000, 3),
                                   (0xFFFF_0000_0000_0000, 0x000B_0000_0000_0000, 1)]),
        # 64KB with FEAT_LPA: OA[51:48] in desc[15:12], a 4TB level-1 block
        (64, False, 52, False, 52, [(0x000A_9876_5432_0000, 0x000F_0000_1234_0000, 3),
                                    (0x0004_0000_0000_0000, 0x0009_0400_0000_0000, 1)]),
        # 16KB, 47-bit, DS=0
        (16, False, 47, False, 48, [(0x0000_1234_5678_8000, 0x0000_8765_4321_4000, 3),
                                    (0x0000_2000_0200_0000, 0x0000_0300_0000_0000, 2)]),
    ],
)  # fmt: skip
def test_granules_and_formats(granule, ds, iasize, upper, ps, leaves, tmp_path):
    t = Tables(1, granule, ds, iasize, alloc(granule), lpa=granule == 64 and ps == 52)
    for va, oa, level in leaves:
        for i in range(3):
            size = 1 << geo.block_size_bits(level, granule)
            t.map(va + i * size, oa + i * size, level)
    regs = stage1_regs(t, ps, upper=upper)
    listing = list_mappings("el10", regs, t.words)
    assert listed(listing) == merged(t.mappings)
    assert not listing.faults
    (root,) = [r for r in listing.roots if r.setup_fault is None]
    assert root.name == ("TTBR1_EL1" if upper else "TTBR0_EL1")
    assert {m.variant for m in listing.mappings} == {t.variant}
    check_walks(listing, regs, t.words, "el10")
    # the same listing from an ELF image through the CLI
    image = tmp_path / "tables.elf"
    image.write_bytes(core_of(t.words, 1 << t.gb))
    regs_file = tmp_path / "regs.json"
    regs_file.write_text(json.dumps({k: hex(v) for k, v in regs.items()}))
    assert cli.main(["ptdump", "--image", str(image), "--regs", str(regs_file), "--json"]) == 0


def test_el2_regime():
    t = Tables(1, 16, False, 48, alloc(5))
    t.map(0x0000_8000_0000_0000 - 0x4000, 0x1234_4000, 3, ap=0b10)
    t.map(0x0000_0000_0200_0000, 0x0400_0000, 2)
    regs = stage1_regs(t, 48, el2=True)
    listing = list_mappings("el2", regs, t.words)
    assert listed(listing) == merged(t.mappings)
    assert [r.name for r in listing.roots] == ["TTBR0_EL2"]
    assert listing.mappings[1].walk.perms.by_el["EL2"].write is False
    check_walks(listing, regs, t.words, "el2")


def test_stage2_concatenated_start_tables():
    t = Tables(2, 4, True, 52, alloc(6), start=0)  # SL0=0b10: 16 concatenated level-0 tables
    t.map(0x000F_1234_5678_9000, 0x0008_0000_1234_5000, 3, s2ap=0b01)
    t.map(0x0000_0040_0000_0000, 0x0000_0040_0000_0000, 1, memattr=0b0001)
    t.map(0x0001_0000_0000_0000, 0x0002_0000_0000_0000, 0)
    regs = stage2_regs(t, 52, sl0=0b10)
    listing = list_mappings("stage2", regs, t.words)
    assert listed(listing) == merged(t.mappings)
    assert listing.roots[0].tables[0] == 1 and listing.roots[0].descriptors >= 8192
    device = next(m for m in listing.mappings if m.level == 1)
    assert device.walk.attrs.device
    check_walks(listing, regs, t.words, "stage2")


def test_two_stages_with_stage1_tables_behind_stage2():
    """Stage-1 tables live at IPAs that stage 2 maps elsewhere; the listing reads them
    through stage 2 as the walker does, and composes VA -> IPA -> PA."""
    ipa_to_pa = 0x1_0000_0000
    s1 = Tables(1, 4, False, 48, Allocator(0x4000_0000, 0x4020_0000, random.Random(7)))
    s1.map(0x1000_0000, 0x6000_0000, 2)  # 2MB block: IPA 0x6000_0000
    for i in range(4):
        s1.map(0x2000_0000 + i * 0x1000, 0x6040_0000 + i * 0x1000, 3)
    s1.map(0x3000_0000, 0x7000_0000, 3)  # its IPA has no stage-2 mapping
    s2 = Tables(2, 64, False, 48, Allocator(0x5000_0000, 0x5100_0000, random.Random(8)), start=1)
    s2.map(0x4000_0000, 0x4000_0000 + ipa_to_pa, 2)  # the stage-1 tables (512MB block)
    s2.map(0x6000_0000, 0x9_0000_0000, 3)  # 64KB pages under the 2MB stage-1 block
    s2.map(0x6001_0000, 0xA_0000_0000, 3)
    s2.map(0x6040_0000, 0xB_0000_0000, 3)
    memory = {
        pa + ipa_to_pa if 0x4000_0000 <= pa < 0x6000_0000 else pa: v for pa, v in s1.words.items()
    }
    assert set(memory).isdisjoint(s2.words)
    memory.update(s2.words)
    regs = {**stage1_regs(s1, 48), **stage2_regs(s2, 48, sl0=0b10)}  # 64KB SL0=0b10: level 1
    listing = list_mappings("el10_s12", regs, memory)
    got = [(m.start, m.end, m.oa) for m in listing.mappings]
    assert got == [
        (0x1000_0000, 0x1001_0000, 0x9_0000_0000),
        (0x1001_0000, 0x1002_0000, 0xA_0000_0000),
        (0x2000_0000, 0x2000_4000, 0xB_0000_0000),
    ]
    gaps = [(f.start, f.end, f.fault.stage, f.fault.kind) for f in listing.faults]
    assert (0x1002_0000, 0x1020_0000, 2, FaultKind.TRANSLATION) in gaps
    assert (0x3000_0000, 0x3000_1000, 2, FaultKind.TRANSLATION) in gaps
    check_walks(listing, regs, memory, "el10_s12")
    # stage 1 alone (el10 with VM=1): VA -> IPA, tables still read through stage 2
    alone = list_mappings("el10", regs, memory)
    assert listed(alone) == merged(s1.mappings)
    assert "S1 DS0 S2 LPA" in render_listing(listing)  # 64KB with FEAT_LPA: bits [15:12]


def test_stage2_fault_on_a_stage1_table_read_is_listed_with_s1ptw():
    s1 = Tables(1, 4, False, 48, Allocator(0x4000_0000, 0x4020_0000, random.Random(9)))
    s1.map(0x1000_0000, 0x6000_0000, 3)
    s2 = Tables(2, 4, False, 40, Allocator(0x5000_0000, 0x5100_0000, random.Random(10)), start=1)
    s2.map(s1.root, s1.root, 3)  # only the start table's page: the next tables fault
    regs = {**stage1_regs(s1, 48), **stage2_regs(s2, 40, sl0=0b01)}
    memory = {**s1.words, **s2.words}
    listing = list_mappings("el10", regs, memory)
    assert not listing.mappings
    (fault,) = listing.faults
    assert fault.fault.s1ptw and fault.fault.stage == 2 and fault.level == 1
    assert fault.start == 0 and fault.end == 1 << 39


def test_leaf_bits_survive_as_listed(tmp_path):
    """A read-only, never-executable, not-global page: the walker's permissions are listed."""
    t = Tables(1, 4, False, 48, alloc(11))
    t.map(0x5000, 0x9000, 3, ap=0b11, pxn=1, uxn=1, ng=1)
    listing = list_mappings("el10", stage1_regs(t, 48), t.words)
    (m,) = listing.mappings
    assert m.bits & AF and not m.bits & CONTIGUOUS
    perms = m.walk.perms.to_dict()
    assert perms["EL1"] == {"read": True, "write": False, "exec": False}
    assert perms["EL0"] == {"read": True, "write": False, "exec": False}
    assert " nG " in render_listing(listing)


def test_the_type_of_a_descriptor_is_its_low_bits_at_its_level():
    """The listing reads a descriptor's type from a table of the walker's answers for bits
    [1:0] at each level (``_Level.kinds``): that holds only while the walker's type depends on
    nothing else."""

    rng = random.Random(12)
    tcr = TCR_EL1.encode(T0SZ=12, TG0=0b00, IPS=0b110, DS=1)
    plan = stage1_plan("el10", 0, tcr, 0x4000_0000, CPU_PRESETS["max"], Choices())
    for lv in _levels(plan):
        for _ in range(200):
            raw = rng.getrandbits(64)
            assert lv.kinds[raw & 3] == descriptor_type(raw, lv.plan)
