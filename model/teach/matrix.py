"""The configuration matrix KVM's LPA2 support has to work across: hardware (PA: 48-bit,
FEAT_LPA, FEAT_LPA2; VA: 48 or 52 bits, i.e. FEAT_LVA) x KVM mode (VHE, nVHE, protected) x
host page size x host PA and VA size (48 or 52 bits, what the host kernel runs with).

For each combination: is it possible, and if not why; and if so, which translation regimes
there are, which of them use the LPA2 descriptor format, their input sizes, start levels and
concatenation, each with a ``Configuration`` that walks it in the explorer. The arithmetic is
``model.geometry``'s and ``model.linux``'s (KVM's own level rules).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache
from itertools import product

from model.arch import geometry as geo
from model.arch.fields import HCR_EL2, TCR_EL1, TCR_EL2, VTCR_EL2
from model.arch.walker import Regime
from model.explore.compare import sl0_for
from model.explore.configs import CONFIG_PRESETS, Configuration

from .linux import KCONFIG, KVM_PGTABLE_C, KVM_PGTABLE_H, hw_pgtable_levels, kvm_stage2

HW_PA = ("48", "lpa", "lpa2")
HW_PA_TITLE = {"48": "48-bit", "lpa": "FEAT_LPA (52-bit, 64K only)", "lpa2": "FEAT_LPA2"}
HW_VA = (48, 52)
KVM_MODES = ("vhe", "nvhe", "protected")
KVM_MODE_TITLE = {"vhe": "VHE", "nvhe": "nVHE", "protected": "protected (pKVM)"}
PAGES = (4, 16, 64)
SIZES = (48, 52)
CPUFEATURE_C = "arch/arm64/kernel/cpufeature.c"
MEM_PROTECT_C = "arch/arm64/kvm/hyp/nvhe/mem_protect.c"

_TG0 = {4: 0b00, 16: 0b10, 64: 0b01}
_TG1 = {4: 0b10, 16: 0b01, 64: 0b11}
_SAMPLE = 0x000F_1234_5678_9ABC


@dataclass
class RegimeUse:
    key: str  # "host-s1", "hyp-s1", "guest-s2", "host-s2"
    title: str
    lpa2: bool
    format: str
    input_bits: int
    start_level: int
    levels: int
    concatenated: int
    note: str
    source: str
    config: Configuration = field(repr=False)


@dataclass
class MatrixRow:
    hw_pa: str
    hw_va: int
    mode: str
    page: int
    host_pa: int
    host_va: int
    invalid: str | None = None
    invalid_source: str = ""
    regimes: list[RegimeUse] = field(default_factory=list)
    cpu: str = "max"
    cpu_note: str = ""

    @property
    def valid(self) -> bool:
        return self.invalid is None

    @property
    def key(self) -> str:
        return (
            f"{self.hw_pa}-va{self.hw_va}-{self.mode}-{self.page}k-"
            f"pa{self.host_pa}-va{self.host_va}"
        )


def _why_invalid(hw_pa: str, hw_va: int, page: int, host_pa: int, host_va: int):
    lpa2 = hw_pa == "lpa2"
    if host_va == 52 and page != 64 and not lpa2:
        return (
            f"52-bit VA with {page}K pages needs FEAT_LPA2 (ID_AA64MMFR0_EL1.TGran{page} = "
            "52-bit); without it the kernel falls back to 48 bits.",
            CPUFEATURE_C,
        )
    if host_va == 52 and page == 64 and hw_va != 52:
        return (
            "52-bit VA with 64K pages needs FEAT_LVA (ID_AA64MMFR2_EL1.VARange = 52 bits).",
            CPUFEATURE_C,
        )
    if host_pa == 52 and page == 64 and hw_pa == "48":
        return "52-bit PA with 64K pages needs FEAT_LPA (PARange = 52 bits).", KCONFIG
    if host_pa == 52 and page != 64 and not lpa2:
        return f"52-bit PA with {page}K pages needs FEAT_LPA2.", KCONFIG
    if page != 64 and host_pa != host_va:
        return (
            f"With {page}K pages Kconfig ties the sizes together: ARM64_PA_BITS_52 depends on "
            "ARM64_64K_PAGES || ARM64_VA_BITS_52, and ARM64_PA_BITS_48 on ARM64_64K_PAGES || "
            "!ARM64_VA_BITS_52 (both come from TCR.DS).",
            KCONFIG,
        )
    return None


def _cpu(hw_pa: str, hw_va: int, page: int, host_va: int) -> tuple[str, str]:
    """The explorer CPU preset closest to this hardware for these walks, and a caveat when
    the preset differs from the hardware in a way the walk can see."""
    if hw_pa == "lpa2":
        return "max", ""
    if hw_pa == "lpa":
        return "lpa-lva", ""
    if page == 64 and host_va == 52:
        return "lpa-lva", (
            "No CPU preset has FEAT_LVA without FEAT_LPA: the explorer links use lpa-lva, so "
            "their 64KB descriptors are read in the FEAT_LPA format (bits [15:12] = OA[51:48])."
        )
    return "v8-48bit", ""


def _format(page: int, lpa2: bool, hw_lpa: bool) -> str:
    """The descriptor format: with FEAT_LPA a 64KB descriptor's bits [15:12] are OA[51:48]
    whatever the configured output size (they must then be zero)."""
    if lpa2:
        return "LPA2 (DS=1)"
    if page == 64 and hw_lpa:
        return "64KB + FEAT_LPA"
    return "48-bit (DS=0)"


def _s1_tcr(layout, page: int, va: int, ds: bool, pa52: bool, two_ranges: bool) -> int:
    fields = dict(
        T0SZ=64 - va,
        TG0=_TG0[page],
        DS=int(ds),
        IRGN0=1,
        ORGN0=1,
        SH0=0b11,
    )
    if two_ranges:
        fields.update(T1SZ=64 - va, TG1=_TG1[page], IPS=0b110 if pa52 else 0b101)
        fields.update(IRGN1=1, ORGN1=1, SH1=0b11)
    else:
        fields.update(PS=0b110 if pa52 else 0b101)
    return layout.encode(**fields)


def _host_s1(row: MatrixRow, lpa2: bool) -> Configuration:
    base = CONFIG_PRESETS["4k-48"]
    va, pa52 = row.host_va, row.host_pa == 52
    tcr = _s1_tcr(TCR_EL1, row.page, va, lpa2, pa52, True)
    kernel_va = ((1 << 64) - (1 << va)) | (_SAMPLE & ((1 << va) - 1))
    title = f"Host kernel stage 1, {row.page}K, {va}-bit VA"
    if row.mode == "vhe":
        return replace(
            base.with_registers(
                TCR_EL2=tcr,
                TTBR1_EL2=0x4125_6000,
                HCR_EL2=HCR_EL2.encode(RW=1, E2H=1, TGE=1),
            ),
            title=title + " (VHE, EL2&0)",
            regime=Regime.EL20.value,
            access="el2r",
            cpu=row.cpu,
            address=kernel_va,
        ).refilled()
    return replace(
        base.with_registers(TCR_EL1=tcr, TTBR1_EL1=0x4125_6000),
        title=title,
        cpu=row.cpu,
        address=kernel_va,
    ).refilled()


def _hyp_s1(row: MatrixRow, lpa2: bool) -> Configuration:
    base = CONFIG_PRESETS["4k-48"]
    va = row.host_va
    tcr = _s1_tcr(TCR_EL2, row.page, va, lpa2, row.host_pa == 52, False)
    return replace(
        base.with_registers(TCR_EL2=tcr, TTBR0_EL2=0x4130_0000),
        title=f"KVM EL2 stage 1 ({KVM_MODE_TITLE[row.mode]}), {row.page}K, {va}-bit VA",
        regime=Regime.EL2.value,
        access="el2r",
        cpu=row.cpu,
        address=_SAMPLE & ((1 << va) - 1),
    ).refilled()


def _s2(row: MatrixRow, ipa: int, lpa2: bool, title: str) -> Configuration:
    base = CONFIG_PRESETS["4k-48"]
    kvm = kvm_stage2(ipa, row.page, lpa2)
    sl0, sl2 = sl0_for(row.page, kvm["start_level"])
    vtcr = VTCR_EL2.encode(
        T0SZ=64 - ipa,
        SL0=sl0,
        SL2=sl2,
        TG0=_TG0[row.page],
        PS=0b110 if ipa == 52 else 0b101,
        DS=int(lpa2),
        IRGN0=1,
        ORGN0=1,
        SH0=0b11,
    )
    return replace(
        base.with_registers(
            VTCR_EL2=vtcr, VTTBR_EL2=0x8000_0000, HCR_EL2=HCR_EL2.encode(RW=1, VM=1)
        ),
        title=title,
        regime=Regime.STAGE2.value,
        cpu=row.cpu,
        address=_SAMPLE & ((1 << ipa) - 1),
    ).refilled()


def _fill(row: MatrixRow) -> None:
    page, lpa2 = row.page, row.page != 64 and row.host_pa == 52
    pa52 = row.host_pa == 52
    fmt = _format(page, lpa2, row.hw_pa != "48")
    va = row.host_va
    start = geo.s1_start_level(va, page)
    row.regimes.append(
        RegimeUse(
            "host-s1",
            "Host stage 1" + (" (EL2&0)" if row.mode == "vhe" else " (EL1&0)"),
            lpa2,
            fmt,
            va,
            start,
            3 - start + 1,
            1,
            "The host kernel's own tables"
            + ("; with VHE they are also the hypervisor's." if row.mode == "vhe" else "."),
            KCONFIG,
            _host_s1(row, lpa2),
        )
    )
    if row.mode != "vhe":
        levels = hw_pgtable_levels(va, page)
        row.regimes.append(
            RegimeUse(
                "hyp-s1",
                "Hypervisor stage 1 (EL2)",
                lpa2,
                fmt,
                va,
                4 - levels,
                levels,
                1,
                "kvm_pgtable_hyp_init: start level = KVM_PGTABLE_LAST_LEVEL + 1 - "
                f"ARM64_HW_PGTABLE_LEVELS({va}).",
                KVM_PGTABLE_C,
                _hyp_s1(row, lpa2),
            )
        )
    ipa = 52 if pa52 else 48
    kvm = kvm_stage2(ipa, page, lpa2)
    row.regimes.append(
        RegimeUse(
            "guest-s2",
            "Guest stage 2",
            lpa2,
            fmt,
            ipa,
            kvm["start_level"],
            kvm["levels"],
            kvm["concatenated"],
            f"IPA limit from kvm_get_parange() (capped at {ipa} bits); kvm_get_vtcr picks "
            f"{kvm['levels']} levels and concatenation, never SL2.",
            KVM_PGTABLE_H,
            _s2(
                row,
                ipa,
                lpa2,
                f"Guest stage 2 ({KVM_MODE_TITLE[row.mode]}), {page}K, {ipa}-bit IPA",
            ),
        )
    )
    if row.mode == "protected":
        row.regimes.append(
            RegimeUse(
                "host-s2",
                "Host stage 2 (pKVM)",
                lpa2,
                fmt,
                ipa,
                kvm["start_level"],
                kvm["levels"],
                kvm["concatenated"],
                "In protected mode the hypervisor also puts the host under a stage 2 built "
                "with kvm_get_vtcr for the whole PA range.",
                MEM_PROTECT_C,
                _s2(row, ipa, lpa2, f"pKVM host stage 2, {page}K, {ipa}-bit IPA"),
            )
        )


@cache
def rows() -> tuple[MatrixRow, ...]:
    out = []
    for hw_pa, hw_va, mode, page, host_pa, host_va in product(
        HW_PA, HW_VA, KVM_MODES, PAGES, SIZES, SIZES
    ):
        cpu, note = _cpu(hw_pa, hw_va, page, host_va)
        row = MatrixRow(hw_pa, hw_va, mode, page, host_pa, host_va, cpu=cpu, cpu_note=note)
        why = _why_invalid(hw_pa, hw_va, page, host_pa, host_va)
        if why:
            row.invalid, row.invalid_source = why
        else:
            _fill(row)
        out.append(row)
    return tuple(out)
