"""CPU feature description (a frozen value object built from ID registers) and presets,
plus the IMPLEMENTATION DEFINED choices the walker has to make."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from .fields import ID_AA64MMFR0, ID_AA64MMFR1, ID_AA64MMFR2

PARANGE_BITS = {0: 32, 1: 36, 2: 40, 3: 42, 4: 44, 5: 48, 6: 52, 7: 56}

_MMFR0_FIELDS = {
    "parange": "PARange",
    "tgran4": "TGran4",
    "tgran16": "TGran16",
    "tgran64": "TGran64",
    "tgran4_2": "TGran4_2",
    "tgran16_2": "TGran16_2",
    "tgran64_2": "TGran64_2",
}
_MMFR1_FIELDS = {"hafdbs": "HAFDBS", "hpds": "HPDS", "xnx": "XNX"}
_MMFR2_FIELDS = {"varange": "VARange", "st": "ST"}


@dataclass(frozen=True)
class CPU:
    """The translation-related ID register fields of a CPU.

    Raw ID register encodings are kept (e.g. ``tgran4 = 0b0001`` means 4KB with 52-bit support),
    and the ``other_mmfrN`` members keep every bit this model does not interpret so that
    ``CPU.from_id_regs(*cpu.id_regs())`` round-trips exactly.
    """

    parange: int = 6
    tgran4: int = 1
    tgran16: int = 2
    tgran64: int = 0
    tgran4_2: int = 3
    tgran16_2: int = 3
    tgran64_2: int = 2
    varange: int = 1
    st: int = 1
    hpds: int = 1
    hafdbs: int = 2
    xnx: int = 1
    other_mmfr0: int = 0
    other_mmfr1: int = 0
    other_mmfr2: int = 0
    slug: str = field(default="custom", compare=False)
    title: str = field(default="Custom CPU", compare=False)
    description: str = field(default="", compare=False)

    # -- conversion ------------------------------------------------------------------------
    @classmethod
    def from_id_regs(cls, mmfr0: int, mmfr1: int = 0, mmfr2: int = 0, **meta: str) -> CPU:
        kw: dict[str, int] = {}
        other = {}
        for layout, names, raw, key in (
            (ID_AA64MMFR0, _MMFR0_FIELDS, mmfr0, "other_mmfr0"),
            (ID_AA64MMFR1, _MMFR1_FIELDS, mmfr1, "other_mmfr1"),
            (ID_AA64MMFR2, _MMFR2_FIELDS, mmfr2, "other_mmfr2"),
        ):
            rest = raw
            for attr, fname in names.items():
                kw[attr] = layout.get(raw, fname)
                rest = layout.set(rest, fname, 0)
            other[key] = rest
        return cls(**kw, **other, **meta)  # type: ignore[arg-type]

    def id_regs(self) -> tuple[int, int, int]:
        out = []
        for layout, names, base in (
            (ID_AA64MMFR0, _MMFR0_FIELDS, self.other_mmfr0),
            (ID_AA64MMFR1, _MMFR1_FIELDS, self.other_mmfr1),
            (ID_AA64MMFR2, _MMFR2_FIELDS, self.other_mmfr2),
        ):
            v = base
            for attr, fname in names.items():
                v = layout.set(v, fname, getattr(self, attr))
            out.append(v)
        return out[0], out[1], out[2]

    @property
    def id_aa64mmfr0(self) -> int:
        return self.id_regs()[0]

    @property
    def id_aa64mmfr1(self) -> int:
        return self.id_regs()[1]

    @property
    def id_aa64mmfr2(self) -> int:
        return self.id_regs()[2]

    def replace(self, **changes: Any) -> CPU:
        return replace(self, **changes)

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        m0, m1, m2 = self.id_regs()
        d.update(
            ID_AA64MMFR0_EL1=f"{m0:#018x}",
            ID_AA64MMFR1_EL1=f"{m1:#018x}",
            ID_AA64MMFR2_EL1=f"{m2:#018x}",
            pamax=self.pamax,
        )
        return d

    # -- derived features ------------------------------------------------------------------
    @property
    def pamax(self) -> int:
        return PARANGE_BITS.get(self.parange, 48)

    def granule_supported(self, granule_kb: int, stage: int = 1) -> bool:
        if stage == 2:
            v2 = {4: self.tgran4_2, 16: self.tgran16_2, 64: self.tgran64_2}[granule_kb]
            if v2 != 0:
                return v2 >= 2
        if granule_kb == 4:
            return self.tgran4 != 0xF
        if granule_kb == 16:
            return self.tgran16 != 0
        return self.tgran64 != 0xF

    def granule_lpa2(self, granule_kb: int, stage: int = 1) -> bool:
        """Does the ID field for this granule and stage say "52-bit" (FEAT_LPA2)?"""
        if granule_kb == 64:
            return False
        s1 = self.tgran4 == 1 if granule_kb == 4 else self.tgran16 >= 2
        if stage == 1:
            return s1
        v2 = self.tgran4_2 if granule_kb == 4 else self.tgran16_2
        return v2 >= 3 or (v2 == 0 and s1)

    @property
    def has_lpa2(self) -> bool:
        """FEAT_LPA2 anywhere (any granule, any stage)."""
        return any(self.granule_lpa2(g, s) for g in (4, 16) for s in (1, 2))

    @property
    def has_lpa(self) -> bool:
        """FEAT_LPA: 52-bit PA with the 64KB granule."""
        return self.parange >= 6

    @property
    def has_lva(self) -> bool:
        return self.varange >= 1

    @property
    def has_ttst(self) -> bool:
        return self.st >= 1

    @property
    def has_hpds(self) -> bool:
        return self.hpds >= 1

    @property
    def has_ha(self) -> bool:
        return self.hafdbs >= 1

    @property
    def has_hd(self) -> bool:
        return self.hafdbs >= 2

    @property
    def has_xnx(self) -> bool:
        return self.xnx >= 1

    def implemented_granules(self, stage: int = 1) -> list[int]:
        return [g for g in (4, 16, 64) if self.granule_supported(g, stage)]


_MAX = CPU.from_id_regs(0x0000032310201126, 0x0000011010211122, 0x1021011010011011)


def _preset(slug: str, title: str, description: str, cpu: CPU) -> CPU:
    return cpu.replace(slug=slug, title=title, description=description)


CPU_PRESETS: dict[str, CPU] = {
    p.slug: p
    for p in (
        _preset(
            "max",
            "QEMU -cpu max",
            "The ID registers of QEMU's -cpu max: 52-bit physical addresses, all three granules "
            "with FEAT_LPA2 for 4KB and 16KB at both stages, FEAT_LPA and FEAT_LVA for 64KB, "
            "small translation tables (FEAT_TTST), hierarchical permission disables, hardware "
            "Access flag and dirty state management and stage-2 XNX. Every feature this model "
            "knows about is present, so DS=1 always takes effect.",
            _MAX,
        ),
        _preset(
            "v8-48bit",
            "Armv8.0-style, 48-bit PA",
            "A CPU with a 48-bit physical address space and no 52-bit support of any kind: "
            "TGran4/TGran16 say 'supported' but not '52-bit', VARange is 48 bits and there is no "
            "FEAT_TTST. DS bits are ignored (treated as 0), T0SZ below 16 is out of range and "
            "the 64KB granule cannot place level-1 blocks.",
            _MAX.replace(
                parange=5,
                tgran4=0,
                tgran16=1,
                tgran4_2=2,
                tgran16_2=2,
                varange=0,
                st=0,
                hpds=1,
                hafdbs=0,
                xnx=0,
            ),
        ),
        _preset(
            "lpa-lva",
            "FEAT_LPA + FEAT_LVA (64KB 52-bit only)",
            "A CPU with 52-bit physical and virtual addresses for the 64KB granule only "
            "(Armv8.2 FEAT_LPA and FEAT_LVA) but no FEAT_LPA2: 4KB and 16KB stay at 48 bits and "
            "DS is ignored. 64KB descriptors carry OA[51:48] in bits [15:12] and the TTBR takes "
            "base[51:48] in bits [5:2] when IPS is 0b110.",
            _MAX.replace(tgran4=0, tgran16=1, tgran4_2=2, tgran16_2=2),
        ),
        _preset(
            "lpa2-s1-only",
            "FEAT_LPA2 at stage 1 only",
            "FEAT_LPA2 for 4KB and 16KB at stage 1 (TGran4=0b0001, TGran16=0b0010), but the "
            "stage-2 fields TGran4_2/TGran16_2 say 'supported' without 52-bit. VTCR_EL2.DS is "
            "then treated as 0 (with the default per-granule DS choice), so the stage-2 walk "
            "stays at 48 bits while stage 1 can use 52-bit VAs and IPAs.",
            _MAX.replace(tgran4_2=2, tgran16_2=2),
        ),
        _preset(
            "lpa2-s2-only",
            "FEAT_LPA2 at stage 2 only",
            "The stage-2 fields say 52-bit (TGran4_2=TGran16_2=0b0011) while the stage-1 fields "
            "only say 'supported': TCR_EL1.DS and TCR_EL2.DS are treated as 0 (per-granule DS "
            "choice), VTCR_EL2.DS works. Useful to see stage-2 LPA2 under a 48-bit stage 1.",
            _MAX.replace(tgran4=0, tgran16=1),
        ),
    )
}


TxszOutOfRange = Literal["fault", "clamp"]
UnimplementedGranule = Literal["smallest", "largest"]
SetupFaultLevel = Literal["level0", "start_level"]
DsValidity = Literal["per_granule", "feat_lpa2"]
HighOaBits = Literal["address_size_fault", "ignore"]
ParNs = Literal["pa_space", "zero"]


@dataclass(frozen=True)
class Choices:
    """IMPLEMENTATION DEFINED (and model-compatibility) choices, defaults = QEMU/Linux.

    * ``txsz_out_of_range``: TxSZ outside [min, max] gives a level 0 Translation fault
      (``"fault"``, QEMU and KVM) or behaves as the nearest legal value (``"clamp"``). Below the
      minimum the fault is mandatory with FEAT_LVA (stage 1) / FEAT_LPA (stage 2).
    * ``unimplemented_granule``: a reserved or unimplemented TGx value behaves as the smallest
      implemented granule (``"smallest"``, QEMU) or the largest (``"largest"``).
    * ``setup_fault_level``: level reported by Translation faults from the walk set-up (TxSZ,
      VA range, EPD, E0PD): ``"level0"`` (pseudocode, QEMU) or ``"start_level"`` (Linux KVM's
      AT emulation since 2025).
    * ``ds_validity``: DS takes effect when the ID field for this granule and stage says 52-bit
      (``"per_granule"``, QEMU/Linux) or whenever FEAT_LPA2 is implemented at all
      (``"feat_lpa2"``, the pseudocode's reading).
    * ``high_oa_bits``: OA bits above 47 (TTBR[5:2], desc[9:8], desc[15:12] for 64KB) with an
      output size below 52 bits: ``"address_size_fault"`` (pseudocode) or ``"ignore"`` (QEMU's
      behaviour; not an architectural choice, offered to compare with QEMU).
    * ``par_ns``: PAR_EL1.NS (bit 9) after a successful AT in a Non-secure translation regime,
      where the architecture leaves it UNKNOWN: ``"pa_space"`` reports the output's physical
      address space, 1 for Non-secure (QEMU; with FEAT_RME NS and NSE name the PA space), or
      ``"zero"`` (what this model reported before the choice existed).
    """

    txsz_out_of_range: TxszOutOfRange = "fault"
    unimplemented_granule: UnimplementedGranule = "smallest"
    setup_fault_level: SetupFaultLevel = "level0"
    ds_validity: DsValidity = "per_granule"
    high_oa_bits: HighOaBits = "address_size_fault"
    par_ns: ParNs = "pa_space"

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


CHOICE_HELP: dict[str, dict[str, str]] = {
    "txsz_out_of_range": {
        "fault": "Level 0 Translation fault (QEMU, KVM).",
        "clamp": "Behave as if TxSZ held the nearest legal value.",
    },
    "unimplemented_granule": {
        "smallest": "Use the smallest implemented granule (QEMU).",
        "largest": "Use the largest implemented granule.",
    },
    "setup_fault_level": {
        "level0": "Set-up Translation faults report level 0 (pseudocode, QEMU).",
        "start_level": "Report the walk's start level (Linux KVM AT emulation since 2025).",
    },
    "ds_validity": {
        "per_granule": "DS needs the granule's own ID field to say 52-bit (QEMU, Linux).",
        "feat_lpa2": "DS works whenever FEAT_LPA2 is implemented (pseudocode).",
    },
    "high_oa_bits": {
        "address_size_fault": "High OA bits with PS < 52 give an Address size fault (Arm ASL).",
        "ignore": "High OA bits are ignored when PS < 52 (QEMU).",
    },
    "par_ns": {
        "pa_space": "PAR_EL1.NS=1: the output is in the Non-secure PA space (QEMU, FEAT_RME).",
        "zero": "PAR_EL1.NS=0 (the bit is UNKNOWN for a Non-secure regime).",
    },
}
