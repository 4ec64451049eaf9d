"""The configuration matrix KVM's LPA2 support has to work across, per kernel release.

The dimensions are those of the series' own test matrix (Ryan Roberts, "KVM: arm64: Support
FEAT_LPA2 at hyp s1 and vm s2", v1 cover letter, Dec 2022): hardware PA support (48-bit,
FEAT_LPA, FEAT_LPA2) x hardware VA (48, or 52 with FEAT_LVA) x KVM mode (VHE, nVHE, protected)
x host page size x the PA and VA sizes the host kernel is built for (CONFIG_ARM64_PA_BITS,
CONFIG_ARM64_VA_BITS), with a 64K 52-bit guest; plus two hardware variants the series
discusses but did not test: FEAT_LPA2 reported at stage 1 only, or at stage 2 only.

For each combination and release: whether such a kernel exists (Kconfig), what the host runs
with, and every regime KVM sets up (``kvm_setup.decide``), each with a ``Configuration`` that
walks it in the explorer. ``placements`` gives the series' load-address cases (host kernel and
guest RAM below or above 2^48) with the verdict the rules give, so that every row of the
series' table can be checked against this model.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache
from itertools import product
from typing import Any

from model.arch.fields import HCR_EL2, TCR_EL1, TCR_EL2, TCR_EL2_E2H, VTCR_EL2
from model.arch.walker import Regime
from model.explore.configs import CONFIG_PRESETS, Configuration

from .kernel_facts import VERSIONS, KernelVersion, Statement, version
from .kvm_setup import (
    HW_PA,
    HW_PA_TITLE,
    KVM_MODE_TITLE,
    KVM_MODES,
    SAMPLE,
    Hardware,
    Host,
    RegimeSetup,
    Setup,
    decide,
)

__all__ = ["HW_PA", "HW_PA_TITLE", "KVM_MODES", "KVM_MODE_TITLE", "rows", "row", "MatrixRow"]

HW_VA = (48, 52)
PAGES = (4, 16, 64)
SIZES = (48, 52)
SEED_HW_PA = ("48", "lpa", "lpa2")  # the hardware the series' test matrix covers


@dataclass
class RegimeUse:
    setup: RegimeSetup
    config: Configuration = field(repr=False)

    def __getattr__(self, name: str):
        return getattr(self.setup, name)


@dataclass(frozen=True)
class Placement:
    """One load-address case of the series' table: host kernel image and guest RAM below
    ("low") or above ("high") 2^48."""

    host_load: str
    guest_load: str
    ok: bool
    why: Statement | None = None


@dataclass
class MatrixRow:
    hw_pa: str
    hw_va: int
    mode: str
    page: int
    host_pa: int
    host_va: int
    kernel: str
    invalid: Statement | None = None
    setup: Setup | None = None
    regimes: list[RegimeUse] = field(default_factory=list)
    placements: list[Placement] = field(default_factory=list)
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

    @property
    def in_seed_domain(self) -> bool:
        return self.hw_pa in SEED_HW_PA

    def regime(self, key: str) -> RegimeUse:
        return next(r for r in self.regimes if r.key == key)


def _cpu(hw: Hardware, page: int, host_va: int) -> tuple[str, str]:
    """The explorer CPU preset closest to this hardware for these walks, and a caveat when
    the preset differs from the hardware in a way the walk can see."""
    preset = {"lpa2": "max", "lpa2-s1": "lpa2-s1-only", "lpa2-s2": "lpa2-s2-only"}.get(hw.pa)
    if preset:
        return preset, ""
    if hw.pa == "lpa":
        return "lpa-lva", ""
    if page == 64 and host_va == 52 and hw.lva:
        return "lpa-lva", (
            "No CPU preset has FEAT_LVA without FEAT_LPA: the explorer links use lpa-lva, so "
            "their 64KB descriptors are read in the FEAT_LPA format (bits [15:12] = OA[51:48])."
        )
    return "v8-48bit", ""


def _hardware_problem(hw: Hardware, v: KernelVersion) -> Statement | None:
    """LPA2 hardware without FEAT_LVA is outside the matrix (see the report on the Arm ARM)."""
    if hw.pa.startswith("lpa2") and not hw.lva:
        if v.number >= (6, 9):
            return Statement(
                "Not covered: Linux treats FEAT_LPA2 as implying FEAT_LVA (arm64.nolva turns "
                "both off), and the series' test matrix has no such hardware.",
                "lpa2-implies-lva",
            )
        return Statement(
            "Not covered: the series' test matrix has no FEAT_LPA2 hardware without FEAT_LVA.",
            "",
        )
    return None


def _config(r: RegimeSetup, cpu: str, title: str) -> Configuration:
    """The regime's registers over background tables built for them (what KVM would have
    built: tables of the regime's own format and levels)."""
    return _registers(r, cpu, title).refilled()


def _registers(r: RegimeSetup, cpu: str, title: str) -> Configuration:
    base = CONFIG_PRESETS["4k-48"]
    common: dict[str, Any] = dict(title=title, cpu=cpu)
    if r.key == "host-s1":
        kernel_va = ((1 << 64) - (1 << r.input_bits)) | (SAMPLE & ((1 << r.input_bits) - 1))
        if r.e2h:
            regs = dict(
                TCR_EL2=TCR_EL2_E2H.encode(**r.fields),
                TTBR1_EL2=0x4125_6000,
                HCR_EL2=HCR_EL2.encode(RW=1, E2H=1, TGE=1),
            )
            return replace(
                base.with_registers(**regs),
                regime=Regime.EL20.value,
                access="el2r",
                address=kernel_va,
                **common,
            )
        regs = dict(TCR_EL1=TCR_EL1.encode(**r.fields), TTBR1_EL1=0x4125_6000)
        return replace(base.with_registers(**regs), address=kernel_va, **common)
    address = SAMPLE & ((1 << r.input_bits) - 1)
    if r.key == "hyp-s1":
        if r.e2h:
            regs = dict(
                TCR_EL2=TCR_EL2_E2H.encode(**r.fields),
                TTBR0_EL2=0x4130_0000,
                HCR_EL2=HCR_EL2.encode(RW=1, E2H=1),
            )
            regime = Regime.EL20.value
        else:
            regs = dict(TCR_EL2=TCR_EL2.encode(**r.fields), TTBR0_EL2=0x4130_0000)
            regime = Regime.EL2.value
        return replace(
            base.with_registers(**regs), regime=regime, access="el2r", address=address, **common
        )
    regs = dict(
        VTCR_EL2=VTCR_EL2.encode(**r.fields),
        VTTBR_EL2=0x8000_0000,
        HCR_EL2=HCR_EL2.encode(RW=1, VM=1),
    )
    return replace(
        base.with_registers(**regs), regime=Regime.STAGE2.value, address=address, **common
    )


def _placements(row: MatrixRow, s: Setup) -> list[Placement]:
    """The series' load-address cases this row offers, with the rules' verdict: the guest's
    RAM can sit above 2^48 when KVM allows a 52-bit IPA and the 64K 52-bit guest runs with
    52-bit VAs (FEAT_LVA); the host image can when the host runs with 52-bit VAs and PAs."""
    hw, host = s.hardware, s.host
    guest_high = s.ipa_limit == 52 and hw.lva
    host_high = s.vabits_actual == 52 and s.host_pa_bits == 52
    host_ok = host.page == 64
    host_why = Statement(
        "The kernel image must be in 48-bit addressable memory with 4K/16K pages; a 64K "
        "kernel with 52-bit VAs can be placed higher.",
        "image-below-2-48",
    )
    if s.version.number < (6, 9):
        host_why = Statement(
            "A 64K kernel with 52-bit VAs (FEAT_LVA) can be loaded above 2^48.",
            "kconfig-va52-64k-only",
        )
    guest_why = Statement(
        f"KVM's IPA limit is {s.ipa_limit} bits and the guest runs with 52-bit VAs.",
        "kvm-ipa-limit",
    )
    out = [Placement("low", "low", True)]
    if guest_high:
        out.append(Placement("low", "high", True, guest_why))
    if host_high:
        out.append(Placement("high", "low", host_ok, host_why))
        if guest_high:
            out.append(Placement("high", "high", host_ok, host_why))
    return out


def _fill(row: MatrixRow, s: Setup) -> None:
    mode = KVM_MODE_TITLE[row.mode]
    titles = {
        "host-s1": f"Host stage 1 ({mode}), {row.page}K, {s.vabits_actual}-bit VA",
        "hyp-s1": f"KVM EL2 stage 1 ({mode}), {row.page}K",
        "guest-s2": f"Guest stage 2 ({mode}), {row.page}K, {s.ipa_limit}-bit IPA",
        "host-s2": f"pKVM host stage 2, {row.page}K",
    }
    for r in s.regimes:
        title = titles[r.key] + f", {row.kernel}"
        row.regimes.append(RegimeUse(r, _config(r, row.cpu, title)))
    row.placements = _placements(row, s)


def _row(v: KernelVersion, hw_pa: str, hw_va: int, mode: str, page: int, pa: int, va: int):
    hw, host = Hardware(hw_pa, hw_va), Host(page, pa, va, mode)
    cpu, note = _cpu(hw, page, va)
    row = MatrixRow(hw_pa, hw_va, mode, page, pa, va, v.tag, cpu=cpu, cpu_note=note)
    row.invalid = _hardware_problem(hw, v)
    if row.invalid is None:
        s = decide(v, hw, host)
        row.setup = s
        row.invalid = s.problem
        if s.valid:
            _fill(row, s)
    return row


@cache
def rows(kernel: str | None = None) -> tuple[MatrixRow, ...]:
    """Every combination, for a release (``v6.14``; default: current mainline)."""
    v = version(kernel)
    return tuple(
        _row(v, hw_pa, hw_va, mode, page, pa, va)
        for hw_pa, hw_va, mode, page, pa, va in product(
            HW_PA, HW_VA, KVM_MODES, PAGES, SIZES, SIZES
        )
    )


def row(key: str, kernel: str | None = None) -> MatrixRow:
    for r in rows(kernel):
        if r.key == key:
            return r
    raise KeyError(key)


def versions() -> tuple[KernelVersion, ...]:
    return VERSIONS
