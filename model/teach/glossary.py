"""The glossary: every term the onboarding pages (and the explorer's help texts) rely on.

Each ``Term`` has a stable anchor (``slug``), the spellings that should link to it (``names``),
a definition written for a developer who knows C and virtual memory but not the Arm
translation system, and related terms. ``find_terms(text)`` locates the spellings in a help
text so that a page can turn them into links to ``/glossary#<slug>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Term:
    slug: str
    title: str
    definition: str
    names: tuple[str, ...] = ()
    see: tuple[str, ...] = field(default_factory=tuple)
    # Linux/KVM facts (model.teach.kernel_facts keys) shown under the definition, each with
    # the releases it holds for; the definition itself speaks of the architecture.
    linux: tuple[str, ...] = ()

    @property
    def anchor(self) -> str:
        return f"term-{self.slug}"

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.title, *self.names)


def _t(slug: str, title: str, definition: str, names=(), see=(), linux=()) -> Term:
    return Term(slug, title, definition, tuple(names), tuple(see), tuple(linux))


TERMS: tuple[Term, ...] = (
    _t(
        "va",
        "VA",
        "Virtual address: the address a program or the kernel uses. Stage 1 translates it. "
        "Its usable width is 64 - TxSZ bits; the bits above must all be 0 (TTBR0 range) or "
        "all 1 (TTBR1 range).",
        ["virtual address"],
        ["txsz", "ttbr", "stage1"],
    ),
    _t(
        "ipa",
        "IPA",
        "Intermediate physical address: what a guest believes is physical. Stage 1 of a guest "
        "produces it and stage 2, owned by the hypervisor, turns it into a PA.",
        ["intermediate physical address"],
        ["stage2", "pa"],
    ),
    _t(
        "pa",
        "PA",
        "Physical address: the address that reaches the memory system. With FEAT_LPA or "
        "FEAT_LPA2 it may be 52 bits wide (4PB); otherwise at most 48 bits.",
        ["physical address"],
        ["oa", "ips"],
    ),
    _t(
        "oa",
        "OA",
        "Output address: what one stage of translation produces - an IPA for a guest's stage "
        "1, a PA for stage 2 or for a host stage 1. A descriptor holds the OA bits above the "
        "block or page offset.",
        ["output address"],
        ["descriptor", "ips"],
    ),
    _t(
        "lpa2",
        "FEAT_LPA2",
        "Armv8.7 feature: 52-bit virtual and physical addresses with the 4KB and 16KB "
        "granules. Switched on per translation regime by a DS bit. It moves OA[51:50] into "
        "descriptor bits [9:8] (which stop being shareability), uses bits [49:48] for "
        "OA[49:48], adds level -1 for 4KB, allows 4KB level-0 and 16KB level-1 blocks, and "
        "uses the 52-bit TTBR format.",
        ["LPA2"],
        ["ds", "level-minus-1", "ttbr52"],
    ),
    _t(
        "lpa",
        "FEAT_LPA",
        "Armv8.2 feature: 52-bit physical addresses with the 64KB granule only. OA[51:48] "
        "live in descriptor bits [15:12]; bits [9:8] stay shareability. Signalled by "
        "ID_AA64MMFR0_EL1.PARange = 0b0110.",
        ["LPA"],
        ["lva", "lpa2"],
    ),
    _t(
        "lva",
        "FEAT_LVA",
        "Armv8.2 feature: 52-bit virtual addresses with the 64KB granule (TxSZ down to 12). "
        "Signalled by ID_AA64MMFR2_EL1.VARange = 1. For 4KB and 16KB the 52-bit VA comes "
        "from FEAT_LPA2 instead.",
        ["LVA"],
        ["lpa", "txsz"],
    ),
    _t(
        "ds",
        "DS",
        "The FEAT_LPA2 enable bit of a translation control register: TCR_EL1 bit 59, TCR_EL2 "
        "bit 32 when E2H=0 (bit 59 when E2H=1), VTCR_EL2 bit 32. Only meaningful for the 4KB "
        "and 16KB granules and only if the CPU reports 52-bit support for that granule and "
        "stage.",
        [],
        ["lpa2", "tcr"],
    ),
    _t(
        "tcr",
        "TCR",
        "Translation Control Register (TCR_EL1, TCR_EL2; VTCR_EL2 for stage 2): sets the "
        "input size (TxSZ), the granule (TGx), the output size (IPS/PS), walk cacheability "
        "and DS.",
        ["TCR_EL1", "TCR_EL2", "VTCR_EL2", "VTCR"],
        ["txsz", "granule", "ips"],
    ),
    _t(
        "txsz",
        "TxSZ",
        "T0SZ / T1SZ: the input address space is 64 - TxSZ bits wide. 16 means 48 bits; 12 "
        "means 52 bits. At stage 1, 12 needs DS=1 (4KB/16KB) or FEAT_LVA (64KB), and with 4KB "
        "a 52-bit walk starts at level -1. At stage 2 (VTCR_EL2.T0SZ) the smallest value comes "
        "from the PA range (PAMax): 12 needs 52-bit PAs - FEAT_LPA with 64KB, FEAT_LPA2 and "
        "DS=1 with 4KB/16KB - and the start level is set by SL0 (and SL2), not by T0SZ, which "
        "must only be consistent with it: a 52-bit IPA with 4KB can start at level 0 with 16 "
        "concatenated tables.",
        ["T0SZ", "T1SZ"],
        ["va", "start-level", "sl0"],
        ["kvm-s2-levels"],
    ),
    _t(
        "ips",
        "IPS/PS",
        "The output size field: TCR_EL1.IPS, TCR_EL2.PS, VTCR_EL2.PS. 0b101 = 48 bits, 0b110 "
        "= 52 bits. The effective size is also capped by the CPU's PARange and, without "
        "LPA/LPA2 for the granule, by 48.",
        ["IPS", "PS", "PARange"],
        ["oa", "pa"],
    ),
    _t(
        "granule",
        "Granule",
        "The translation granule: 4KB, 16KB or 64KB. It is the page size, the size of every "
        "table (except the start table), and fixes the stride. Chosen by TG0/TG1 - which are "
        "encoded differently (TG0: 00=4KB, 10=16KB, 01=64KB; TG1: 10=4KB, 01=16KB, 11=64KB).",
        ["TG0", "TG1", "page size"],
        ["stride", "page"],
    ),
    _t(
        "stride",
        "Stride",
        "The number of address bits one full table resolves: granule bits - 3 (each entry is "
        "8 bytes), so 9 for 4KB, 11 for 16KB and 13 for 64KB.",
        [],
        ["granule", "start-level"],
    ),
    _t(
        "level",
        "Lookup level",
        "One step of a walk. Levels are numbered from 3 (the page level) upwards: 2, 1, 0 and, "
        "with FEAT_LPA2 and 4KB, -1. Each level indexes a table with a slice of the input "
        "address.",
        ["level"],
        ["start-level", "level-minus-1"],
    ),
    _t(
        "start-level",
        "Start level",
        "The level of the first table read. Stage 1 computes it from the input size and "
        "granule: 3 - floor((iasize - 1 - granulebits) / stride). Stage 2 takes it from "
        "VTCR_EL2.SL0 (and SL2).",
        ["starting level"],
        ["sl0", "txsz", "level"],
    ),
    _t(
        "level-minus-1",
        "Level -1",
        "The extra lookup level that FEAT_LPA2 adds for 4KB walks with a 49- to 52-bit input: "
        "a table of at most 16 entries indexed by IA[51:48]. It can only hold table "
        "descriptors; its faults have their own codes (Translation 0x2B, Address size 0x29).",
        ["level -1"],
        ["lpa2", "fsc"],
        ["esr-addrsz-nl-0x25", "esr-addrsz-nl", "kvm-s2-levels"],
    ),
    _t(
        "concatenation",
        "Concatenation",
        "Stage 2 only: the start table may be up to 16 granule-sized tables placed "
        "back-to-back, so the start level resolves up to 4 extra bits: a 52-bit IPA with 4KB "
        "pages can start at level 0 with 16 concatenated tables instead of at level -1.",
        ["concatenated tables", "concatenated"],
        ["stage2", "sl0"],
        ["kvm-s2-levels"],
    ),
    _t(
        "sl0",
        "SL0/SL2",
        "VTCR_EL2.SL0 [7:6] (and SL2 [33]) encode the stage-2 start level; the meaning depends "
        "on the granule (4KB: 00=L2, 01=L1, 10=L0, 11=L3). SL2=1 with SL0=00 selects level -1 "
        "and exists only for 4KB with DS=1.",
        ["SL0", "SL2"],
        ["start-level", "concatenation"],
    ),
    _t(
        "ttbr",
        "TTBR",
        "Translation Table Base Register (TTBR0_ELx, TTBR1_ELx, VTTBR_EL2): the address of the "
        "start table, plus an ASID or VMID in bits [63:48].",
        ["TTBR0", "TTBR1", "VTTBR", "TTBR0_EL1", "TTBR1_EL1", "VTTBR_EL2"],
        ["ttbr52", "start-level"],
    ),
    _t(
        "ttbr52",
        "52-bit TTBR format",
        "With DS=1 (or 64KB with FEAT_LPA and IPS/PS=52 bits) TTBR bits [5:2] hold base "
        "address bits [51:48], bit 1 is RES0 and the start table is aligned to at least 64 "
        "bytes.",
        ["TTBR 52-bit format"],
        ["ttbr", "lpa2"],
    ),
    _t(
        "descriptor",
        "Descriptor",
        "A 64-bit entry of a translation table. Bits [1:0] give its type: x0 invalid, 11 table "
        "(levels below 3) or page (level 3), 01 block (only at levels that allow blocks).",
        ["descriptors"],
        ["table", "block", "page"],
    ),
    _t(
        "table",
        "Table descriptor",
        "A descriptor pointing to the next-level table (bits [1:0] = 11 below level 3). Stage "
        "1 table descriptors can also restrict everything below them (APTable, PXNTable, "
        "UXNTable).",
        ["table"],
        ["descriptor", "aptable"],
    ),
    _t(
        "block",
        "Block descriptor",
        "A leaf above level 3 (bits [1:0] = 01) mapping a large aligned region: 4KB: 1GB at "
        "L1, 2MB at L2 and, with DS=1, 512GB at L0. 16KB: 32MB at L2 and, with DS=1, 64GB at "
        "L1. 64KB: 512MB at L2, 4TB at L1 with 52-bit PAs.",
        ["block"],
        ["descriptor", "page"],
    ),
    _t(
        "page",
        "Page descriptor",
        "The level-3 leaf (bits [1:0] = 11 at level 3) mapping one granule.",
        ["page"],
        ["descriptor", "granule"],
    ),
    _t(
        "af",
        "AF",
        "Access flag, descriptor bit 10. A leaf with AF=0 gives an Access flag fault unless "
        "the hardware updates it (TCR.HA=1, FEAT_HAFDBS).",
        ["access flag"],
        ["fsc"],
    ),
    _t(
        "ap",
        "AP",
        "Stage-1 access permissions AP[2:1], descriptor bits [7:6]: bit 6 allows EL0 access, "
        "bit 7 makes the page read-only. Stage 2 uses S2AP (bit 6 read, bit 7 write).",
        ["AP[2:1]", "S2AP"],
        ["aptable"],
    ),
    _t(
        "aptable",
        "APTable",
        "Stage-1 table-descriptor bits [62:61] that limit the permissions of everything below: "
        "bit 61 removes EL0 access, bit 62 makes it read-only. Ignored when HPD is set.",
        [],
        ["hpd", "ap"],
    ),
    _t(
        "hpd",
        "HPD",
        "Hierarchical permission disable (TCR_EL1.HPD0/HPD1, TCR_EL2.HPD, FEAT_HPDS): the "
        "table-descriptor permission bits (APTable, PXNTable, UXNTable) are ignored.",
        ["HPD0", "HPD1"],
        ["aptable"],
    ),
    _t(
        "pxn",
        "PXN/UXN",
        "Execute-never bits of a stage-1 leaf: PXN (bit 53) forbids execution at EL1 (EL2 in "
        "EL2&0), UXN (bit 54) at EL0; in the EL2 regime bit 54 is simply XN.",
        ["PXN", "UXN", "XN", "PXNTable", "UXNTable"],
        ["xnx"],
    ),
    _t(
        "xnx",
        "XNX",
        "FEAT_XNX: stage-2 bit 53 combines with XN (bit 54) so a hypervisor can forbid "
        "execution at EL1 and EL0 separately.",
        [],
        ["pxn", "stage2"],
    ),
    _t(
        "s1ptw",
        "S1PTW",
        "ESR/PAR bit saying that a stage-2 fault happened while reading a stage-1 table (the "
        "guest's table lives at an IPA that stage 2 could not translate).",
        ["PTW"],
        ["stage2", "esr"],
    ),
    _t(
        "fsc",
        "FSC",
        "Fault status code, 6 bits: ESR_ELx.ISS.DFSC/IFSC [5:0] and PAR_EL1.FST [6:1]. Encodes "
        "the kind and level: Translation 0x04+level, Address size 0x00+level, Access flag "
        "0x08+level, Permission 0x0C+level, and for level -1 0x2B (Translation) and 0x29 "
        "(Address size). 0x25 is a Granule Protection Fault on a walk at level 1.",
        ["DFSC", "IFSC", "FST", "fault status code"],
        ["esr", "par", "level-minus-1"],
        ["esr-addrsz-nl-0x25", "esr-addrsz-nl", "esr-level-minus-1"],
    ),
    _t(
        "par",
        "PAR",
        "PAR_EL1, the result of an AT instruction. Bit 0 (F) tells the layouts apart: 0 = "
        "success with PA[51:12] and attributes, 1 = fault with FST, S1PTW (PTW) and the stage.",
        ["PAR_EL1"],
        ["fsc"],
    ),
    _t(
        "esr",
        "ESR",
        "Exception Syndrome Register (ESR_EL1, ESR_EL2). EC [31:26] names the exception; for "
        "Data Aborts (0x24/0x25) and Instruction Aborts (0x20/0x21) the ISS holds the FSC, "
        "WnR, S1PTW and more.",
        ["ESR_ELx", "ESR_EL1", "ESR_EL2", "EC", "ISS"],
        ["fsc", "s1ptw"],
    ),
    _t(
        "stage1",
        "Stage 1",
        "The translation owned by an operating system: VA to IPA (in a guest) or VA to PA (host "
        "or hypervisor). Configured by TCR_ELx and TTBRn_ELx.",
        ["stage-1", "stage 1"],
        ["stage2", "va"],
    ),
    _t(
        "stage2",
        "Stage 2",
        "The translation owned by the hypervisor: IPA to PA for everything a guest does, "
        "including the guest's own table reads. Configured by VTCR_EL2 and VTTBR_EL2 and "
        "enabled by HCR_EL2.VM.",
        ["stage-2", "stage 2"],
        ["stage1", "ipa", "concatenation"],
    ),
    _t(
        "vhe",
        "VHE",
        "Virtualization Host Extensions (HCR_EL2.E2H=1): the host kernel runs at EL2, TCR_EL2 "
        "takes the TCR_EL1 layout (DS at bit 59, two VA ranges) and there are no separate "
        "hypervisor page tables.",
        ["E2H", "EL2&0"],
        ["nvhe"],
    ),
    _t(
        "nvhe",
        "nVHE",
        "Non-VHE: the host kernel runs at EL1 and a small hypervisor runs at EL2 with its own "
        "stage-1 tables. With HCR_EL2.E2H=0 TCR_EL2 has its own layout: one range, DS at bit "
        "32. Protected KVM (pKVM) also puts the host under a stage 2 of its own; its "
        "hypervisor may run with E2H=1 (hVHE), TCR_EL2 then taking the TCR_EL1 layout.",
        ["non-VHE", "pKVM", "protected", "hVHE"],
        ["vhe", "stage2"],
        ["hyp-pgtable", "hvhe-opt-in", "hvhe-protected", "pkvm-host-s2"],
    ),
    _t(
        "tbi",
        "TBI",
        "Top Byte Ignore (TCR.TBI0/TBI1/TBI): VA[63:56] take no part in translation, so the VA "
        "range check looks at bits [55:iasize] only.",
        ["TBI0", "TBI1"],
        ["va"],
    ),
    _t(
        "epd",
        "EPD",
        "EPD0/EPD1 in TCR_EL1: disable walks through TTBR0 or TTBR1; a TLB miss in that range "
        "gives a level-0 Translation fault.",
        ["EPD0", "EPD1"],
        ["e0pd"],
    ),
    _t(
        "e0pd",
        "E0PD",
        "FEAT_E0PD: E0PD0/E0PD1 make every EL0 access to that half of the address space fault "
        "(level 0 Translation fault), used to hide kernel addresses from user space.",
        ["E0PD0", "E0PD1"],
        ["epd"],
    ),
    _t(
        "sh",
        "Shareability (SH)",
        "Descriptor bits [9:8] with DS=0: Non-, Outer or Inner Shareable. With DS=1 these bits "
        "are OA[51:50] and the shareability of every leaf comes from TCR.SHx / VTCR.SH0.",
        ["SH", "shareability"],
        ["ds", "oa"],
    ),
)

TERMS_BY_SLUG: dict[str, Term] = {t.slug: t for t in TERMS}


def term(slug: str) -> Term:
    return TERMS_BY_SLUG[slug]


def _spelling_index() -> dict[str, Term]:
    index: dict[str, Term] = {}
    for t in TERMS:
        for spelling in t.spellings:
            index.setdefault(spelling.lower(), t)
    return index


SPELLINGS: dict[str, Term] = _spelling_index()

# Longest spellings first so that "52-bit TTBR format" wins over "TTBR". Short uppercase
# acronyms match case-sensitively (so "pa" inside a word or "page" as plain English do not
# turn into links); longer phrases ignore case.
_ORDERED = sorted(SPELLINGS, key=len, reverse=True)
_PATTERN = re.compile(
    r"(?<![\w\-\[])(" + "|".join(re.escape(s) for s in _ORDERED) + r")(?![\w])",
    re.IGNORECASE,
)
_PROSE_WORDS = {"page", "table", "block", "level", "descriptors", "granule", "page size"}


def _strict(spelling: str) -> bool:
    """Acronyms and register names only match in their own case."""
    return spelling.isupper() or "_" in spelling


def lookup(text: str) -> Term | None:
    """The term a spelling names (case-insensitive), or None."""
    return SPELLINGS.get(text.strip().lower())


def anchor_for(name: str) -> str:
    """``/glossary#term-...`` for a term slug or spelling; raises KeyError if unknown."""
    t = TERMS_BY_SLUG.get(name) or lookup(name)
    if t is None:
        raise KeyError(f"no glossary term {name!r}")
    return f"/glossary#{t.anchor}"


def find_terms(text: str, first_only: bool = True) -> list[tuple[int, int, Term]]:
    """Spans ``(start, end, term)`` of glossary spellings in ``text``.

    Acronyms must match in their own case; plain English words (page, table, ...) are not
    linked because they are too common. With ``first_only`` each term is linked once.
    """
    spans: list[tuple[int, int, Term]] = []
    seen: set[str] = set()
    for m in _PATTERN.finditer(text):
        word = m.group(1)
        t = SPELLINGS[word.lower()]
        if word.lower() in _PROSE_WORDS:
            continue
        strict = [s for s in t.spellings if s.lower() == word.lower() and _strict(s)]
        if strict and word not in strict:
            continue
        if first_only and t.slug in seen:
            continue
        seen.add(t.slug)
        spans.append((m.start(1), m.end(1), t))
    return spans
