"""What Linux and KVM decide for each translation regime, per kernel release.

Given the hardware (physical-address support, FEAT_LVA, where FEAT_LPA2 is reported), the
host kernel's configuration (page size, the PA and VA sizes it is built for, the KVM mode) and a
kernel release, ``decide`` works out every regime KVM sets up - the host's stage 1, the
hypervisor's own stage 1 (nVHE/protected), a guest's stage 2 and the protected host's stage 2 -
with the values KVM programs (DS, input size, output size, start level, concatenation) and, for
each, the ``kernel_facts`` entry whose rule decides it. The arithmetic (levels, start levels,
concatenation) is the architecture's (``model.arch.geometry``); the rules are Linux's.

Nothing here looks at a walk: the format KVM uses comes from the ID registers
(``has_lpa2()``), never from what some page table happens to contain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from model.arch import geometry as geo
from model.arch.cpu import CPU

from .kernel_facts import KernelVersion, Statement, pick

# VTCR_EL2_TGRAN_SL0_BASE (arch/arm64/include/asm/kvm_arm.h): SL0 = base - start level.
SL0_BASE = {4: 2, 16: 3, 64: 3}
KVM_MIN_BLOCK_LEVEL = {4: 1, 16: 2, 64: 2}
SIZE_CODE = {32: 0b000, 36: 0b001, 40: 0b010, 42: 0b011, 44: 0b100, 48: 0b101, 52: 0b110}
IDMAP_VA_BITS = 48
HW_PA = ("48", "lpa", "lpa2", "lpa2-s1", "lpa2-s2")
HW_PA_TITLE = {
    "48": "48-bit",
    "lpa": "FEAT_LPA (52-bit, 64K only)",
    "lpa2": "FEAT_LPA2",
    "lpa2-s1": "FEAT_LPA2 at stage 1 only",
    "lpa2-s2": "FEAT_LPA2 at stage 2 only",
}
KVM_MODES = ("vhe", "nvhe", "protected")
KVM_MODE_TITLE = {"vhe": "VHE", "nvhe": "nVHE", "protected": "protected (pKVM)"}


def _at_least(v: KernelVersion, tag: str) -> bool:
    major, minor = tag.lstrip("v").split(".")
    return v.number >= (int(major), int(minor))


# -- inputs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hardware:
    """The CPU, as far as KVM's LPA2 decisions look at it."""

    pa: str  # one of HW_PA
    va: int  # 48, or 52 with FEAT_LVA (ID_AA64MMFR2_EL1.VARange)

    @property
    def pa_bits(self) -> int:
        """ID_AA64MMFR0_EL1.PARange in bits."""
        return 48 if self.pa == "48" else 52

    @property
    def lva(self) -> bool:
        return self.va == 52

    @property
    def lpa2_s1(self) -> bool:
        """TGran4/TGran16 say 52-bit (has_lpa2_at_stage1)."""
        return self.pa in ("lpa2", "lpa2-s1")

    @property
    def lpa2_s2(self) -> bool:
        """TGran4_2/TGran16_2 = 0b0011 (has_lpa2_at_stage2)."""
        return self.pa in ("lpa2", "lpa2-s2")

    @classmethod
    def from_cpu(cls, cpu: CPU, granule_kb: int) -> Hardware:
        """The hardware a CPU preset describes, for one page size: KVM's has_lpa2() compares
        TGran_2 with 0b0011 exactly (a TGran_2 of 0 'see TGran' does not count)."""
        tgran, tgran_2 = {
            4: (cpu.tgran4 == 1, cpu.tgran4_2),
            16: (cpu.tgran16 >= 2, cpu.tgran16_2),
            64: (False, 0),
        }[granule_kb]
        s1, s2 = tgran, tgran_2 == 3
        pa = {(True, True): "lpa2", (True, False): "lpa2-s1", (False, True): "lpa2-s2"}.get(
            (s1, s2), "lpa" if cpu.pamax >= 52 else "48"
        )
        return cls(pa, 52 if cpu.has_lva else 48)


@dataclass(frozen=True)
class Host:
    """The host kernel's build options and KVM mode."""

    page: int  # 4, 16, 64 (KB)
    pa: int  # CONFIG_ARM64_PA_BITS: 48 or 52 (the PA size it is built for)
    va: int  # CONFIG_ARM64_VA_BITS
    mode: str = "vhe"  # one of KVM_MODES


# -- outputs ------------------------------------------------------------------------------


@dataclass
class RegimeSetup:
    """One translation regime as KVM sets it up."""

    key: str  # "host-s1", "hyp-s1", "guest-s2", "host-s2"
    title: str
    ds: bool  # DS in the control register
    input_bits: int
    output_bits: int  # the effective output size: PS/IPS capped by what the CPU can express
    start_level: int
    concatenated: int
    fields: dict[str, int]  # TCR_EL1/TCR_EL2 (either layout) or VTCR_EL2 fields KVM programs
    regime: str  # model.arch.walker.Regime value of the walk
    e2h: bool = False
    statements: list[Statement] = field(default_factory=list)
    warnings: list[Statement] = field(default_factory=list)
    broken: str = ""  # why the register value KVM computes cannot translate

    @property
    def levels(self) -> int:
        return 3 - self.start_level + 1

    @property
    def format(self) -> str:
        if self.ds:
            return "LPA2 (DS=1)"
        return "64KB + FEAT_LPA" if self.page_lpa else "48-bit (DS=0)"

    page_lpa: bool = False  # 64KB descriptors read in the FEAT_LPA format


@dataclass
class Setup:
    version: KernelVersion
    hardware: Hardware
    host: Host
    problem: Statement | None = None  # the combination does not exist
    vabits_actual: int = 0
    host_pa_bits: int = 0
    host_ds: bool = False
    kvm_lpa2: bool = False
    ipa_limit: int = 0
    regimes: list[RegimeSetup] = field(default_factory=list)
    facts: list[Statement] = field(default_factory=list)  # row-level decisions

    @property
    def valid(self) -> bool:
        return self.problem is None


# -- the rules ------------------------------------------------------------------------------


def hw_pgtable_levels(va_bits: int, granule_kb: int) -> int:
    """ARM64_HW_PGTABLE_LEVELS(va_bits) = (va_bits - 4) / (PAGE_SHIFT - 3)."""
    return (va_bits - 4) // geo.stride(granule_kb)


def kvm_stage2_levels(ipa_bits: int, granule_kb: int) -> int:
    """stage2_pgtable_levels(ipa) = ARM64_HW_PGTABLE_LEVELS(ipa - 4), at least 2."""
    return max(2, hw_pgtable_levels(ipa_bits - 4, granule_kb))


def kvm_stage2(ipa_bits: int, granule_kb: int) -> dict:
    """Start level, concatenation and SL0 of the stage 2 kvm_get_vtcr() sets up."""
    levels = kvm_stage2_levels(ipa_bits, granule_kb)
    start = 4 - levels
    return {
        "levels": levels,
        "start_level": start,
        "concatenated": geo.concatenated_tables(ipa_bits, granule_kb, start),
        "sl0": SL0_BASE[granule_kb] - start,
        "t0sz": 64 - ipa_bits,
        "min_block_level": KVM_MIN_BLOCK_LEVEL[granule_kb],
        "index": geo.index_bits(start, ipa_bits, granule_kb, start),
    }


def kvm_lpa2_enabled(hw: Hardware, page: int) -> bool:
    """kvm_lpa2_is_enabled() = has_lpa2(): both stages, never with 64K pages."""
    return page != 64 and hw.lpa2_s1 and hw.lpa2_s2


def host_problem(v: KernelVersion, hw: Hardware, host: Host) -> Statement | None:
    """Why no kernel of release ``v`` has this configuration (Kconfig), if it has none."""
    small = host.page != 64
    if small and host.va == 52 and not _at_least(v, "v6.9"):
        return Statement(
            f"No such kernel in {v.tag}: CONFIG_ARM64_VA_BITS_52 needs 64K pages before v6.9.",
            "kconfig-va52-64k-only",
        )
    if small and host.pa == 52 and not _at_least(v, "v6.9"):
        return Statement(
            f"No such kernel in {v.tag}: CONFIG_ARM64_PA_BITS_52 needs 64K pages before v6.9.",
            "kconfig-pa-64k-only",
        )
    if not _at_least(v, "v6.14"):
        if small and host.pa != host.va:
            return Statement(
                f"No such kernel: with {host.page}K pages ARM64_PA_BITS_52 depends on "
                "ARM64_VA_BITS_52 and ARM64_PA_BITS_48 on !ARM64_VA_BITS_52.",
                "kconfig-pa-bits",
            )
        return None
    if host.page == 64 and host.pa == 48:
        return Statement(
            f"No such kernel in {v.tag}: the PA size is no longer a build option and a 64K "
            "kernel always handles 52-bit PAs (see the host PA 52 row).",
            "kconfig-pa-removed",
        )
    if small and host.pa != host.va:
        return Statement(
            f"No such kernel in {v.tag}: with {host.page}K pages the kernel handles 52-bit PAs "
            "exactly when it runs with LPA2, which needs CONFIG_ARM64_VA_BITS_52.",
            "kconfig-pa-removed",
        )
    return None


def vabits_actual(v: KernelVersion, hw: Hardware, host: Host) -> tuple[int, Statement]:
    """The VA size the host kernel runs with."""
    key = pick(v, "kconfig-va52", "kconfig-va52-64k-only").key
    if host.va != 52:
        return host.va, Statement(f"CONFIG_ARM64_VA_BITS_{host.va}=y.", "pgtable-levels")
    if host.page == 64:
        bits = 52 if hw.lva else 48
        why = "FEAT_LVA" if hw.lva else "no FEAT_LVA: falls back to 48"
        return bits, Statement(f"A 52-bit VA kernel, {bits}-bit at run time ({why}).", key)
    if hw.lpa2_s1:
        return 52, Statement("A 52-bit VA kernel on a CPU with LPA2 at stage 1: 52 bits.", key)
    fallback = 47 if host.page == 16 else 48
    return fallback, Statement(
        f"A 52-bit VA kernel without LPA2 at stage 1 falls back to {fallback} bits.", key
    )


def host_lpa2(v: KernelVersion, hw: Hardware, host: Host) -> tuple[bool, Statement]:
    """lpa2_is_enabled(): TCR_EL1.DS of the host."""
    if not _at_least(v, "v6.9"):
        return False, Statement(
            "lpa2_is_enabled() is false: the host keeps DS=0.", "host-lpa2-stub"
        )
    on = host.page != 64 and host.va == 52 and hw.lpa2_s1
    if host.page == 64:
        why = "64K pages have no DS"
    elif host.va != 52:
        why = "the kernel is not built for 52-bit VAs"
    else:
        why = "52-bit VA kernel, LPA2 at stage 1" if on else "no LPA2 at stage 1"
    return on, Statement(f"Host TCR_EL1.DS={int(on)} ({why}).", "host-lpa2")


def host_pa_bits(v: KernelVersion, hw: Hardware, host: Host, ds: bool) -> tuple[int, Statement]:
    """TCR_EL1.IPS of the host, in bits."""
    if _at_least(v, "v6.14"):
        cap = 52 if (host.page == 64 or ds) else 48
        bits = min(hw.pa_bits, cap)
        return bits, Statement(f"Host TCR_EL1.IPS: {bits} bits.", "host-ips-lpa2")
    bits = min(hw.pa_bits, 52 if host.pa == 52 else 48)
    text = f"Host TCR_EL1.IPS: {bits} bits (PARange capped by CONFIG_ARM64_PA_BITS_{host.pa})"
    if bits == 52 and host.page != 64 and not ds:
        text += ", although the kernel runs without LPA2"
    return bits, Statement(text + ".", "host-ips")


def parange_max(v: KernelVersion, kvm_lpa2: bool, host: Host) -> tuple[int, Statement]:
    """kvm_get_parange_max() in bits."""
    fact = pick(v, "kvm-parange-max", "kvm-parange-max-any")
    if _at_least(v, "v6.14"):
        wide = kvm_lpa2 or host.page == 64
    else:
        wide = kvm_lpa2 or (host.page == 64 and host.pa == 52)
    bits = 52 if wide else 48
    return bits, Statement(f"kvm_get_parange_max(): {bits} bits.", fact.key)


def hyp_va_bits(v: KernelVersion, vabits: int) -> tuple[int, Statement]:
    if _at_least(v, "v6.9"):
        bits = max(IDMAP_VA_BITS, vabits)
        return bits, Statement(f"hyp_va_bits = max(48, {vabits}) = {bits}.", "hyp-va-bits")
    # Before v6.9 the ID map had the kernel's VA_BITS_MIN (never more than vabits_actual) unless
    # RAM lay above it; with the kernel in low memory the host's VA size wins.
    return vabits, Statement(
        f"hyp_va_bits = {vabits} (the ID map is not wider with the kernel in low memory).",
        "hyp-va-bits-idmap",
    )


# -- the regimes ---------------------------------------------------------------------------


_TG0 = {4: 0b00, 16: 0b10, 64: 0b01}
_TG1 = {4: 0b10, 16: 0b01, 64: 0b11}
SAMPLE = 0x000F_1234_5678_9ABC


def _effective(ps_bits: int, page: int, hw: Hardware, stage: int) -> int:
    """AArch64.PhysicalAddressSize: PS capped at PAMax, and at 48 unless the granule can
    express 52-bit addresses (64K with FEAT_LPA, 4K/16K with LPA2 at this stage)."""
    lpa2 = hw.lpa2_s1 if stage == 1 else hw.lpa2_s2
    wide = hw.pa_bits == 52 and (page == 64 or lpa2)
    return min(ps_bits, 52 if wide else 48, hw.pa_bits)


def _host_tcr(page: int, vabits: int, ds: bool, pa_bits: int) -> dict[str, int]:
    """The fields of the host's TCR_EL1 this model needs (both ranges, 4K user space)."""
    return {
        "T0SZ": 64 - vabits,
        "TG0": _TG0[page],
        "IRGN0": 1,
        "ORGN0": 1,
        "SH0": 0b11,
        "T1SZ": 64 - vabits,
        "TG1": _TG1[page],
        "IRGN1": 1,
        "ORGN1": 1,
        "SH1": 0b11,
        "A1": 1,
        "IPS": SIZE_CODE[pa_bits],
        "DS": int(ds),
    }


def _host_s1(s: Setup) -> RegimeSetup:
    host, va = s.host, s.vabits_actual
    vhe = host.mode == "vhe"
    r = RegimeSetup(
        "host-s1",
        "Host stage 1" + (" (EL2&0)" if vhe else " (EL1&0)"),
        s.host_ds,
        va,
        _effective(s.host_pa_bits, host.page, s.hardware, 1),
        geo.s1_start_level(va, host.page),
        1,
        _host_tcr(host.page, va, s.host_ds, s.host_pa_bits),
        "el20" if vhe else "el10",
        e2h=vhe,
        statements=list(s.facts[:3]),
        page_lpa=host.page == 64 and s.hardware.pa != "48",
    )
    return r


def _hyp_s1(s: Setup) -> RegimeSetup:
    v, hw, host = s.version, s.hardware, s.host
    hvhe = host.mode == "protected" and _at_least(v, "v6.10")
    bits, why_bits = hyp_va_bits(v, s.vabits_actual)
    start = 3 + 1 - hw_pgtable_levels(bits, host.page)
    statements = [why_bits]
    if host.mode == "protected":
        statements.append(
            Statement(
                "kvm-arm.mode=protected: E2H=1 (hVHE)."
                if hvhe
                else "kvm-arm.mode=protected: E2H=0.",
                pick(v, "hvhe-protected", "hvhe-opt-in").key,
            )
        )
    statements.append(
        Statement(
            f"kvm_pgtable_hyp_init({bits}): start level {start}, "
            f"{hw_pgtable_levels(bits, host.page)} levels.",
            "hyp-pgtable",
        )
    )
    kvm_fmt = s.kvm_lpa2
    if not hvhe:
        if _at_least(v, "v6.14"):
            ds, ps = s.host_ds, s.host_pa_bits
            statements.append(
                Statement(
                    f"TCR_EL2.DS={int(ds)} from the host's lpa2_is_enabled(); PS = the host's "
                    f"IPS ({ps} bits).",
                    "hyp-tcr-host",
                )
            )
        else:
            ds = kvm_fmt
            ps = min(hw.pa_bits, parange_max(v, kvm_fmt, host)[0])
            statements.append(
                Statement(
                    f"TCR_EL2.DS={int(ds)} from kvm_lpa2_is_enabled(); PS from "
                    f"kvm_get_parange() ({ps} bits).",
                    "hyp-tcr-kvm",
                )
            )
        fields = {
            "T0SZ": 64 - bits,
            "TG0": _TG0[host.page],
            "PS": SIZE_CODE[ps],
            "DS": int(ds),
            "IRGN0": 1,
            "ORGN0": 1,
            "SH0": 0b11,
        }
    else:
        ds, ps = s.host_ds, s.host_pa_bits
        fields = _host_tcr(host.page, s.vabits_actual, s.host_ds, s.host_pa_bits)
        fields.update(T0SZ=64 - bits, EPD1=1)
        if _at_least(v, "v6.14"):
            fields.update(A1=0)
            statements.append(
                Statement(
                    f"TCR_EL2 = the host's TCR_EL1 (DS={int(ds)}, IPS {ps} bits) with T0SZ "
                    f"{64 - bits}.",
                    "hvhe-tcr",
                )
            )
        else:
            # cpu_prepare_hyp_mode() writes PS into [18:16] and DS into bit 32: in this layout
            # they are T1SZ[2:0] and IPS[0].
            code = SIZE_CODE[min(hw.pa_bits, parange_max(v, kvm_fmt, host)[0])]
            fields["T1SZ"] = (fields["T1SZ"] & ~0b111) | code
            if kvm_fmt:
                fields["IPS"] |= 1
            statements.append(
                Statement(
                    f"TCR_EL2 = the host's TCR_EL1 (DS={int(ds)}) with T0SZ {64 - bits}; PS lands "
                    f"in T1SZ[2:0] and DS in IPS[0] (IPS = {fields['IPS']:#05b}).",
                    "hvhe-tcr-e2h0-bits",
                )
            )
    r = RegimeSetup(
        "hyp-s1",
        "Hypervisor stage 1 (EL2" + (", hVHE E2H=1)" if hvhe else ", E2H=0)"),
        ds,
        bits,
        _effective(ps, host.page, hw, 1),
        start,
        1,
        fields,
        "el20" if hvhe else "el2",
        e2h=hvhe,
        statements=statements,
        page_lpa=host.page == 64 and hw.pa != "48",
    )
    if host.page != 64 and bits > 48 and not ds:
        r.broken = (
            f"T0SZ={64 - bits} needs DS=1 with {host.page}K pages: KVM's TCR_EL2 is out of range "
            "and the hypervisor's walks fault."
        )
    if host.page != 64 and kvm_fmt != ds:
        r.warnings.append(
            Statement(
                f"KVM writes these descriptors in the {'LPA2' if kvm_fmt else 'DS=0'} format "
                f"(kvm_lpa2_is_enabled() is {str(kvm_fmt).lower()}) while TCR_EL2.DS={int(ds)}: "
                "bits [9:8] of its leaf descriptors are read as "
                + ("SH (0b00 for addresses below 2^50)." if kvm_fmt else "OA[51:50]."),
                "kvm-pte-format",
            )
        )
    return r


def _stage2(s: Setup, key: str, title: str, ipa: int, ps: int, why: list[Statement]) -> RegimeSetup:
    page = s.host.page
    kvm = kvm_stage2(ipa, page)
    statements = [
        *why,
        Statement(f"VTCR_EL2.DS={int(s.kvm_lpa2)} (kvm_lpa2_is_enabled()).", "kvm-vtcr-ds"),
        Statement(
            f"{kvm['levels']} levels from level {kvm['start_level']}"
            + (
                f", {kvm['concatenated']} concatenated start tables"
                if kvm["concatenated"] > 1
                else ""
            )
            + f"; SL0={kvm['sl0']:#04b}, SL2=0.",
            "kvm-s2-levels",
        ),
    ]
    fields = {
        "T0SZ": kvm["t0sz"],
        "SL0": kvm["sl0"],
        "TG0": _TG0[page],
        "PS": SIZE_CODE[ps],
        "DS": int(s.kvm_lpa2),
        "IRGN0": 1,
        "ORGN0": 1,
        "SH0": 0b11,
    }
    return RegimeSetup(
        key,
        title,
        s.kvm_lpa2,
        ipa,
        _effective(ps, page, s.hardware, 2),
        kvm["start_level"],
        kvm["concatenated"],
        fields,
        "stage2",
        statements=statements,
        page_lpa=page == 64 and s.hardware.pa != "48",
    )


def decide(v: KernelVersion, hw: Hardware, host: Host) -> Setup:
    """Every regime KVM sets up for this hardware, host configuration and release."""
    s = Setup(v, hw, host)
    s.problem = host_problem(v, hw, host)
    if s.problem is not None:
        return s
    s.vabits_actual, why_va = vabits_actual(v, hw, host)
    s.host_ds, why_ds = host_lpa2(v, hw, host)
    s.host_pa_bits, why_pa = host_pa_bits(v, hw, host, s.host_ds)
    s.kvm_lpa2 = kvm_lpa2_enabled(hw, host.page)
    if host.page == 64:
        why_kvm = Statement("kvm_lpa2_is_enabled() is false with 64K pages.", "kvm-lpa2-64k")
    else:
        stages = {
            (True, True): "both stages",
            (True, False): "stage 1 only",
            (False, True): "stage 2 only",
            (False, False): "neither stage",
        }[(hw.lpa2_s1, hw.lpa2_s2)]
        why_kvm = Statement(
            f"kvm_lpa2_is_enabled() is {str(s.kvm_lpa2).lower()}: LPA2 at {stages}.", "kvm-lpa2"
        )
    s.facts = [why_va, why_ds, why_pa, why_kvm]
    s.ipa_limit = hw.pa_bits if (s.kvm_lpa2 or host.page == 64) else min(hw.pa_bits, 48)
    why_limit = Statement(f"IPA limit {s.ipa_limit} bits (kvm_set_ipa_limit()).", "kvm-ipa-limit")
    pmax, why_pmax = parange_max(v, s.kvm_lpa2, host)
    ps = min(hw.pa_bits, pmax)
    s.regimes.append(_host_s1(s))
    if host.mode != "vhe":
        s.regimes.append(_hyp_s1(s))
    s.regimes.append(
        _stage2(
            s,
            "guest-s2",
            "Guest stage 2",
            s.ipa_limit,
            ps,
            [why_kvm, why_limit, why_pmax],
        )
    )
    if host.mode == "protected":
        s.regimes.append(
            _stage2(
                s,
                "host-s2",
                "Host stage 2 (pKVM)",
                ps,
                ps,
                [
                    why_kvm,
                    Statement(
                        f"Identity map of the {ps}-bit PA range (prepare_host_vtcr()).",
                        "pkvm-host-s2",
                    ),
                    why_pmax,
                ],
            )
        )
    return s
