"""The guided tour: a sequence of explorer states, each a full ``Configuration``, that takes a
new developer from a plain 4KB 48-bit walk to everything FEAT_LPA2 changes.

Every step says what to look at (``text``) and which part of the walk the point is about
(``focus``); ``changes(n)`` computes - from the two configurations, not by hand - which
register and descriptor fields differ from the previous step.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

from model.arch.fields import TCR_EL1, descriptor_layout
from model.arch.walker import WalkResult
from model.explore.compare import FieldChange, config_changes
from model.explore.configs import CONFIG_PRESETS, Configuration, edit_descriptor, run

from .kernel_facts import KernelFact, fact, version


@dataclass(frozen=True)
class TourStep:
    slug: str
    title: str
    config: Configuration
    text: tuple[str, ...]
    focus: tuple[str, ...] = ()  # "registers", "levels", "descriptor", "outcome", "fault"
    glossary: tuple[str, ...] = ()  # glossary slugs worth reading at this step
    # Linux/KVM facts (model.teach.kernel_facts keys) shown beside the walk; "a|b" lists
    # alternatives for different releases, of which the one holding for the chosen release
    # is shown. The step's own text speaks of the architecture only.
    linux: tuple[str, ...] = ()


def _set_oa_51_50(value: int, variant: str) -> int:
    return descriptor_layout(1, "page", variant).set(value, "OA_51_50", 0b11)


def _set_bits_9_8(value: int, _variant: str) -> int:
    return value | (0b11 << 8)


def _steps() -> list[TourStep]:
    p = CONFIG_PRESETS
    base = p["4k-48"]
    tcr = base.registers["TCR_EL1"]
    ds_on = replace(
        base.with_registers(TCR_EL1=TCR_EL1.set(tcr, "DS", 1)),
        title="4KB, 48-bit VA, DS=1",
    )
    # T0SZ=12 needs tables with a level -1: the 4KB 48-bit tables have none, so the step
    # re-fills the tables for its registers, as a kernel builds new tables for a new layout.
    t0sz_12 = replace(
        ds_on.with_registers(TCR_EL1=TCR_EL1.set(TCR_EL1.set(tcr, "DS", 1), "T0SZ", 12)),
        title="4KB, 52-bit VA: level -1",
        address=0x000F_1234_5678_9ABC,
    ).refilled()
    ips_52 = t0sz_12.with_registers(TCR_EL1=TCR_EL1.set(t0sz_12.registers["TCR_EL1"], "IPS", 0b110))
    oa_high = edit_descriptor(
        replace(ips_52, title="4KB, 52-bit VA and PA: OA[51:50] from bits [9:8]"),
        1,
        3,
        _set_oa_51_50,
    )
    ttbr52 = p["4k-52-lpa2"]
    lpa2 = p["4k-52-lpa2"]
    l_minus_1_addrsize = edit_descriptor(
        replace(
            lpa2.with_registers(
                TCR_EL1=TCR_EL1.set(lpa2.registers["TCR_EL1"], "IPS", 0b101),
                TTBR0_EL1=lpa2.registers["TTBR0_EL1"] & ~0x3C,
            ),
            title="Fault: Address size at level -1 (FSC 0x29)",
        ).refilled(),
        1,
        -1,
        _set_bits_9_8,
    )
    return [
        TourStep(
            "plain-4k-48",
            "A plain 4KB, 48-bit walk",
            base,
            (
                "Start with the configuration every arm64 developer has seen: TCR_EL1.T0SZ=16 "
                "(a 48-bit VA), TG0=4KB, IPS=48 bits, DS=0.",
                "Four levels, 0 to 3, each indexed by 9 VA bits: [47:39], [38:30], [29:21], "
                "[20:12]. Bits [11:0] are the offset within the 4KB page.",
                "In block and page descriptors bits [9:8] are SH (shareability) and bits "
                "[47:12] the output address; table descriptors ignore bits [11:2] and hold the "
                "next table's address in bits [47:12]. Keep an eye on bits [9:8] and on the "
                "address bits: LPA2 changes both.",
            ),
            ("levels", "descriptor"),
            ("granule", "txsz", "start-level", "descriptor"),
            ("pgtable-levels", "pgtable-folding"),
        ),
        TourStep(
            "ds-on",
            "Turn DS on: bits [9:8] stop being shareability",
            ds_on,
            (
                "Only TCR_EL1.DS (bit 59) changes; memory does not. The walk reads the same "
                "four descriptors at the same addresses, with the same index bits, because "
                "T0SZ is still 16.",
                "But every descriptor is now read in the LPA2 format: bits [9:8] are "
                "OA[51:50] and bits [49:48] OA[49:48]. Shareability of the output now comes "
                "from TCR_EL1.SH0 for the whole TTBR0 range.",
                "The level-3 page descriptor was written with SH=0b11 (Inner Shareable). "
                "Read with DS=1 those bits put its output address 3 * 2^50 bytes higher, "
                "above the 48-bit PA size (IPS): the walk now ends in an Address size fault "
                "at level 3. So DS cannot be switched on under live tables.",
            ),
            ("registers", "descriptor", "fault"),
            ("ds", "sh", "oa"),
            ("host-lpa2-stub|host-lpa2", "no-live-ds-flip", "host-lpa2-descriptors"),
        ),
        TourStep(
            "t0sz-12",
            "T0SZ=12: level -1 appears with a 16-entry start table",
            t0sz_12,
            (
                "With DS=1 the minimum T0SZ drops from 16 to 12: a 52-bit VA space.",
                "Nine more bits per level do not fit, so the walk grows a level at the top: "
                "level -1, indexed by VA[51:48]. Its table has 2^4 = 16 entries (128 bytes), "
                "not 512.",
                "The start level formula is unchanged - 3 - (iasize - 1 - 12) / 9 - it simply "
                "yields -1 for 49- to 52-bit inputs.",
                "Tables built for a 48-bit VA have no level -1: walked with T0SZ=12 they would "
                "be read one level too high. This step re-fills the tables for its registers "
                "(the explorer's Re-fill), as a kernel builds new tables for a new layout.",
            ),
            ("levels",),
            ("level-minus-1", "txsz", "start-level"),
            ("kconfig-va52-64k-only|kconfig-va52", "pgtable-levels-52"),
        ),
        TourStep(
            "oa-51-50",
            "OA[51:50] come from descriptor bits [9:8]",
            oa_high,
            (
                "IPS becomes 0b110 (52 bits) and the level-3 page descriptor gets bits "
                "[9:8] = 0b11. The tables are those of the previous step: only IPS and that "
                "descriptor change.",
                "The output address now has bits [51:50] set: they were taken from "
                "descriptor bits [9:8]. Bits [49:48] come from descriptor bits [49:48], "
                "in place. Everything from bit 12 to 47 is where it always was.",
                "With IPS still at 48 bits the same descriptor would give an Address size "
                "fault: the address would not fit.",
            ),
            ("descriptor", "outcome"),
            ("oa", "ips"),
        ),
        TourStep(
            "ttbr-52",
            "The 52-bit TTBR format",
            ttbr52,
            (
                "TTBR0_EL1 bits [5:2] now carry the start table's address bits [51:48] "
                "(here 0x8), so the level -1 table itself lives above 2^51.",
                "Like every translation table, the start table is aligned to its own size: "
                "this level -1 table has 16 entries, 128 bytes, so BADDR bits [6:0] are zero. "
                "The 52-bit format adds a floor: bits [5:2] carry base[51:48] and bit 1 is "
                "RES0, so a start table smaller than 64 bytes is still 64-byte aligned.",
            ),
            ("registers", "levels"),
            ("ttbr52", "ttbr"),
            ("phys-to-ttbr",),
        ),
        TourStep(
            "l0-block-4k",
            "A 4KB level-0 block: 512GB in one descriptor",
            p["4k-l0-block"],
            (
                "With DS=1 a 4KB level-0 descriptor may be a block (bits [1:0] = 01) mapping "
                "512GB. Without LPA2 the same bits would be a Translation fault at level 0.",
                "The walk stops after two reads. The output keeps VA[38:0] and takes "
                "OA[51:39] from the descriptor.",
            ),
            ("levels", "outcome"),
            ("block", "lpa2"),
            ("kvm-min-block",),
        ),
        TourStep(
            "l1-block-16k",
            "A 16KB level-1 block: 64GB",
            p["16k-l1-block"],
            (
                "The 16KB granule (TG1=0b01 in TG1's own encoding) with DS=1 and T1SZ=12: a "
                "kernel address through TTBR1. A 52-bit walk starts at level 0 with a "
                "32-entry table indexed by VA[51:47]; 16KB never needs level -1.",
                "Level 1 can now hold a 64GB block. Without LPA2 16KB only has level-2 "
                "(32MB) blocks.",
                "The walk now goes through TTBR1_EL1, so the TTBR1 fields of TCR_EL1 come into "
                "play: T1SZ (input size), TG1 (granule) and IRGN1/ORGN1, the inner and outer "
                "cacheability of the walker's own reads of TTBR1 tables - they change how "
                "table reads are cached, not where the walk goes. TG0 changes too, for the "
                "TTBR0 range this walk does not use.",
            ),
            ("levels", "registers"),
            ("granule", "block", "stride"),
            ("kvm-min-block",),
        ),
        TourStep(
            "64k-lpa",
            "For contrast: 64KB pages with FEAT_LPA",
            p["64k-52-lpa"],
            (
                "64KB pages reached 52 bits first (Armv8.2 FEAT_LPA/FEAT_LVA). DS plays no "
                "part: it is ignored for 64KB.",
                "Here OA[51:48] live in descriptor bits [15:12] and bits [9:8] remain "
                "shareability. Three levels (1 to 3) cover 52 bits; the level-1 table has "
                "1024 entries.",
                "Patches that handle both formats must check the granule: 'bits [9:8]' means "
                "SH for 64KB even on an LPA2 system.",
            ),
            ("descriptor", "levels"),
            ("lpa", "lva"),
        ),
        TourStep(
            "nvhe-el2",
            "The nVHE hypervisor's own tables: TCR_EL2 with E2H=0",
            p["nvhe-hyp-lpa2"],
            (
                "A hypervisor that runs at EL2 with HCR_EL2.E2H=0 has its own single-range "
                "stage 1. TCR_EL2 then has a different layout: one VA range, PS at [18:16] "
                "and DS at bit 32, not 59.",
                "The walk is the same five-level 4KB LPA2 walk; only where the bits live in "
                "the control register differs. What KVM programs here depends on the kernel "
                "release: see 'In Linux terms' below.",
            ),
            ("registers",),
            ("nvhe", "ds"),
            (
                "hyp-pgtable",
                "hyp-va-bits-idmap|hyp-va-bits",
                "hyp-tcr-kvm|hyp-tcr-host",
                "kvm-pte-format",
                "hvhe-opt-in|hvhe-protected",
            ),
        ),
        TourStep(
            "s2-sl2",
            "Stage 2 starting at level -1 (SL2=1)",
            p["s2-l-1-sl2"],
            (
                "Stage 2 gets its start level from VTCR_EL2.SL0, not from the input size. "
                "LPA2 added SL2 (bit 33): SL2=1 with SL0=0b00 selects level -1 for 4KB.",
                "The level -1 table has 16 entries indexed by IPA[51:48], exactly as at stage 1.",
            ),
            ("registers", "levels"),
            ("sl0", "stage2", "level-minus-1"),
            ("kvm-s2-levels",),
        ),
        TourStep(
            "s2-concat",
            "Stage 2 with 16 concatenated level-0 tables",
            p["s2-52-concat16"],
            (
                "The same 52-bit IPA space without level -1: SL0=0b10 starts at level 0 and "
                "the level-0 index is IPA[51:39], 13 bits, spread over 16 concatenated 4KB "
                "tables that must sit together, 64KB-aligned.",
                "One read fewer per walk, at the cost of a 64KB start table. With 4KB pages "
                "a 52-bit stage 2 never has to start at level -1: level 0 is the highest start "
                "level it needs. 'In Linux terms' below says which layout KVM picks.",
            ),
            ("registers", "levels"),
            ("concatenation", "sl0"),
            ("kvm-s2-levels", "kvm-vtcr-ds", "kvm-lpa2"),
        ),
        TourStep(
            "s1-s2-mismatch",
            "Two stages, two descriptor formats",
            p["s1-48-over-s2-52"],
            (
                "A guest does not have to use LPA2 because the host does. Here the guest's "
                "TCR_EL1.DS=0 (48-bit, bits [9:8] are SH) while VTCR_EL2.DS=1.",
                "Each stage-1 table address is an IPA, so before each of the four stage-1 "
                "reads the CPU walks the 52-bit stage 2 for the table's IPA, whose descriptors "
                "put OA[51:50] in bits [9:8]. The table below lists the stage-1 levels and "
                "then the stage-2 walk of the final IPA only; the explorer shows each table's "
                "stage-2 walk nested in its stage-1 level.",
                "Software that walks guest tables has to track the two formats separately.",
            ),
            ("levels", "descriptor"),
            ("stage1", "stage2", "s1ptw"),
            ("kvm-lpa2", "kvm-vtcr-ds"),
        ),
        TourStep(
            "fault-l-1-translation",
            "A fault that needs LPA2: Translation fault, level -1",
            p["fault-translation-l-1"],
            (
                "The level -1 descriptor has bits [1:0] = 01, a block encoding, which level "
                "-1 can never hold.",
                "The fault status code is 0b101011 (0x2B), not 0x04 + level: the level -1 "
                "codes sit apart from the 0..3 series. Fault handlers that compute the level "
                "as FSC & 3 get this wrong.",
            ),
            ("fault",),
            ("fsc", "level-minus-1"),
            ("esr-level-minus-1",),
        ),
        TourStep(
            "fault-l-1-addrsize",
            "Address size fault at level -1 (0x29)",
            l_minus_1_addrsize,
            (
                "IPS is back to 48 bits and the TTBR points below 2^48, but the level -1 "
                "descriptor sets bits [9:8]: with DS=1 they are NLTA[51:50], so the "
                "next table would be above 2^50.",
                "Address size fault at level -1: FSC 0b101001 (0x29). An Address size fault "
                "on the TTBR itself would be reported at level 0 (0x00) whatever the start "
                "level.",
            ),
            ("fault", "descriptor"),
            ("fsc", "ips"),
        ),
    ]


@cache
def steps() -> tuple[TourStep, ...]:
    return tuple(_steps())


def step(n: int) -> TourStep:
    """Step ``n`` (1-based)."""
    all_steps = steps()
    if not 1 <= n <= len(all_steps):
        raise IndexError(f"the tour has steps 1 to {len(all_steps)}")
    return all_steps[n - 1]


@cache
def result(n: int) -> WalkResult:
    return run(step(n).config)


def linux_facts(n: int, kernel: str | None = None) -> list[KernelFact]:
    """The Linux/KVM facts of step ``n`` that hold for a release (the first holding one of
    each ``a|b`` alternative)."""
    v = version(kernel)
    out = []
    for entry in step(n).linux:
        held = [fact(k) for k in entry.split("|") if fact(k).holds(v)]
        out += held[:1]
    return out


@cache
def changes(n: int) -> tuple[FieldChange, ...]:
    """What differs from step ``n - 1`` (nothing for the first step)."""
    if n <= 1:
        return ()
    return tuple(config_changes(step(n - 1).config, step(n).config, result(n - 1), result(n)))
