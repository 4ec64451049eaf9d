"""Linux names for a walk: the kernel configuration it corresponds to, the kernel's name for
each table level, and how KVM would configure the same stage 2 (or its own EL2 tables).

Every statement is a ``Fact`` carrying the kernel file it comes from, so a reviewer can check
it. The arithmetic (levels, start levels, concatenation) is the model's own
(``model.geometry``); the Linux rules are stated once here:

* ``CONFIG_PGTABLE_LEVELS`` defaults (arch/arm64/Kconfig): 2 for 16K/36-bit and 64K/42-bit;
  3 for 4K/39-bit, 16K/47-bit and 64K/48- or 52-bit; 4 for 16K/48- or 52-bit and 4K/48-bit;
  5 for 4K/52-bit.
* Folding (arch/arm64/include/asm/pgtable-types.h includes asm-generic/pgtable-nopmd.h,
  -nopud.h or -nop4d.h for 2, 3 or 4 levels): the top level is always pgd and the last pte;
  p4d exists only with 5 levels, pud with 4 or more, pmd with 3 or more.
* KVM stage 2 (arch/arm64/kvm/hyp/pgtable.c ``kvm_get_vtcr``): levels =
  ``stage2_pgtable_levels(ipa)`` = ``ARM64_HW_PGTABLE_LEVELS(ipa - 4)``
  (arch/arm64/include/asm/stage2_pgtable.h), at least 2; the remaining bits are covered by
  concatenated start tables; ``VTCR_EL2.DS`` is set when LPA2 is in use.
* KVM block levels: ``KVM_PGTABLE_MIN_BLOCK_LEVEL`` is 1 for 4K and 2 otherwise
  (arch/arm64/include/asm/kvm_pgtable.h), so KVM never maps the 512GB (4K L0) or 64GB (16K L1)
  LPA2 blocks.
* KVM's EL2 stage 1 (nVHE, protected): ``kvm_pgtable_hyp_init`` starts at
  ``KVM_PGTABLE_LAST_LEVEL + 1 - ARM64_HW_PGTABLE_LEVELS(va_bits)`` (arch/arm64/kvm/hyp/pgtable.c).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from model.arch import geometry as geo
from model.arch.walker import Regime, WalkParams, WalkResult
from model.explore.configs import Configuration, run

KCONFIG = "arch/arm64/Kconfig"
PGTABLE_TYPES = "arch/arm64/include/asm/pgtable-types.h"
HWDEF = "arch/arm64/include/asm/pgtable-hwdef.h"
KVM_PGTABLE_H = "arch/arm64/include/asm/kvm_pgtable.h"
KVM_PGTABLE_C = "arch/arm64/kvm/hyp/pgtable.c"
STAGE2_PGTABLE_H = "arch/arm64/include/asm/stage2_pgtable.h"

PAGE_OPTION = {
    4: "CONFIG_ARM64_4K_PAGES",
    16: "CONFIG_ARM64_16K_PAGES",
    64: "CONFIG_ARM64_64K_PAGES",
}
VA_OPTIONS = {4: (39, 48, 52), 16: (36, 47, 48, 52), 64: (42, 48, 52)}
KVM_MIN_BLOCK_LEVEL = {4: 1, 16: 2, 64: 2}
SL0_BASE = {4: 2, 16: 3, 64: 3}  # VTCR_EL2_TGRAN_SL0_BASE (arch/arm64/include/asm/kvm_arm.h)

_NAMES = {
    5: ("pgd", "p4d", "pud", "pmd", "pte"),
    4: ("pgd", "pud", "pmd", "pte"),
    3: ("pgd", "pmd", "pte"),
    2: ("pgd", "pte"),
    1: ("pgd",),
}


@dataclass(frozen=True)
class Fact:
    text: str
    source: str

    def to_dict(self) -> dict:
        return asdict(self)


def hw_pgtable_levels(va_bits: int, granule_kb: int) -> int:
    """ARM64_HW_PGTABLE_LEVELS(va_bits) = (va_bits - 4) / (PAGE_SHIFT - 3) (pgtable-hwdef.h)."""
    return (va_bits - 4) // geo.stride(granule_kb)


def pgtable_levels(granule_kb: int, va_bits: int) -> int | None:
    """CONFIG_PGTABLE_LEVELS for a page size and CONFIG_ARM64_VA_BITS (arch/arm64/Kconfig)."""
    if va_bits not in VA_OPTIONS[granule_kb]:
        return None
    table = {
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
    return table[(granule_kb, va_bits)]


def table_names(levels: int) -> tuple[str, ...]:
    """Kernel names of the tables from the top level down, with folding applied."""
    return _NAMES[max(1, min(5, levels))]


def level_names(start_level: int) -> list[dict]:
    """[{level, name}] for a walk from ``start_level`` to 3."""
    names = table_names(3 - start_level + 1)
    return [{"level": lvl, "name": n} for lvl, n in zip(range(start_level, 4), names, strict=True)]


def kvm_stage2_levels(ipa_bits: int, granule_kb: int) -> int:
    """Levels KVM uses for a stage 2 of ``ipa_bits``: stage2_pgtable_levels, at least 2."""
    return max(2, hw_pgtable_levels(ipa_bits - 4, granule_kb))


def kvm_stage2(ipa_bits: int, granule_kb: int, lpa2: bool) -> dict:
    """How KVM would set up a stage 2 for this IPA size and page size."""
    levels = kvm_stage2_levels(ipa_bits, granule_kb)
    start = 4 - levels
    concat = geo.concatenated_tables(ipa_bits, granule_kb, start)
    sl0 = SL0_BASE[granule_kb] - start
    return {
        "levels": levels,
        "start_level": start,
        "concatenated": concat,
        "sl0": sl0,
        "t0sz": 64 - ipa_bits,
        "ds": int(lpa2 and granule_kb != 64),
        "min_block_level": KVM_MIN_BLOCK_LEVEL[granule_kb],
        "index": geo.index_bits(start, ipa_bits, granule_kb, start),
    }


def _stage1_facts(p: WalkParams, regime: str) -> tuple[list[Fact], list[dict]]:
    g, va = p.granule_kb, p.iasize
    facts = [Fact(f"{PAGE_OPTION[g]}=y: the {g}KB granule.", KCONFIG)]
    levels = 3 - p.start_level + 1
    if va in VA_OPTIONS[g]:
        facts.append(
            Fact(f"CONFIG_ARM64_VA_BITS_{va}=y: a {va}-bit virtual address space.", KCONFIG)
        )
        cfg_levels = pgtable_levels(g, va)
        facts.append(
            Fact(
                f"CONFIG_PGTABLE_LEVELS={cfg_levels} (the Kconfig default for {g}K pages and "
                f"{va}-bit VAs); ARM64_HW_PGTABLE_LEVELS({va}) = {hw_pgtable_levels(va, g)}.",
                KCONFIG,
            )
        )
    else:
        options = ", ".join(str(v) for v in VA_OPTIONS[g])
        facts.append(
            Fact(
                f"No CONFIG_ARM64_VA_BITS_{va} exists: with {g}K pages Linux offers {options}-bit "
                f"VAs. This {va}-bit walk has {levels} levels.",
                KCONFIG,
            )
        )
    if va == 52 and g != 64:
        facts.append(
            Fact(
                "52-bit VAs with 4K/16K pages need FEAT_LPA2: the kernel sets TCR_EL1.DS at "
                "boot when the CPU supports it and otherwise falls back to 48 bits "
                "(47 for 16K).",
                KCONFIG,
            )
        )
    pa = 52 if p.oa_bits == 52 else 48
    pa_text = f"CONFIG_ARM64_PA_BITS_{pa}: {p.oa_bits}-bit output addresses."
    if pa == 52 and g != 64:
        pa_text += " For 4K/16K pages this is only offered with CONFIG_ARM64_VA_BITS_52."
    if pa == 48 and va == 52 and g != 64:
        pa_text += (
            " Linux builds no such kernel: ARM64_PA_BITS_48 depends on ARM64_64K_PAGES || "
            "!ARM64_VA_BITS_52, so a 52-bit VA kernel with 4K/16K pages runs with 52-bit PAs."
        )
    facts.append(Fact(pa_text, KCONFIG))
    if p.ds:
        facts.append(
            Fact(
                "With LPA2 the kernel keeps SH out of its descriptors (PTE_MAYBE_SHARED is 0) "
                "and moves PA[51:50] into bits [9:8] (PTE_ADDR_HIGH, shift 42).",
                HWDEF,
            )
        )
    names = level_names(p.start_level)
    facts.append(
        Fact(
            f"{levels} levels: "
            + ", ".join(f"{n['name']} (level {n['level']})" for n in names)
            + ". Fewer than 5 levels fold p4d, then pud, then pmd into the level above.",
            PGTABLE_TYPES,
        )
    )
    if regime == Regime.EL2.value:
        start = 3 + 1 - hw_pgtable_levels(va, g)
        facts.append(
            Fact(
                f"KVM's own EL2 tables (nVHE/protected) for a {va}-bit hyp VA space start at "
                f"level {start} = KVM_PGTABLE_LAST_LEVEL + 1 - ARM64_HW_PGTABLE_LEVELS({va}); "
                "KVM sizes that space from the kernel's ID map and VA size.",
                KVM_PGTABLE_C,
            )
        )
    return facts, names


def _stage2_facts(p: WalkParams, leaf_level: int | None, leaf_kind: str | None) -> list[Fact]:
    g, ipa = p.granule_kb, p.iasize
    kvm = kvm_stage2(ipa, g, p.ds)
    hi, lo = kvm["index"]
    facts = [
        Fact(
            f"KVM would give a {ipa}-bit IPA space {kvm['levels']} levels "
            f"(stage2_pgtable_levels({ipa}) = ARM64_HW_PGTABLE_LEVELS({ipa - 4}), at least 2): "
            f"start level {kvm['start_level']}, IPA[{hi}:{lo}] indexing "
            f"{kvm['concatenated']} concatenated table(s).",
            STAGE2_PGTABLE_H,
        ),
        Fact(
            f"VTCR_EL2.T0SZ={kvm['t0sz']}, SL0={kvm['sl0']:#04b} "
            f"(VTCR_EL2_TGRAN_SL0_BASE {SL0_BASE[g]} - start level), DS={kvm['ds']}: "
            "KVM never sets SL2, so its stage 2 never starts at level -1.",
            KVM_PGTABLE_C,
        ),
    ]
    if p.start_level != kvm["start_level"]:
        facts.append(
            Fact(
                f"This walk starts at level {p.start_level} with {p.concatenated_tables} start "
                f"table(s); KVM would start at level {kvm['start_level']} with "
                f"{kvm['concatenated']}.",
                KVM_PGTABLE_C,
            )
        )
    facts.append(
        Fact(
            f"KVM_PGTABLE_MIN_BLOCK_LEVEL is {kvm['min_block_level']} for {g}K pages: KVM maps "
            f"blocks at level {kvm['min_block_level']} and below only"
            + (", never the 512GB level-0 blocks LPA2 allows." if g == 4 else ".")
            + (" It does not use the 64GB level-1 blocks either." if g == 16 else ""),
            KVM_PGTABLE_H,
        )
    )
    if leaf_kind == "block" and leaf_level is not None and leaf_level < kvm["min_block_level"]:
        facts.append(
            Fact(
                f"This walk ends in a level-{leaf_level} block, which KVM would never create.",
                KVM_PGTABLE_H,
            )
        )
    if p.ds:
        facts.append(
            Fact(
                "kvm_lpa2_is_enabled(): KVM then reads PA[51:50] from descriptor bits [9:8] "
                "(KVM_PTE_ADDR_51_50_LPA2) and leaves SH out of its stage-2 descriptors.",
                KVM_PGTABLE_H,
            )
        )
    return facts


def linux_view(config: Configuration, result: WalkResult | None = None) -> dict:
    """The ``linux`` context for templates/partials/linux_names.html."""
    result = result or run(config)
    out: dict = {"kernel": [], "levels": [], "kvm": [], "stage1": None, "stage2": None}
    p1 = result.params.get("s1")
    if p1 is not None:
        who = {
            Regime.EL2.value: "KVM's nVHE hypervisor (EL2, E2H=0)",
            Regime.EL20.value: "a VHE host kernel (EL2&0)",
            Regime.EL10_S12.value: "the guest kernel",
        }.get(config.regime, "the kernel (EL1&0)")
        facts, names = _stage1_facts(p1, config.regime)
        out["stage1"] = who
        out["kernel"] = [f.to_dict() for f in facts]
        out["levels"] = names
    p2 = result.params.get("s2")
    if p2 is not None and (config.regime != Regime.EL10.value or result.s2_final is not None):
        s2_reads = [r.read for r in result.reads(nested=False) if r.read.stage == 2]
        leaf = next((lr for lr in reversed(s2_reads) if lr.kind in ("block", "page")), None)
        facts = _stage2_facts(p2, leaf.level if leaf else None, leaf.kind if leaf else None)
        out["stage2"] = "the guest's stage 2 (KVM)"
        out["kvm"] = [f.to_dict() for f in facts]
        if p1 is None:
            out["levels"] = [
                {"level": lvl, "name": f"level {lvl}"} for lvl in range(p2.start_level, 4)
            ]
    return out
