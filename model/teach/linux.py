"""Linux names for a walk: the kernel configuration it corresponds to, the kernel's name for
each table level, and what KVM would program for the same regime - for a chosen kernel release.

Every line is a ``Statement`` resting on one ``kernel_facts`` entry (so the page can show the
release range and a link to the code). What KVM would do is worked out from the CPU preset's ID
registers (``kvm_setup``: KVM's format is has_lpa2(), the hardware's answer at both stages),
never from the DS bit of the walk being shown: the point of the panel is to say where a walk
and Linux's choice differ.
"""

from __future__ import annotations

from dataclasses import dataclass

from model.arch.cpu import CPU_PRESETS
from model.arch.faults import FaultKind
from model.arch.fields import HCR_EL2
from model.arch.walker import Regime, WalkParams, WalkResult
from model.explore.configs import Configuration, run

from .kernel_facts import (
    VERSIONS,
    KernelVersion,
    Statement,
    fact,
    version,
)
from .kvm_setup import (
    KVM_MIN_BLOCK_LEVEL,
    SL0_BASE,
    Hardware,
    hw_pgtable_levels,
    kvm_lpa2_enabled,
    kvm_stage2,
    kvm_stage2_levels,
)

__all__ = [
    "hw_pgtable_levels",
    "kvm_stage2",
    "kvm_stage2_levels",
    "level_names",
    "linux_view",
    "pgtable_levels",
    "table_names",
    "view_key",
    "fsc_statements",
    "statement_facts",
]

PAGE_OPTION = {
    4: "CONFIG_ARM64_4K_PAGES",
    16: "CONFIG_ARM64_16K_PAGES",
    64: "CONFIG_ARM64_64K_PAGES",
}
VA_OPTIONS = {4: (39, 48, 52), 16: (36, 47, 48, 52), 64: (42, 48, 52)}
_LEVELS_DEFAULT = {
    (16, 36): 2,
    (64, 42): 2,
    (64, 48): 3,
    (64, 52): 3,
    (4, 39): 3,
    (16, 47): 3,
    (16, 48): 4,
    (16, 52): 4,
    (4, 48): 4,
    (4, 52): 5,
}
_NAMES = {
    5: ("pgd", "p4d", "pud", "pmd", "pte"),
    4: ("pgd", "pud", "pmd", "pte"),
    3: ("pgd", "pmd", "pte"),
    2: ("pgd", "pte"),
    1: ("pgd",),
}
ADDRSZ_L_MINUS_1 = 0x29


def pgtable_levels(granule_kb: int, va_bits: int) -> int | None:
    """CONFIG_PGTABLE_LEVELS for a page size and CONFIG_ARM64_VA_BITS (arch/arm64/Kconfig)."""
    if va_bits not in VA_OPTIONS[granule_kb]:
        return None
    return _LEVELS_DEFAULT[(granule_kb, va_bits)]


def table_names(levels: int) -> tuple[str, ...]:
    """Kernel names of the tables from the top level down, with folding applied."""
    return _NAMES[max(1, min(5, levels))]


def level_names(start_level: int) -> list[dict]:
    """[{level, name}] for a walk from ``start_level`` to 3."""
    names = table_names(3 - start_level + 1)
    return [{"level": lvl, "name": n} for lvl, n in zip(range(start_level, 4), names, strict=True)]


def _at_least(v: KernelVersion, tag: str) -> bool:
    return v.number >= version(tag).number


# -- the host kernel's stage 1 ------------------------------------------------------------


def _kernel_statements(p: WalkParams, hw: Hardware, v: KernelVersion) -> list[Statement]:
    g, va = p.granule_kb, p.iasize
    levels = 3 - p.start_level + 1
    out = [Statement(f"{PAGE_OPTION[g]}=y: the {g}KB granule.", "pgtable-levels")]
    if va == 52 and g != 64 and not _at_least(v, "v6.9"):
        out.append(
            Statement(
                f"No {v.tag} kernel has 52-bit VAs with {g}K pages: CONFIG_ARM64_VA_BITS_52 "
                "needs 64K pages before v6.9.",
                "kconfig-va52-64k-only",
            )
        )
    elif va in VA_OPTIONS[g]:
        cfg = pgtable_levels(g, va)
        key = "pgtable-levels-52" if va == 52 and g != 64 else "pgtable-levels"
        out.append(
            Statement(
                f"CONFIG_ARM64_VA_BITS_{va}=y and CONFIG_PGTABLE_LEVELS={cfg}: a {va}-bit "
                f"walk has ARM64_HW_PGTABLE_LEVELS({va}) = {hw_pgtable_levels(va, g)} levels.",
                key,
            )
        )
    else:
        options = ", ".join(str(o) for o in VA_OPTIONS[g])
        out.append(
            Statement(
                f"No CONFIG_ARM64_VA_BITS_{va}: with {g}K pages Linux offers {options}-bit "
                f"VAs. This {va}-bit walk has {levels} levels.",
                "pgtable-levels",
            )
        )
    out += _kernel_ds(p, hw, v)
    out += _kernel_pa(p, v)
    if p.ds and _at_least(v, "v6.9"):
        out.append(
            Statement(
                "The kernel's LPA2 descriptors put PA[51:50] in bits [9:8] and leave SH out; "
                "shareability comes from TCR_EL1.SH0/SH1.",
                "host-lpa2-descriptors",
            )
        )
    return out


def _kernel_ds(p: WalkParams, hw: Hardware, v: KernelVersion) -> list[Statement]:
    g, va = p.granule_kb, p.iasize
    if g == 64:
        return []
    if not _at_least(v, "v6.9"):
        text = "The host kernel never sets DS in this release."
        if p.ds:
            text += " This walk's DS=1 is not a Linux host's."
        return [Statement(text, "host-lpa2-stub")]
    linux_ds = va == 52 and hw.lpa2_s1
    if linux_ds == p.ds:
        text = f"DS={int(p.ds)} is what Linux sets for a {va}-bit VA on this CPU."
    elif p.ds:
        text = (
            f"Linux sets DS only for 52-bit VAs on a CPU with stage-1 LPA2; it would not run "
            f"a {va}-bit space with DS=1."
        )
    else:
        text = "Linux would set DS=1 here (52-bit VAs, LPA2 at stage 1); this walk has DS=0."
    return [Statement(text, "host-lpa2")]


def _kernel_pa(p: WalkParams, v: KernelVersion) -> list[Statement]:
    g = p.granule_kb
    pa = 52 if p.oa_bits == 52 else 48
    if _at_least(v, "v6.14"):
        return [
            Statement(
                f"{p.oa_bits}-bit output addresses; there is no PA size option in {v.tag}.",
                "kconfig-pa-removed",
            )
        ]
    text = f"CONFIG_ARM64_PA_BITS_{pa}: {p.oa_bits}-bit output addresses."
    if not _at_least(v, "v6.9"):
        if pa == 52 and g != 64:
            text = f"No {v.tag} kernel has 52-bit PAs with {g}K pages."
        return [Statement(text, "kconfig-pa-64k-only")]
    if g != 64 and pa == 52 and p.iasize != 52:
        text += " For 4K/16K pages this option needs CONFIG_ARM64_VA_BITS_52."
    if g != 64 and pa == 48 and p.iasize == 52:
        text += " Linux builds no such kernel: a 52-bit VA kernel with 4K/16K pages has 52-bit PAs."
    return [Statement(text, "kconfig-pa-bits")]


# -- KVM's own EL2 tables -------------------------------------------------------------------


def _hyp_statements(
    p: WalkParams, hw: Hardware, v: KernelVersion, e2h: bool = False
) -> list[Statement]:
    g, va = p.granule_kb, p.iasize
    start = 3 + 1 - hw_pgtable_levels(va, g)
    out = []
    if e2h:
        if _at_least(v, "v6.10"):
            out.append(
                Statement(
                    "kvm-arm.mode=protected runs the hypervisor like this (hVHE) on CPUs with VHE.",
                    "hvhe-protected",
                )
            )
        else:
            out.append(Statement("hVHE needs arm64_sw.hvhe=1 in this release.", "hvhe-opt-in"))
        if _at_least(v, "v6.14"):
            out.append(
                Statement(
                    f"TCR_EL2 is the host's TCR_EL1 with T0SZ for the hyp VA space: this walk's "
                    f"DS={int(p.ds)} is the host's.",
                    "hvhe-tcr",
                )
            )
        else:
            out.append(
                Statement(
                    "TCR_EL2 is the host's TCR_EL1 (DS at bit 59 is the host's), with KVM's PS "
                    "and DS written at their E2H=0 positions (T1SZ[2:0], IPS[0]).",
                    "hvhe-tcr-e2h0-bits",
                )
            )
    out += [
        Statement(
            f"A {va}-bit hyp VA space: kvm_pgtable_hyp_init() starts at level {start} "
            f"(KVM_PGTABLE_LAST_LEVEL + 1 - ARM64_HW_PGTABLE_LEVELS({va})).",
            "hyp-pgtable",
        )
    ]
    if _at_least(v, "v6.9") and va < 48:
        out.append(
            Statement(
                f"KVM never uses fewer than 48 bits here: hyp_va_bits = max(48, "
                f"vabits_actual), so a {va}-bit host still gets a 48-bit hyp stage 1.",
                "hyp-va-bits",
            )
        )
    elif _at_least(v, "v6.9"):
        out.append(
            Statement(f"hyp_va_bits is {va} when the host runs with {va}-bit VAs.", "hyp-va-bits")
        )
    else:
        out.append(
            Statement(
                f"hyp_va_bits is {va} when the host's VAs and ID map are that wide.",
                "hyp-va-bits-idmap",
            )
        )
    kvm_fmt = kvm_lpa2_enabled(hw, g)
    if g != 64:
        if e2h:
            pass
        elif _at_least(v, "v6.14"):
            text = (
                "KVM sets TCR_EL2.DS from the host's lpa2_is_enabled(): 1 only under a 52-bit "
                "VA host on a CPU with stage-1 LPA2."
            )
            if p.ds and va < 52:
                text += f" A {va}-bit hyp VA space with DS=1 does not occur."
            out.append(Statement(text, "hyp-tcr-host"))
        else:
            out.append(
                Statement(
                    f"KVM sets TCR_EL2.DS from kvm_lpa2_is_enabled(), {int(kvm_fmt)} on this "
                    f"CPU; this walk has DS={int(p.ds)}.",
                    "hyp-tcr-kvm",
                )
            )
        out.append(
            Statement(
                f"KVM writes its hyp descriptors in the {'LPA2' if kvm_fmt else 'DS=0'} format "
                f"on this CPU (kvm_lpa2_is_enabled()={int(kvm_fmt)}).",
                "kvm-pte-format",
            )
        )
    out.append(
        Statement(
            "The hypervisor's tables are KVM's kvm_pgtable, not the host's pgd...pte: the "
            "levels are named by number.",
            "hyp-pgtable",
        )
    )
    return out


# -- KVM's stage 2 --------------------------------------------------------------------------


def _stage2_statements(
    p: WalkParams,
    hw: Hardware,
    v: KernelVersion,
    leaf_level: int | None,
    leaf_kind: str | None,
) -> list[Statement]:
    g, ipa = p.granule_kb, p.iasize
    kvm = kvm_stage2(ipa, g)
    kvm_fmt = kvm_lpa2_enabled(hw, g)
    limit = hw.pa_bits if (kvm_fmt or g == 64) else min(hw.pa_bits, 48)
    hi, lo = kvm["index"]
    out = [
        Statement(
            f"kvm_lpa2_is_enabled() is {int(kvm_fmt)} on this CPU, so KVM sets VTCR_EL2.DS="
            f"{int(kvm_fmt)}" + ("." if kvm_fmt == p.ds else f"; this walk has DS={int(p.ds)}."),
            "kvm-lpa2-64k" if g == 64 else "kvm-lpa2",
        ),
        Statement(
            f"KVM's IPA limit on this CPU with {g}K pages: {limit} bits"
            + (" - this walk's IPA size is above it." if ipa > limit else "."),
            "kvm-ipa-limit",
        ),
        Statement(
            f"For a {ipa}-bit IPA KVM uses {kvm['levels']} levels (stage2_pgtable_levels({ipa}) "
            f"= ARM64_HW_PGTABLE_LEVELS({ipa - 4}), at least 2): start level "
            f"{kvm['start_level']}, IPA[{hi}:{lo}] indexing {kvm['concatenated']} "
            f"concatenated table(s), VTCR_EL2.T0SZ={kvm['t0sz']}, SL0={kvm['sl0']:#04b} "
            f"(VTCR_EL2_TGRAN_SL0_BASE {SL0_BASE[g]} - start level), never SL2.",
            "kvm-s2-levels",
        ),
    ]
    if p.start_level != kvm["start_level"]:
        out.append(
            Statement(
                f"This walk starts at level {p.start_level} with {p.concatenated_tables} start "
                f"table(s); KVM would start at level {kvm['start_level']} with "
                f"{kvm['concatenated']}.",
                "kvm-s2-levels",
            )
        )
    mbl = KVM_MIN_BLOCK_LEVEL[g]
    out.append(
        Statement(
            f"KVM_PGTABLE_MIN_BLOCK_LEVEL is {mbl} for {g}K pages: KVM maps blocks at level "
            f"{mbl} and below only.",
            "kvm-min-block",
        )
    )
    if leaf_kind == "block" and leaf_level is not None and leaf_level < mbl:
        out.append(
            Statement(
                f"This walk ends in a level-{leaf_level} block, which KVM would never create.",
                "kvm-min-block",
            )
        )
    if p.ds:
        out.append(
            Statement(
                "With DS=1 KVM reads PA[51:50] from descriptor bits [9:8] "
                "(KVM_PTE_ADDR_51_50_LPA2) and leaves SH out of its stage-2 descriptors.",
                "kvm-pte-format",
            )
        )
    return out


# -- fault status codes -------------------------------------------------------------------


def fsc_statements(fsc: int, kernel: str | None = None) -> list[Statement]:
    """What a reader of Linux's esr.h (of one release) should know about this fault code."""
    v = version(kernel)
    wrong, right = fact("esr-addrsz-nl-0x25"), fact("esr-addrsz-nl")
    if fsc == ADDRSZ_L_MINUS_1 and wrong.holds(v):
        return [
            Statement(
                "Linux's ESR_ELx_FSC_ADDRSZ_nL(-1) gives 0x25 up to v7.1, not the 0x29 the "
                "CPU reports: the macro is wrong (0x25 is a Granule Protection Fault on a walk "
                "at level 1) and was corrected in v7.2.",
                wrong.key,
            )
        ]
    if fsc == ADDRSZ_L_MINUS_1 and right.holds(v):
        return [
            Statement(
                "ESR_ELx_FSC_ADDRSZ_nL(-1) gives 0x29; trees from v6.9 to v7.1 return 0x25 and "
                "disagree with the hardware.",
                right.key,
            )
        ]
    if fsc == 0x25 and wrong.holds(v):
        return [
            Statement(
                "0x25 is a Granule Protection Fault on a walk at level 1, but up to v7.1 Linux's "
                "ESR_ELx_FSC_ADDRSZ_nL(-1) also returns 0x25 - wrongly: an Address size fault "
                "at level -1 is 0x29.",
                wrong.key,
            )
        ]
    return []


# -- the panel ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Leaf:
    level: int | None
    kind: str | None


def _s2_levels(result: WalkResult):
    return [ref.read for ref in result.reads(nested=False) if ref.read.stage == 2]


def _s2_leaf(result: WalkResult) -> _Leaf:
    leaf = next((lr for lr in reversed(_s2_levels(result)) if lr.kind in ("block", "page")), None)
    return _Leaf(leaf.level if leaf else None, leaf.kind if leaf else None)


def view_key(config: Configuration, result: WalkResult, kernel: str | None = None) -> tuple:
    """Everything ``linux_view`` reads, for caching a panel between walks that differ only in
    what the panel does not show (an address bit, a descriptor's permission bits)."""

    def params(p: WalkParams | None):
        if p is None:
            return None
        return (p.granule_kb, p.iasize, p.start_level, p.oa_bits, p.ds, p.concatenated_tables)

    fault = result.fault
    return (
        version(kernel).tag,
        config.regime,
        config.cpu,
        params(result.params.get("s1")),
        params(result.params.get("s2")),
        result.s2_final is not None,
        tuple((lr.level, lr.kind) for lr in _s2_levels(result)),
        None if fault is None else fault.fsc,
    )


def _tge(config: Configuration) -> bool:
    """HCR_EL2.TGE: set for a VHE host kernel, clear while the hVHE hypervisor runs."""
    return bool(HCR_EL2.get(config.registers.get("HCR_EL2", 0), "TGE"))


def _names_hyp(start_level: int) -> list[dict]:
    return [{"level": lvl, "name": "hyp"} for lvl in range(start_level, 4)]


def linux_view(
    config: Configuration, result: WalkResult | None = None, kernel: str | None = None
) -> dict:
    """The ``linux`` context for templates/partials/linux_names.html, for one release."""
    v = version(kernel)
    result = result or run(config)
    cpu = CPU_PRESETS[config.cpu]
    out: dict = {
        "version": v.tag,
        "versions": [
            {"tag": x.tag, "label": x.label, "selected": x.tag == v.tag} for x in VERSIONS
        ],
        "stage1": None,
        "stage1_statements": [],
        "levels": [],
        "stage2": None,
        "stage2_statements": [],
        "notes": [],
    }
    p1 = result.params.get("s1")
    if p1 is not None:
        hw = Hardware.from_cpu(cpu, p1.granule_kb)
        hvhe = config.regime == Regime.EL20.value and not _tge(config)
        if config.regime == Regime.EL2.value or hvhe:
            out["stage1"] = (
                "KVM's hypervisor with hVHE (EL2, E2H=1, TGE=0)"
                if hvhe
                else "KVM's nVHE/protected hypervisor (EL2, E2H=0)"
            )
            statements = _hyp_statements(p1, hw, v, hvhe)
            out["levels"] = _names_hyp(p1.start_level)
        else:
            out["stage1"] = {
                Regime.EL20.value: "a VHE host kernel (EL2&0)",
                Regime.EL10_S12.value: "the guest kernel",
            }.get(config.regime, "the kernel (EL1&0)")
            statements = _kernel_statements(p1, hw, v)
            names = level_names(p1.start_level)
            statements.append(
                Statement(
                    f"{len(names)} levels: "
                    + ", ".join(f"{n['name']} (level {n['level']})" for n in names)
                    + ".",
                    "pgtable-folding",
                )
            )
            out["levels"] = names
        out["stage1_statements"] = [s.to_dict(v) for s in statements]
    p2 = result.params.get("s2")
    if p2 is not None and (config.regime != Regime.EL10.value or result.s2_final is not None):
        hw2 = Hardware.from_cpu(cpu, p2.granule_kb)
        leaf = _s2_leaf(result)
        out["stage2"] = "the guest's stage 2 (KVM)"
        out["stage2_statements"] = [
            s.to_dict(v) for s in _stage2_statements(p2, hw2, v, leaf.level, leaf.kind)
        ]
        if p1 is None:
            out["levels"] = [
                {"level": lvl, "name": f"level {lvl}"} for lvl in range(p2.start_level, 4)
            ]
    fault = result.fault
    if fault is not None and fault.kind == FaultKind.ADDRESS_SIZE:
        out["notes"] = [s.to_dict(v) for s in fsc_statements(fault.fsc, v.tag)]
    return out


def statement_facts(view: dict) -> list[str]:
    """The fact keys a panel cites (for tests and for listing sources)."""
    keys = []
    for group in ("stage1_statements", "stage2_statements", "notes"):
        keys += [s["fact"]["key"] for s in view[group] if s["fact"]]
    return keys
