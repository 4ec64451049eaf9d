"""Linux/KVM facts about LPA2, each with the kernel releases it holds for and its source.

Every Linux or KVM statement the product makes (the configuration matrix, the Linux names
beside a walk, the tour, the glossary, the decoder) cites one ``KernelFact`` of ``FACTS``: the
rule, the first and last mainline release it holds for, the file and function (or Kconfig
symbol) that implement it, and the commit that introduced or changed it.

Version ranges are mainline release tags. A fix that a stable branch took as well is named in
``note`` ("also in 6.13.y"): the range still describes the mainline releases, because the
stable point release that picked a fix up differs between branches.

Links go to the Elixir cross-referencer (elixir.bootlin.com): it serves every release tag
under a stable URL (``/linux/v6.14/source/<path>``) and resolves identifiers per tag
(``/linux/v6.14/A/ident/<name>``), so a link shows the code of exactly the release the page
talks about. git.kernel.org blob links would need a commit or tag plus line numbers that move
between releases, and GitHub's torvalds/linux is only a mirror.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

ELIXIR = "https://elixir.bootlin.com/linux"
# Short commit links on git.kernel.org (mainline tree).
GIT_KERNEL = "https://git.kernel.org/torvalds/c"

# -- kernel releases the selector offers ----------------------------------------------------


@dataclass(frozen=True)
class KernelVersion:
    tag: str  # "v6.14"
    what: str  # why this release is on the list

    @property
    def number(self) -> tuple[int, int]:
        major, minor = self.tag[1:].split(".")
        return int(major), int(minor)

    @property
    def name(self) -> str:
        return self.tag[1:]

    @property
    def label(self) -> str:
        return f"{self.tag}: {self.what}"


VERSIONS: tuple[KernelVersion, ...] = (
    KernelVersion("v6.8", "first release with KVM LPA2 (guest stage 2, hyp stage 1)"),
    KernelVersion("v6.9", "host stage-1 LPA2: 52-bit VAs with 4K/16K pages"),
    KernelVersion("v6.10", "protected mode runs with hVHE on VHE CPUs"),
    KernelVersion("v6.13", "last release before the hyp TCR_EL2 change"),
    KernelVersion("v6.14", "hyp TCR_EL2.PS/DS follow the host; PA size no longer configurable"),
    # The latest mainline release the sources consulted establish (Linux 7.2, August 2026).
    KernelVersion("v7.2", "current mainline"),
)
VERSIONS_BY_TAG = {v.tag: v for v in VERSIONS}
DEFAULT_VERSION = VERSIONS[-1]
FIRST_KVM_LPA2 = VERSIONS_BY_TAG["v6.8"]
HYP_TCR_CHANGE = VERSIONS_BY_TAG["v6.14"]


def version(tag: str | None) -> KernelVersion:
    """The release for a selector value: ``v6.14`` or ``6.14``; ValueError names the choices."""
    if tag is None or tag == "":
        return DEFAULT_VERSION
    key = tag.strip().lower()
    key = key if key.startswith("v") else "v" + key
    if key not in VERSIONS_BY_TAG:
        known = ", ".join(v.tag for v in VERSIONS)
        raise ValueError(f"not a kernel version this page knows ({known})")
    return VERSIONS_BY_TAG[key]


def _number(tag: str) -> tuple[int, int]:
    major, minor = tag.lstrip("v").split(".")
    return int(major), int(minor)


# -- facts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KernelFact:
    key: str
    text: str
    file: str
    function: str  # function, macro or Kconfig symbol
    since: str  # first mainline release the fact holds for ("v6.8")
    until: str | None  # last release it holds for; None: still true in current mainline
    commit: str  # 12-digit abbreviated hash of the commit that introduced or changed it
    commit_title: str
    note: str = ""
    # Where the file lived in earlier releases: ((last tag, path), ...).
    moved: tuple[tuple[str, str], ...] = ()

    def holds(self, v: KernelVersion) -> bool:
        n = v.number
        if n < _number(self.since):
            return False
        return self.until is None or n <= _number(self.until)

    @property
    def range_text(self) -> str:
        """ "6.8+", "6.9–6.13", "6.8 only"."""
        since = self.since.lstrip("v")
        if self.until is None:
            return f"{since}+"
        until = self.until.lstrip("v")
        return f"{since} only" if since == until else f"{since}–{until}"

    def link_tag(self, v: KernelVersion | None = None) -> str:
        """The tag to link: the selected release if the fact holds for it, else the first
        release it holds for."""
        if v is not None and self.holds(v):
            return v.tag
        return self.since

    def path_at(self, tag: str) -> str:
        for last, path in self.moved:
            if _number(tag) <= _number(last):
                return path
        return self.file

    def file_url(self, v: KernelVersion | None = None) -> str:
        tag = self.link_tag(v)
        return f"{ELIXIR}/{tag}/source/{self.path_at(tag)}"

    def function_url(self, v: KernelVersion | None = None) -> str | None:
        if not self.function:
            return None
        return f"{ELIXIR}/{self.link_tag(v)}/A/ident/{self.function}"

    @property
    def commit_url(self) -> str:
        return f"{GIT_KERNEL}/{self.commit}"

    def to_dict(self, v: KernelVersion | None = None) -> dict:
        return {
            "key": self.key,
            "text": self.text,
            "file": self.path_at(self.link_tag(v)),
            "function": self.function,
            "range": self.range_text,
            "commit": self.commit,
            "commit_title": self.commit_title,
            "commit_url": self.commit_url,
            "note": self.note,
            "file_url": self.file_url(v),
            "function_url": self.function_url(v),
            "tag": self.link_tag(v),
        }


CPUFEATURE_C = "arch/arm64/kernel/cpufeature.c"
KVM_PGTABLE_H = "arch/arm64/include/asm/kvm_pgtable.h"
KVM_PGTABLE_C = "arch/arm64/kvm/hyp/pgtable.c"
KVM_RESET_C = "arch/arm64/kvm/reset.c"
KVM_ARM_C = "arch/arm64/kvm/arm.c"
KVM_MMU_C = "arch/arm64/kvm/mmu.c"
MEM_PROTECT_C = "arch/arm64/kvm/hyp/nvhe/mem_protect.c"
PGTABLE_PROT_H = "arch/arm64/include/asm/pgtable-prot.h"
PGTABLE_HWDEF_H = "arch/arm64/include/asm/pgtable-hwdef.h"
PGTABLE_TYPES_H = "arch/arm64/include/asm/pgtable-types.h"
PGTABLE_H = "arch/arm64/include/asm/pgtable.h"
MEMORY_H = "arch/arm64/include/asm/memory.h"
ASSEMBLER_H = "arch/arm64/include/asm/assembler.h"
ESR_H = "arch/arm64/include/asm/esr.h"
KCONFIG = "arch/arm64/Kconfig"
IDREG_OVERRIDE_C = "arch/arm64/kernel/pi/idreg-override.c"
MAP_KERNEL_C = "arch/arm64/kernel/pi/map_kernel.c"

# Commits (mainline hashes, 12 digits).
C_HAS_LPA2 = ("b1366d21daae", "arm64: Add ARM64_HAS_LPA2 CPU capability")
C_KVM_LPA2 = ("bd412e2a310c", "KVM: arm64: Use LPA2 page-tables for stage2 and hyp stage1")
C_KVM_5LVL = ("0abc1b11a032", "KVM: arm64: Support up to 5 levels of translation in kvm_pgtable")
C_KVM_IPA = ("d782ac5b2cee", "KVM: arm64: Allow guests with >48-bit IPA size on FEAT_LPA2 systems")
C_STUBS = ("936a4ec28141", "arm64/mm: Add lpa2_is_enabled() kvm_lpa2_is_enabled() stubs")
C_HOST_LPA2 = ("9684ec186f8f", "arm64: Enable LPA2 at boot if supported by the system")
C_VA52 = ("352b0395b505", "arm64: Enable 52-bit virtual addressing for 4k and 16k granule configs")
C_5LVL_DEFS = ("a6bbf5d4d9d1", "arm64: mm: Add definitions to support 5 levels of paging")
C_PUD_FOLD = ("0dd4f60a2c76", "arm64: mm: Add support for folding PUDs at runtime")
C_PTE_LPA2 = ("925a0eb48044", "arm64: mm: Add LPA2 support to phys<->pte conversion routines")
C_IDMAP48 = ("e6128a8e523c", "arm64: mm: Use 48-bit virtual addressing for the permanent ID map")
C_LVA_OVERRIDE = ("68aec33f8f5a", "arm64: mm: Add feature override support for LVA")
C_ESR_L1 = ("7ac8d5b2423c", "arm64: Add ESR decoding for exceptions involving translation level -1")
C_HVHE_PKVM = ("5053c3f0519c", "KVM: arm64: Use hVHE in pKVM by default on CPUs with VHE support")
C_HYP_TCR = ("f0da16992aef", "arm64/kvm: Configure HYP TCR.PS/DS based on host stage1")
C_PARANGE = ("62cffa496aac", "arm64/mm: Override PARange for !LPA2 and use it consistently")
C_PA_DROP = ("32d053d6f5e9", "arm64/mm: Drop configurable 48-bit physical address space limit")
C_HVHE_TCR = ("102c51c50db8", "KVM: arm64: Fix tcr_el2 initialisation in hVHE mode")
C_ADDRSZ = ("b877075d0baa", "arm64: Correct value returned by ESR_ELx_FSC_ADDRSZ_nL()")


def _fact(key, text, file, function, since, until, commit, note="", moved=()) -> KernelFact:
    return KernelFact(
        key, text, file, function, since, until, commit[0], commit[1], note, tuple(moved)
    )


FACTS: tuple[KernelFact, ...] = (
    # -- when KVM uses the LPA2 format ----------------------------------------------------
    _fact(
        "kvm-lpa2",
        "KVM uses the LPA2 format when ID_AA64MMFR0_EL1 reports 52-bit support for the page "
        "size at both stages: kvm_lpa2_is_enabled() is system_supports_lpa2(), the "
        "ARM64_HAS_LPA2 capability, which has_lpa2() sets when TGran{4,16} says 52-bit "
        "(has_lpa2_at_stage1) and TGran{4,16}_2 is 0b0011 (has_lpa2_at_stage2). The host "
        "kernel's VA and PA sizes play no part.",
        CPUFEATURE_C,
        "has_lpa2",
        "v6.8",
        None,
        C_HAS_LPA2,
    ),
    _fact(
        "kvm-lpa2-64k",
        "With 64K pages has_lpa2() is the stub that returns false: sysreg.h defines "
        "ID_AA64MMFR0_EL1_TGRAN_LPA2 only for 4K and 16K pages.",
        CPUFEATURE_C,
        "has_lpa2",
        "v6.8",
        None,
        C_HAS_LPA2,
    ),
    _fact(
        "kvm-vtcr-ds",
        "kvm_get_vtcr() sets VTCR_EL2.DS when kvm_lpa2_is_enabled(), for every VM and "
        "whatever IPA size the VMM asks for.",
        KVM_PGTABLE_C,
        "kvm_get_vtcr",
        "v6.8",
        None,
        C_KVM_LPA2,
    ),
    _fact(
        "kvm-pte-format",
        "KVM's descriptor helpers (kvm_phys_to_pte(), kvm_pte_to_phys()) use the LPA2 layout "
        "- OA[51:50] in bits [9:8] (KVM_PTE_ADDR_51_50_LPA2), no SH in the descriptor - "
        "whenever kvm_lpa2_is_enabled(), in guest stage-2 tables and in the hypervisor's own "
        "stage-1 tables alike.",
        KVM_PGTABLE_H,
        "kvm_phys_to_pte",
        "v6.8",
        None,
        C_KVM_LPA2,
    ),
    _fact(
        "kvm-ipa-limit",
        "kvm_set_ipa_limit(): the largest IPA size a VM may ask for is the sanitised "
        "ID_AA64MMFR0_EL1.PARange, capped at 48 bits only when !kvm_lpa2_is_enabled() && "
        "PAGE_SIZE != SZ_64K. With 64K pages there is no cap (52 bits with FEAT_LPA), whatever "
        "PA size the host itself uses.",
        KVM_RESET_C,
        "kvm_set_ipa_limit",
        "v6.8",
        None,
        C_KVM_IPA,
    ),
    _fact(
        "kvm-parange-max",
        "VTCR_EL2.PS is kvm_get_parange(): PARange capped at kvm_get_parange_max(), 52 bits "
        "if kvm_lpa2_is_enabled() or (CONFIG_ARM64_PA_BITS_52 and 64K pages), else 48. PS "
        "limits output addresses only; the IPA size is T0SZ.",
        KVM_PGTABLE_H,
        "kvm_get_parange_max",
        "v6.8",
        "v6.13",
        C_KVM_LPA2,
    ),
    _fact(
        "kvm-parange-max-any",
        "VTCR_EL2.PS is kvm_get_parange(): PARange capped at kvm_get_parange_max(), 52 bits "
        "if kvm_lpa2_is_enabled() or 64K pages, else 48. PS limits output addresses only; the "
        "IPA size is T0SZ.",
        KVM_PGTABLE_H,
        "kvm_get_parange_max",
        "v6.14",
        None,
        C_PA_DROP,
    ),
    _fact(
        "kvm-s2-levels",
        "kvm_get_vtcr(): a stage 2 gets stage2_pgtable_levels(IPA size) = "
        "ARM64_HW_PGTABLE_LEVELS(IPA size - 4) levels, at least 2; the remaining top bits are "
        "resolved by up to 16 concatenated start tables. SL0 is VTCR_EL2_TGRAN_SL0_BASE minus "
        "the start level and SL2 is never set: a KVM stage 2 never starts at level -1 (a "
        "52-bit IPA with 4K pages starts at level 0 with 16 concatenated tables).",
        KVM_PGTABLE_C,
        "kvm_get_vtcr",
        "v6.8",
        None,
        C_KVM_5LVL,
    ),
    _fact(
        "kvm-min-block",
        "KVM_PGTABLE_MIN_BLOCK_LEVEL is 1 for 4K pages and 2 otherwise: KVM maps no block "
        "larger than 1GB (4K) or 32MB (16K), so it never creates LPA2's 512GB level-0 (4K) or "
        "64GB level-1 (16K) blocks.",
        KVM_PGTABLE_H,
        "KVM_PGTABLE_MIN_BLOCK_LEVEL",
        "v6.8",
        None,
        C_KVM_LPA2,
    ),
    _fact(
        "pkvm-host-s2",
        "prepare_host_vtcr(): in protected mode the host runs under an identity-mapped stage 2 "
        "whose IPA size is the PA size kvm_get_parange() gives; its VTCR comes from "
        "kvm_get_vtcr(), so its DS, levels and concatenation follow the same rules as a "
        "guest's.",
        MEM_PROTECT_C,
        "prepare_host_vtcr",
        "v6.8",
        None,
        C_KVM_LPA2,
    ),
    # -- the host kernel's own stage 1 ---------------------------------------------------
    _fact(
        "host-lpa2-stub",
        "lpa2_is_enabled() is a stub that returns false: the host kernel never sets "
        "TCR_EL1.DS, whatever the CPU supports.",
        PGTABLE_PROT_H,
        "lpa2_is_enabled",
        "v6.8",
        "v6.8",
        C_STUBS,
    ),
    _fact(
        "host-lpa2",
        "lpa2_is_enabled() reads TCR_EL1.DS. The kernel sets DS at boot when it is built for "
        "52-bit VAs (CONFIG_ARM64_VA_BITS_52) with 4K or 16K pages and the CPU reports 52-bit "
        "support for the page size at stage 1 (ARM64_HAS_VA52); stage 2 is not checked. "
        "arm64.nolva turns it off.",
        PGTABLE_PROT_H,
        "lpa2_is_enabled",
        "v6.9",
        None,
        C_HOST_LPA2,
    ),
    _fact(
        "kconfig-va52-64k-only",
        "CONFIG_ARM64_VA_BITS_52 depends on ARM64_64K_PAGES: there is no 4K or 16K kernel with "
        "52-bit VAs. A 64K one uses 52 bits only with FEAT_LVA and otherwise runs with 48.",
        KCONFIG,
        "ARM64_VA_BITS_52",
        "v6.8",
        "v6.8",
        C_VA52,
    ),
    _fact(
        "kconfig-va52",
        "CONFIG_ARM64_VA_BITS_52 exists for every page size. At boot the kernel uses 52 bits "
        "only if the CPU supports them (FEAT_LVA with 64K pages, FEAT_LPA2 at stage 1 with "
        "4K/16K) and otherwise falls back to VA_BITS_MIN: 48 bits, or 47 with 16K pages.",
        MEMORY_H,
        "VA_BITS_MIN",
        "v6.9",
        None,
        C_VA52,
    ),
    _fact(
        "kconfig-pa-64k-only",
        "CONFIG_ARM64_PA_BITS_52 depends on ARM64_64K_PAGES: 4K and 16K kernels are built for "
        "48-bit physical addresses.",
        KCONFIG,
        "ARM64_PA_BITS_52",
        "v6.8",
        "v6.8",
        C_VA52,
    ),
    _fact(
        "kconfig-pa-bits",
        "CONFIG_ARM64_PA_BITS_52 depends on ARM64_64K_PAGES || ARM64_VA_BITS_52, and "
        "CONFIG_ARM64_PA_BITS_48 on ARM64_64K_PAGES || !ARM64_VA_BITS_52: with 4K/16K pages "
        "the PA size option follows the VA size option; with 64K pages they are independent.",
        KCONFIG,
        "ARM64_PA_BITS_52",
        "v6.9",
        "v6.13",
        C_VA52,
    ),
    _fact(
        "kconfig-pa-removed",
        "CONFIG_ARM64_PA_BITS_48/52 no longer exist: a 64K kernel handles 52-bit physical "
        "addresses whenever the CPU has FEAT_LPA, a 4K/16K kernel whenever it runs with LPA2 "
        "(PHYS_MASK_SHIFT is lpa2_is_enabled() ? 52 : 48).",
        PGTABLE_PROT_H,
        "PHYS_MASK_SHIFT",
        "v6.14",
        None,
        C_PA_DROP,
    ),
    _fact(
        "host-ips",
        "The host's TCR_EL1.IPS is the CPU's PARange capped at ID_AA64MMFR0_EL1_PARANGE_MAX: "
        "52 bits with CONFIG_ARM64_PA_BITS_52, else 48 - also when a 4K/16K kernel falls back "
        "to 48-bit VAs without LPA2.",
        ASSEMBLER_H,
        "tcr_compute_pa_size",
        "v6.8",
        "v6.13",
        C_PARANGE,
    ),
    _fact(
        "host-ips-lpa2",
        "The host's TCR_EL1.IPS is the CPU's PARange, capped at 48 bits when a 4K/16K kernel "
        "does not run with LPA2 (no ARM64_HAS_VA52).",
        ASSEMBLER_H,
        "tcr_compute_pa_size",
        "v6.14",
        None,
        C_PARANGE,
        note="also in 6.13.y",
    ),
    _fact(
        "pgtable-levels",
        "CONFIG_PGTABLE_LEVELS defaults to the levels a walk of the configured VA size needs "
        "(ARM64_HW_PGTABLE_LEVELS(VA_BITS)): 2 for 16K/36-bit and 64K/42-bit; 3 for "
        "4K/39-bit, 16K/47-bit and 64K/48- or 52-bit; 4 for 4K/48-bit and 16K/48-bit.",
        KCONFIG,
        "PGTABLE_LEVELS",
        "v6.8",
        None,
        C_5LVL_DEFS,
    ),
    _fact(
        "pgtable-levels-52",
        "A 4K/52-bit kernel has 5 levels (CONFIG_PGTABLE_LEVELS=5) and a 16K/52-bit one 4; "
        "when it falls back to 48 (47) bits at boot it skips its top level at run time "
        "(p4d or pud folded at run time).",
        KCONFIG,
        "PGTABLE_LEVELS",
        "v6.9",
        None,
        C_PUD_FOLD,
    ),
    _fact(
        "pgtable-folding",
        "Table names: the top level is always pgd and the last pte; p4d exists only with 5 "
        "levels, pud with 4 or more and pmd with 3 or more (pgtable-types.h folds the others "
        "with asm-generic/pgtable-nop4d.h, -nopud.h or -nopmd.h).",
        PGTABLE_TYPES_H,
        "",
        "v6.8",
        None,
        C_5LVL_DEFS,
    ),
    _fact(
        "host-lpa2-descriptors",
        "With LPA2 the kernel's own descriptors carry PA[51:50] in bits [9:8] "
        "(PTE_ADDR_HIGH, shift 42) and no shareability (PTE_MAYBE_SHARED is 0).",
        PGTABLE_HWDEF_H,
        "PTE_ADDR_HIGH_SHIFT",
        "v6.9",
        None,
        C_PTE_LPA2,
    ),
    _fact(
        "phys-to-ttbr",
        "phys_to_ttbr() moves PA[51:48] of a table address into TTBR bits [5:2] (the 52-bit "
        "TTBR format) and pgtable_cache_init() aligns top-level tables to at least 64 bytes "
        "when PAs can exceed 48 bits - with CONFIG_ARM64_PA_BITS_52 before 6.14, always "
        "since.",
        PGTABLE_H,
        "phys_to_ttbr",
        "v6.8",
        None,
        C_PA_DROP,
    ),
    _fact(
        "no-live-ds-flip",
        "The kernel never sets DS while its page tables are live: it enables LPA2 at boot by "
        "switching through a temporary mapping (remap_idmap_for_lpa2()), because DS=1 "
        "re-reads bits [9:8] of every existing descriptor as address bits.",
        MAP_KERNEL_C,
        "remap_idmap_for_lpa2",
        "v6.9",
        None,
        C_HOST_LPA2,
    ),
    _fact(
        "image-below-2-48",
        "With 4K/16K pages the initial ID map is built for 48-bit VAs, so the kernel image must "
        "be loaded into 48-bit addressable physical memory; 64K/LVA kernels can be placed "
        "above 2^48.",
        MAP_KERNEL_C,
        "",
        "v6.9",
        None,
        C_HOST_LPA2,
    ),
    _fact(
        "lpa2-implies-lva",
        "Linux treats FEAT_LPA2 as implying FEAT_LVA: arm64.nolva (id_aa64mmfr2.varange=0) "
        "also overrides the page size's TGran 52-bit value, so it turns LPA2 off as well.",
        IDREG_OVERRIDE_C,
        "mmfr2_varange_filter",
        "v6.9",
        None,
        C_LVA_OVERRIDE,
    ),
    _fact(
        "nolva-parange",
        "arm64.nolva also caps the sanitised PARange at 48 bits, which lowers KVM's IPA limit too.",
        IDREG_OVERRIDE_C,
        "mmfr2_varange_filter",
        "v6.14",
        None,
        C_PARANGE,
        note="also in 6.13.y",
    ),
    # -- the hypervisor's own stage 1 (nVHE, protected) -----------------------------------
    _fact(
        "hyp-va-bits-idmap",
        "kvm_mmu_init(): hyp_va_bits = max(the ID map's VA bits, vabits_actual); the ID map "
        "was sized like the kernel's (VA_BITS_MIN) and extended only when RAM lay above it.",
        KVM_MMU_C,
        "kvm_mmu_init",
        "v6.8",
        "v6.8",
        C_IDMAP48,
    ),
    _fact(
        "hyp-va-bits",
        "kvm_mmu_init(): hyp_va_bits = max(IDMAP_VA_BITS, vabits_actual) with a 48-bit ID map, "
        "so the hypervisor's VA space is never below 48 bits: a 39-bit host still gets a "
        "48-bit, 4-level (4K) hyp stage 1.",
        KVM_MMU_C,
        "kvm_mmu_init",
        "v6.9",
        None,
        C_IDMAP48,
    ),
    _fact(
        "hyp-pgtable",
        "The nVHE/protected hypervisor's stage 1 is a kvm_pgtable set up by "
        "kvm_pgtable_hyp_init(hyp_va_bits): start level = KVM_PGTABLE_LAST_LEVEL + 1 - "
        "ARM64_HW_PGTABLE_LEVELS(hyp_va_bits). Its levels are KVM's, not the host's "
        "pgd/p4d/pud/pmd/pte, and do not follow CONFIG_PGTABLE_LEVELS.",
        KVM_PGTABLE_C,
        "kvm_pgtable_hyp_init",
        "v6.8",
        None,
        C_KVM_5LVL,
    ),
    _fact(
        "hyp-tcr-kvm",
        "cpu_prepare_hyp_mode() builds TCR_EL2 in the E2H=0 layout from the host's TCR_EL1: "
        "T0SZ = 64 - hyp_va_bits, PS (bits [18:16]) from kvm_get_parange() and DS (bit 32) "
        "when kvm_lpa2_is_enabled() - KVM's format, not the host's.",
        KVM_ARM_C,
        "cpu_prepare_hyp_mode",
        "v6.8",
        "v6.13",
        C_KVM_LPA2,
        note="6.13.y took f0da16992aef, which changes this",
    ),
    _fact(
        "hyp-tcr-host",
        "cpu_prepare_hyp_mode() (E2H=0 layout) sets TCR_EL2.DS when the host's "
        "lpa2_is_enabled() and copies PS from the host's TCR_EL1.IPS: the hypervisor's stage 1 "
        "follows the host's stage 1, no longer KVM's stage-2 format.",
        KVM_ARM_C,
        "cpu_prepare_hyp_mode",
        "v6.14",
        None,
        C_HYP_TCR,
        note="also in 6.13.y",
    ),
    _fact(
        "hvhe-opt-in",
        "hVHE (the nVHE/protected hypervisor running with HCR_EL2.E2H=1) is used only with "
        "arm64_sw.hvhe=1 on the command line; kvm-arm.mode=protected alone runs with E2H=0.",
        IDREG_OVERRIDE_C,
        "aliases",
        "v6.8",
        "v6.9",
        C_HVHE_PKVM,
        moved=(("v6.8", "arch/arm64/kernel/idreg-override.c"),),
    ),
    _fact(
        "hvhe-protected",
        "kvm-arm.mode=protected is an alias for arm64_sw.hvhe=1: on a CPU with VHE the "
        "protected hypervisor runs with HCR_EL2.E2H=1 (hVHE) and its TCR_EL2 has the TCR_EL1 "
        "layout (DS at bit 59). kvm-arm.mode=nvhe forces E2H=0.",
        IDREG_OVERRIDE_C,
        "aliases",
        "v6.10",
        None,
        C_HVHE_PKVM,
    ),
    _fact(
        "hvhe-tcr-e2h0-bits",
        "With hVHE, TCR_EL2 is the host's TCR_EL1 (E2H=1 layout, DS at bit 59, EPD1 set) with "
        "T0SZ replaced, but PS and DS are still written at their E2H=0 positions: bits "
        "[18:16] (part of T1SZ in this layout) and bit 32 (IPS[0] in this layout). The "
        "effective DS is the host's.",
        KVM_ARM_C,
        "cpu_prepare_hyp_mode",
        "v6.8",
        "v6.13",
        C_HVHE_TCR,
    ),
    _fact(
        "hvhe-tcr",
        "With hVHE, TCR_EL2 is the host's TCR_EL1 with HD, HA, A1 and T0SZ cleared, EPD1 set "
        "and T0SZ = 64 - hyp_va_bits: DS (bit 59) and IPS are the host's.",
        KVM_ARM_C,
        "cpu_prepare_hyp_mode",
        "v6.14",
        None,
        C_HVHE_TCR,
    ),
    # -- fault status codes ---------------------------------------------------------------
    _fact(
        "esr-addrsz-nl-0x25",
        "ESR_ELx_FSC_ADDRSZ_nL(-1), and so ESR_ELx_FSC_ADDRSZ_L(-1), evaluates to 0x25 - the "
        "architecture's code for a Granule Protection Fault on a walk at level 1 - instead of "
        "0x29, the Address size fault at level -1. Code that builds or matches a level -1 "
        "Address size fault with it disagrees with what the CPU reports.",
        ESR_H,
        "ESR_ELx_FSC_ADDRSZ_nL",
        "v6.9",
        "v7.1",
        C_ESR_L1,
        note="fixed by b877075d0baa (v7.2), also taken by stable branches",
    ),
    _fact(
        "esr-addrsz-nl",
        "ESR_ELx_FSC_ADDRSZ_nL(-1) is 0x29, the architecture's Address size fault at level -1.",
        ESR_H,
        "ESR_ELx_FSC_ADDRSZ_nL",
        "v7.2",
        None,
        C_ADDRSZ,
        note="also taken by stable branches",
    ),
    _fact(
        "esr-level-minus-1",
        "ESR_ELx_FSC_FAULT_L(-1) is 0x2B and ESR_ELx_FSC_SEA_TTW(-1) is 0x13, as the "
        "architecture encodes a Translation fault and a synchronous External abort on a walk "
        "at level -1.",
        ESR_H,
        "ESR_ELx_FSC_FAULT_L",
        "v6.9",
        None,
        C_ESR_L1,
    ),
)

FACTS_BY_KEY: dict[str, KernelFact] = {f.key: f for f in FACTS}


def fact(key: str) -> KernelFact:
    return FACTS_BY_KEY[key]


@cache
def facts_for(tag: str) -> tuple[KernelFact, ...]:
    """The facts that hold for a release."""
    v = version(tag)
    return tuple(f for f in FACTS if f.holds(v))


def pick(v: KernelVersion, *keys: str) -> KernelFact:
    """The one of ``keys`` that holds for ``v`` (alternatives for different releases)."""
    for key in keys:
        if FACTS_BY_KEY[key].holds(v):
            return FACTS_BY_KEY[key]
    raise LookupError(f"none of {keys} holds for {v.tag}")


@dataclass(frozen=True)
class Statement:
    """A statement the product makes: its text (often the fact applied to one case) and the
    fact it rests on."""

    text: str
    fact: str  # a FACTS key; "" for a statement that is not about Linux or KVM

    def to_dict(self, v: KernelVersion | None = None) -> dict:
        source = FACTS_BY_KEY[self.fact].to_dict(v) if self.fact else None
        return {"text": self.text, "fact": source}
