"""The translation table walker: stage 1 (EL1&0, EL2, EL2&0), stage 2 and two-stage walks.

The order of checks follows the Arm pseudocode (AArch64.S1Translate/S1Walk,
AArch64.S2Translate/S2Walk). Register and descriptor fields are read only through the
``model.fields`` layouts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any

from . import attrs as attrmod
from . import geometry as geo
from .cpu import CPU, CPU_PRESETS, Choices
from .descriptors import BitSource, decode_address, variant_for
from .faults import Fault, FaultKind, make_fault
from .fields import (
    ESR_ISS_DA,
    ESR_ISS_IA,
    HCR_EL2,
    MAIR,
    PAR_EL1,
    PAR_EL1_FAULT,
    SCTLR,
    TCR_EL1,
    TCR_EL2,
    TCR_EL2_E2H,
    TTBR,
    TTBR0_EL2,
    TTBR0_EL2_52,
    TTBR_52,
    VTCR_EL2,
    VTTBR_EL2,
    VTTBR_EL2_52,
    Layout,
    descriptor_layout,
)
from .memory import Memory, as_memory

MASK64 = (1 << 64) - 1


class Regime(StrEnum):
    EL10 = "el10"  # stage 1 of EL1&0 (table reads through stage 2 when HCR_EL2.VM=1)
    EL2 = "el2"  # stage 1 of EL2, HCR_EL2.E2H=0
    EL20 = "el20"  # stage 1 of EL2&0, HCR_EL2.E2H=1
    STAGE2 = "stage2"  # stage 2 alone (input is an IPA)
    EL10_S12 = "el10_s12"  # stage 1 of EL1&0 then stage 2 of the result


_KIND_NAMES = {"r": "read", "w": "write", "x": "exec"}


@dataclass(frozen=True)
class Access:
    """An access: exception level 0/1/2 and kind "read" | "write" | "exec"."""

    el: int = 1
    kind: str = "read"

    def __post_init__(self) -> None:
        if self.kind not in ("read", "write", "exec"):
            raise ValueError(f"bad access kind {self.kind!r}")
        if self.el not in (0, 1, 2):
            raise ValueError(f"bad exception level {self.el}")

    @classmethod
    def parse(cls, text: str) -> Access:
        """'el1r', 'el0w', 'el2x' (or 'EL1 read')."""
        t = text.lower().replace(" ", "")
        if t.startswith("el") and len(t) >= 4 and t[2].isdigit():
            kind = t[3:]
            return cls(int(t[2]), _KIND_NAMES.get(kind, kind))
        raise ValueError(f"cannot parse access {text!r}")

    @property
    def write(self) -> bool:
        return self.kind == "write"

    @property
    def execute(self) -> bool:
        return self.kind == "exec"

    def __str__(self) -> str:
        return f"EL{self.el} {self.kind}"


_TWO_RANGE_REGIMES = frozenset({"el10", "el10_s12", "el20"})
# Stage-2 walks of stage-1 table addresses are reads at EL1.
_PTW_ACCESS = Access(1, "read")


@dataclass
class Warning:  # noqa: A001 - the public name the API promises
    code: str
    message: str


@dataclass
class WalkParams:
    """Everything derived from the control registers for one stage, computed once."""

    stage: int
    regime: str
    input_address: int
    tcr_name: str
    granule_kb: int
    granule_bits: int
    stride: int
    granule_why: str
    ds: bool
    ds_raw: int
    ds_why: str
    txsz_field: str
    txsz_raw: int
    txsz: int
    txsz_min: int
    txsz_max: int
    iasize: int
    start_level: int
    ps_field: str
    ps_raw: int
    ps_bits: int
    oa_bits: int
    start_table_bits: int
    start_table_entries: int
    start_table_align: int
    concatenated_tables: int
    ttbr_name: str
    ttbr_value: int
    ttbr_52bit: bool
    table_base: int
    table_base_origin: str
    desc_variant: str
    tbi: bool = False
    hpd: bool = False
    ha: bool = False
    hd: bool = False
    sh: int = 0
    sl0: int | None = None
    sl2: int | None = None
    range_select: int = 0
    indexes: list[tuple[int, int, int]] = field(default_factory=list)


@dataclass
class LevelRead:
    stage: int
    level: int
    table_base: int
    table_base_origin: str
    index_hi: int
    index_lo: int
    index: int
    desc_address: int | None
    desc_ipa: int | None = None
    s2: StageWalk | None = None
    raw: int | None = None
    kind: str = "not-read"
    layout: str | None = None
    # (name, hi, lo, value, meaning) per field; decoded lazily (``Layout.rows``).
    fields: Sequence[tuple[str, int, int, int, str]] = field(default_factory=list)
    next_address: int | None = None
    output_address: int | None = None
    address_sources: list[BitSource] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    synthetic: bool = False


@dataclass
class StageWalk:
    stage: int
    params: WalkParams | None
    levels: list[LevelRead] = field(default_factory=list)
    output_address: int | None = None
    oa_sources: list[BitSource] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    perms: dict[str, Any] = field(default_factory=dict)
    fault: Fault | None = None
    leaf_level: int | None = None


@dataclass
class WalkResult:
    regime: str
    access: Access
    input_address: int
    params: dict[str, WalkParams] = field(default_factory=dict)
    levels: list[LevelRead] = field(default_factory=list)
    output_address: int | None = None
    oa_sources: list[BitSource] = field(default_factory=list)
    ipa: int | None = None
    s2_final: StageWalk | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    perms: dict[str, Any] = field(default_factory=dict)
    fault: Fault | None = None
    warnings: list[Warning] = field(default_factory=list)
    choices_used: dict[str, str] = field(default_factory=dict)
    par: int = 0
    esr_iss: int | None = None
    descriptor_reads: int = 0

    @property
    def ok(self) -> bool:
        return self.fault is None

    def to_dict(self) -> dict:
        return _jsonable(self)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Enum):
        return obj.value
    if hasattr(obj, "to_dict") and not isinstance(obj, WalkResult):
        return obj.to_dict()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    return obj


def _hexr(hi: int, lo: int) -> str:
    return f"[{hi}]" if hi == lo else f"[{hi}:{lo}]"


# ---------------------------------------------------------------------------------------------


class _Walker:
    def __init__(self, regs: Mapping[str, int], memory: Memory, cpu: CPU, choices: Choices) -> None:
        self.regs = regs
        self.mem = memory
        self.cpu = cpu
        self.choices = choices
        self.warnings: list[Warning] = []
        self._warned: set[tuple[str, str]] = set()
        self.choices_used: dict[str, str] = {}
        self.reads = 0
        self._s2_template: tuple[WalkParams | None, Fault | None] | None = None

    # -- small helpers ---------------------------------------------------------------------
    def reg(self, name: str) -> int:
        return int(self.regs.get(name, 0)) & MASK64

    def warn(self, code: str, message: str) -> None:
        key = (code, message)
        if key not in self._warned:
            self._warned.add(key)
            self.warnings.append(Warning(code, message))

    def use_choice(self, name: str) -> str:
        value = getattr(self.choices, name)
        self.choices_used[name] = value
        return value

    def check_res0(self, layout: Layout, value: int, what: str) -> None:
        for f in layout.res0_violations(value):
            self.warn("res0", f"{what}{_hexr(f.hi, f.lo)} are RES0 but set ({f.name}).")

    def _granule(self, tg_raw: int, tg_name: str, table: dict, stage: int) -> tuple[int, str]:
        g = table.get(tg_raw)
        implemented = self.cpu.implemented_granules(stage) or [4]
        if g is not None and g in implemented:
            return g, f"{tg_name}={tg_raw:#04b} selects {g}KB"
        choice = self.use_choice("unimplemented_granule")
        sub = min(implemented) if choice == "smallest" else max(implemented)
        what = "a reserved encoding" if g is None else f"{g}KB, not implemented at stage {stage}"
        why = (
            f"{tg_name}={tg_raw:#04b} is {what}; behaves as {sub}KB "
            f"(IMPLEMENTATION DEFINED choice: {choice} implemented granule)"
        )
        self.warn("granule-substituted", why)
        return sub, why

    def _ds(self, ds_raw: int, granule: int, stage: int, where: str) -> tuple[bool, str]:
        if not ds_raw:
            return False, f"{where}.DS=0"
        if granule == 64:
            self.warn("ds-ignored-64k", f"{where}.DS=1 has no effect with the 64KB granule.")
            return False, f"{where}.DS=1 is ignored for the 64KB granule"
        choice = self.use_choice("ds_validity")
        if choice == "per_granule":
            ok = self.cpu.granule_lpa2(granule, stage)
            field = {4: "TGran4", 16: "TGran16"}[granule] + ("_2" if stage == 2 else "")
            basis = f"ID_AA64MMFR0_EL1.{field} {'says' if ok else 'does not say'} 52-bit"
        else:
            ok = self.cpu.has_lpa2
            basis = f"FEAT_LPA2 is {'implemented' if ok else 'not implemented'}"
        if ok:
            return True, f"{where}.DS=1 and {basis}"
        msg = f"{where}.DS=1 behaves as DS=0 on this CPU: {basis} (choice ds_validity={choice})."
        self.warn("ds-forced-0", msg)
        return False, msg

    def _txsz(
        self, raw: int, lo: int, hi: int, field_name: str, mandatory_low: bool
    ) -> tuple[int, str | None, str]:
        """Returns (effective TxSZ, fault rule or None, message)."""
        if lo <= raw <= hi:
            return raw, None, ""
        choice = self.use_choice("txsz_out_of_range")
        if raw < lo:
            msg = f"{field_name}={raw} is below the minimum {lo} for this granule/DS/CPU"
            if choice == "fault" or mandatory_low:
                why = " (fault required by FEAT_LVA/FEAT_LPA)" if mandatory_low else ""
                return raw, "txsz-below-min", msg + why
            self.warn("txsz-clamped", msg + f"; behaves as {lo} (choice txsz_out_of_range=clamp)")
            return lo, None, ""
        msg = f"{field_name}={raw} is above the maximum {hi}"
        if choice == "fault":
            return raw, "txsz-above-max", msg
        self.warn("txsz-clamped", msg + f"; behaves as {hi} (choice txsz_out_of_range=clamp)")
        return hi, None, ""

    def _oa_bits(self, ps_raw: int, granule: int, stage: int) -> tuple[int, int]:
        if ps_raw == 0b111:
            self.warn("ps-reserved", "IPS/PS=0b111 (56 bits) needs FEAT_D128; treated as 52.")
        lpa2 = (
            self.cpu.granule_lpa2(granule, stage)
            if self.choices.ds_validity == "per_granule"
            else self.cpu.has_lpa2
        )
        return geo.ps_bits(ps_raw), geo.effective_oa_bits(
            ps_raw, granule, self.cpu.pamax, self.cpu.has_lpa, lpa2
        )

    def _ttbr_base(
        self,
        name: str,
        value: int,
        fmt52: bool,
        lay: Layout,
        lay52: Layout,
        tsize: int,
        oa_bits: int,
    ) -> tuple[int, int, str]:
        """Start-table base from a TTBR, its alignment (log2) and a description."""
        if fmt52:
            align = max(tsize, 6)
            high = lay52.get(value, "BADDR_51_48")
            if high and oa_bits <= 48 and self.choices.high_oa_bits == "ignore":
                self.use_choice("high_oa_bits")
                self.warn("ttbr-high-ignored", f"{name}[5:2] ignored: output size is {oa_bits}")
                high = 0
            base = lay52.get_in_place(value, "BADDR") | (high << 48)
            origin = f"{name}[47:6] + {name}[5:2]→[51:48]"
            if lay52.get(value, "RES0_1"):
                self.warn("res0", f"{name}[1] is RES0 in the 52-bit TTBR format.")
            low_mask = ((1 << align) - 1) & ~0x3F
        else:
            align = tsize
            base = lay.get_in_place(value, "BADDR")
            origin = f"{name}[47:1]"
            low_mask = ((1 << align) - 1) & ~1
        if base & low_mask:
            self.warn(
                "ttbr-misaligned",
                f"{name} base bits {_hexr(align - 1, 1 if not fmt52 else 6)} are not zero; the "
                f"start table is {1 << tsize} bytes, so they are ignored (aligned down).",
            )
        base &= ~((1 << align) - 1)
        if align > (6 if fmt52 else 1):
            origin += f", aligned to {1 << align} bytes"
        return base, align, origin

    def _setup_level(self, start_level: int | None) -> int:
        if self.use_choice("setup_fault_level") == "start_level" and start_level is not None:
            return start_level
        return 0

    # -- stage 1 parameters -------------------------------------------------------------------
    def s1_params(
        self, regime: Regime, va: int, access: Access
    ) -> tuple[WalkParams | None, Fault | None]:
        if regime in (Regime.EL10, Regime.EL10_S12):
            lay, tcr_name, el, two = TCR_EL1, "TCR_EL1", "EL1", True
        elif regime == Regime.EL20:
            lay, tcr_name, el, two = TCR_EL2_E2H, "TCR_EL2", "EL2", True
        else:
            lay, tcr_name, el, two = TCR_EL2, "TCR_EL2", "EL2", False
        tcr = self.reg(tcr_name)
        self.check_res0(lay, tcr, tcr_name)
        g = lay.get
        if two:
            upper = (va >> 55) & 1
            n = str(upper)
            txsz_f, tg_f, ps_f = f"T{n}SZ", f"TG{n}", "IPS"
            tbi = g(tcr, f"TBI{n}")
            tbid = g(tcr, f"TBID{n}")
            hpd = g(tcr, f"HPD{n}")
            sh = g(tcr, f"SH{n}")
            epd = g(tcr, f"EPD{n}")
            e0pd = g(tcr, f"E0PD{n}")
            ttbr_name = f"TTBR{n}_{el}"
            tg_table = geo.TG1_GRANULE if upper else geo.TG0_GRANULE
            ttbr_lay, ttbr_lay52 = TTBR, TTBR_52
        else:
            upper = 0
            txsz_f, tg_f, ps_f = "T0SZ", "TG0", "PS"
            tbi, tbid, hpd, sh = g(tcr, "TBI"), g(tcr, "TBID"), g(tcr, "HPD"), g(tcr, "SH0")
            epd = e0pd = 0
            ttbr_name = "TTBR0_EL2"
            tg_table = geo.TG0_GRANULE
            ttbr_lay, ttbr_lay52 = TTBR0_EL2, TTBR0_EL2_52
        tg_raw = g(tcr, tg_f)
        granule, granule_why = self._granule(tg_raw, f"{tcr_name}.{tg_f}", tg_table, 1)
        ds_raw = g(tcr, "DS")
        ds, ds_why = self._ds(ds_raw, granule, 1, tcr_name)
        gb = geo.granule_bits(granule)
        txsz_raw = g(tcr, txsz_f)
        tmin = geo.min_txsz_s1(granule, ds, self.cpu.has_lva)
        tmax = geo.max_txsz(granule, self.cpu.has_ttst)
        txsz, rule, tmsg = self._txsz(
            txsz_raw, tmin, tmax, f"{tcr_name}.{txsz_f}", self.cpu.has_lva
        )
        txsz_eff = min(max(txsz_raw, tmin), tmax) if rule else txsz
        iasize = 64 - txsz_eff
        start = geo.s1_start_level(iasize, granule)
        ps_raw = g(tcr, ps_f)
        ps_bits, oa_bits = self._oa_bits(ps_raw, granule, 1)
        ha = bool(g(tcr, "HA")) and self.cpu.has_ha
        hd = bool(g(tcr, "HD")) and ha and self.cpu.has_hd
        if hpd and not self.cpu.has_hpds:
            self.warn("hpd-unsupported", f"{tcr_name}.HPD set but FEAT_HPDS absent: ignored.")
            hpd = 0
        tsize = geo.start_table_bits(iasize, granule, start)
        fmt52 = ds or (granule == 64 and self.cpu.has_lpa and ps_raw == 0b110)
        ttbr = self.reg(ttbr_name)
        base, align, origin = self._ttbr_base(
            ttbr_name, ttbr, fmt52, ttbr_lay, ttbr_lay52, tsize, oa_bits
        )
        if ds:
            self.warn(
                "ds-sh",
                f"DS=1: descriptor bits [9:8] are OA[51:50], not SH; output shareability comes "
                f"from {tcr_name}.SH{upper if two else 0}.",
            )
        lpa = granule == 64 and self.cpu.has_lpa
        if lpa and self.choices.high_oa_bits == "ignore" and oa_bits <= 48:
            lpa = False
        params = WalkParams(
            stage=1,
            regime=regime.value,
            input_address=va,
            tcr_name=tcr_name,
            granule_kb=granule,
            granule_bits=gb,
            stride=gb - 3,
            granule_why=granule_why,
            ds=ds,
            ds_raw=ds_raw,
            ds_why=ds_why,
            txsz_field=f"{tcr_name}.{txsz_f}",
            txsz_raw=txsz_raw,
            txsz=txsz_eff,
            txsz_min=tmin,
            txsz_max=tmax,
            iasize=iasize,
            start_level=start,
            ps_field=f"{tcr_name}.{ps_f}",
            ps_raw=ps_raw,
            ps_bits=ps_bits,
            oa_bits=oa_bits,
            start_table_bits=tsize,
            start_table_entries=1 << (tsize - 3),
            start_table_align=1 << align,
            concatenated_tables=1,
            ttbr_name=ttbr_name,
            ttbr_value=ttbr,
            ttbr_52bit=fmt52,
            table_base=base,
            table_base_origin=origin,
            desc_variant=variant_for(granule, ds, lpa),
            tbi=bool(tbi),
            hpd=bool(hpd),
            ha=ha,
            hd=hd,
            sh=sh,
            range_select=upper,
            indexes=geo.index_fields(iasize, granule, start),
        )
        # 1. TxSZ limits
        if rule:
            lvl = self._setup_level(start)
            fix = (
                f"set {txsz_f} to {tmin}..{tmax}"
                if rule == "txsz-below-min"
                else f"set {txsz_f} to at most {tmax} (or implement FEAT_TTST)"
            )
            return params, make_fault(
                FaultKind.TRANSLATION, lvl, 1, rule, f"{tmsg}: Translation fault.", fix
            )
        # 2. VA range
        top = 55 if (tbi and not (tbid and access.execute)) else 63
        width = top - iasize + 1
        bits = (va >> iasize) & ((1 << width) - 1)
        want = ((1 << width) - 1) if upper else 0
        if bits != want:
            lvl = self._setup_level(start)
            expect = "all ones (TTBR1 range, VA[55]=1)" if upper else "all zeros"
            tbi_note = " (TBI: top byte ignored)" if top == 55 else ""
            return params, make_fault(
                FaultKind.TRANSLATION,
                lvl,
                1,
                "va-out-of-range",
                f"VA{_hexr(top, iasize)} must be {expect} for a {iasize}-bit input range "
                f"({txsz_f}={txsz_eff}){tbi_note}; they are {bits:#x}.",
                f"use an address within the {iasize}-bit range, or lower {txsz_f}",
            )
        # 3. E0PD
        if two and access.el == 0 and e0pd:
            return params, make_fault(
                FaultKind.TRANSLATION,
                self._setup_level(start),
                1,
                "e0pd",
                f"{tcr_name}.E0PD{upper}=1: EL0 accesses to the TTBR{upper} range fault.",
                f"clear {tcr_name}.E0PD{upper} or access from EL1",
            )
        # 4. EPD
        if two and epd:
            return params, make_fault(
                FaultKind.TRANSLATION,
                self._setup_level(start),
                1,
                "epd",
                f"{tcr_name}.EPD{upper}=1 disables walks through {ttbr_name}.",
                f"clear {tcr_name}.EPD{upper}",
            )
        return params, None

    # -- stage 2 parameters ------------------------------------------------------------------
    def s2_template(self) -> tuple[WalkParams | None, Fault | None]:
        if self._s2_template is None:
            self._s2_template = self._make_s2_template()
        return self._s2_template

    def _make_s2_template(self) -> tuple[WalkParams | None, Fault | None]:
        lay = VTCR_EL2
        vtcr = self.reg("VTCR_EL2")
        self.check_res0(lay, vtcr, "VTCR_EL2")
        g = lay.get
        tg_raw = g(vtcr, "TG0")
        granule, granule_why = self._granule(tg_raw, "VTCR_EL2.TG0", geo.TG0_GRANULE, 2)
        ds_raw = g(vtcr, "DS")
        ds, ds_why = self._ds(ds_raw, granule, 2, "VTCR_EL2")
        sl0 = g(vtcr, "SL0")
        sl2_raw = g(vtcr, "SL2")
        sl2 = sl2_raw if (granule == 4 and ds) else 0
        if sl2_raw and not sl2:
            self.warn(
                "sl2-ignored",
                "VTCR_EL2.SL2=1 is ignored: it only counts with the 4KB granule and DS=1.",
            )
        gb = geo.granule_bits(granule)
        txsz_raw = g(vtcr, "T0SZ")
        tmin = geo.min_txsz_s2(granule, ds, self.cpu.pamax, self.cpu.has_lpa)
        tmax = geo.max_txsz(granule, self.cpu.has_ttst)
        txsz, rule, tmsg = self._txsz(txsz_raw, tmin, tmax, "VTCR_EL2.T0SZ", self.cpu.has_lpa)
        txsz_eff = min(max(txsz_raw, tmin), tmax) if rule else txsz
        iasize = 64 - txsz_eff
        ps_raw = g(vtcr, "PS")
        ps_bits, oa_bits = self._oa_bits(ps_raw, granule, 2)
        ha = bool(g(vtcr, "HA")) and self.cpu.has_ha
        hd = bool(g(vtcr, "HD")) and ha and self.cpu.has_hd
        start = geo.s2_start_level(granule, sl0, sl2)
        invalid = geo.s2_invalid_sl(granule, sl0, sl2, ds, self.cpu.pamax, self.cpu.has_ttst)
        if invalid is None and start is None:
            invalid = "reserved SL0 encoding"
        inconsistent = invalid is None and geo.s2_inconsistent_sl(iasize, granule, start)
        # An invalid or inconsistent SL faults before any table is read: no start level.
        walk_start = start if invalid is None and not inconsistent else None
        fmt52 = ds or (granule == 64 and self.cpu.has_lpa and ps_raw == 0b110)
        vttbr = self.reg("VTTBR_EL2")
        lpa = granule == 64 and self.cpu.has_lpa
        if lpa and self.choices.high_oa_bits == "ignore" and oa_bits <= 48:
            lpa = False
        if walk_start is not None:
            tsize = geo.start_table_bits(iasize, granule, walk_start)
            base, align, origin = self._ttbr_base(
                "VTTBR_EL2", vttbr, fmt52, VTTBR_EL2, VTTBR_EL2_52, tsize, oa_bits
            )
            concat = geo.concatenated_tables(iasize, granule, walk_start)
        else:
            tsize, base, align, origin, concat = 3, 0, 3, "VTTBR_EL2 (not used)", 1
        if ds:
            self.warn(
                "ds-sh",
                "VTCR_EL2.DS=1: stage-2 descriptor bits [9:8] are OA[51:50], not SH; "
                "shareability comes from VTCR_EL2.SH0.",
            )
        params = WalkParams(
            stage=2,
            regime=Regime.STAGE2.value,
            input_address=0,
            tcr_name="VTCR_EL2",
            granule_kb=granule,
            granule_bits=gb,
            stride=gb - 3,
            granule_why=granule_why,
            ds=ds,
            ds_raw=ds_raw,
            ds_why=ds_why,
            txsz_field="VTCR_EL2.T0SZ",
            txsz_raw=txsz_raw,
            txsz=txsz_eff,
            txsz_min=tmin,
            txsz_max=tmax,
            iasize=iasize,
            start_level=walk_start if walk_start is not None else 0,
            ps_field="VTCR_EL2.PS",
            ps_raw=ps_raw,
            ps_bits=ps_bits,
            oa_bits=oa_bits,
            start_table_bits=tsize,
            start_table_entries=1 << (tsize - 3),
            start_table_align=1 << align,
            concatenated_tables=concat,
            ttbr_name="VTTBR_EL2",
            ttbr_value=vttbr,
            ttbr_52bit=fmt52,
            table_base=base,
            table_base_origin=origin,
            desc_variant=variant_for(granule, ds, lpa),
            ha=ha,
            hd=hd,
            sh=g(vtcr, "SH0"),
            sl0=sl0,
            sl2=sl2,
            indexes=geo.index_fields(iasize, granule, walk_start) if walk_start is not None else [],
        )
        if rule:
            fix = f"set VTCR_EL2.T0SZ to {tmin}..{tmax}"
            return params, make_fault(
                FaultKind.TRANSLATION, 0, 2, rule, f"{tmsg}: stage-2 Translation fault.", fix
            )
        if invalid is not None:
            return params, make_fault(
                FaultKind.TRANSLATION,
                0,
                2,
                "s2-invalid-sl",
                f"VTCR_EL2.SL0={sl0:#04b}, SL2={sl2} is invalid for the {granule}KB granule: "
                f"{invalid}. Stage-2 Translation fault at level 0.",
                "choose a start level this CPU and granule support (see the SL0 table)",
            )
        if inconsistent:
            lo, hi = geo.s2_iasize_range(granule, start)
            return params, make_fault(
                FaultKind.TRANSLATION,
                0,
                2,
                "s2-inconsistent-sl",
                f"A {iasize}-bit IPA (T0SZ={txsz_eff}) cannot start at level {start} with "
                f"{granule}KB: that level resolves {lo}..{hi} bits (with up to 16 concatenated "
                "tables). Stage-2 Translation fault at level 0.",
                f"set VTCR_EL2.T0SZ to {64 - hi}..{64 - lo} or change SL0/SL2",
            )
        return params, None

    # -- the table walk ------------------------------------------------------------------------
    def walk_tables(self, p: WalkParams, access: Access, via_s2: bool) -> StageWalk:
        sw = StageWalk(stage=p.stage, params=p)
        ia = p.input_address
        stage = p.stage
        base = p.table_base
        origin = p.table_base_origin
        # Address size check of the start table (always level 0).
        if base >> p.oa_bits:
            sw.fault = make_fault(
                FaultKind.ADDRESS_SIZE,
                0,
                stage,
                "ttbr-oa-out-of-range",
                f"The start table address {base:#x} from {p.ttbr_name} is above the "
                f"{p.oa_bits}-bit output size ({p.ps_field}={p.ps_raw:#05b}); Address size "
                "fault, reported at level 0 whatever the start level.",
                f"clear {p.ttbr_name}[5:2] (base[51:48]) or set {p.ps_field}=0b110",
            )
            return sw
        ap_table = 0
        pxn_table = 0
        uxn_table = 0
        table_attrs_used = stage == 1 and not p.hpd
        two_range = p.regime in _TWO_RANGE_REGIMES
        level = p.start_level
        while True:
            hi, lo = geo.index_bits(level, p.iasize, p.granule_kb, p.start_level)
            index = (ia >> lo) & ((1 << (hi - lo + 1)) - 1)
            desc_addr = base | (index << 3)
            lr = LevelRead(stage, level, base, origin, hi, lo, index, desc_addr)
            sw.levels.append(lr)
            read_pa = desc_addr
            if via_s2:
                lr.desc_ipa = desc_addr
                s2w = self.stage2(desc_addr, _PTW_ACCESS, s1ptw=True)
                lr.s2 = s2w
                if s2w.fault is not None:
                    lr.desc_address = None
                    sw.fault = s2w.fault
                    return sw
                read_pa = s2w.output_address
                lr.desc_address = read_pa
            raw, synthetic = self.mem.read_descriptor(read_pa, stage, level, p)
            raw &= MASK64
            self.reads += 1
            lr.raw = raw
            lr.synthetic = synthetic
            fault_here = self._decode_kind(lr, raw, p)
            if fault_here is not None:
                sw.fault = fault_here
                return sw
            if lr.kind == "table":
                lay = descriptor_layout(stage, "table", p.desc_variant)
                lr.layout = lay.name
                lr.fields = lay.rows(raw)
                self.check_res0(lay, raw, f"Level {level} table descriptor bits ")
                nxt, spans = decode_address(raw, lay, p.desc_variant, p.granule_bits, level)
                nxt = self._apply_high_oa_choice(nxt, p, raw, lay)
                lr.next_address = nxt
                lr.address_sources = spans
                if stage == 1:
                    attrs = {
                        "APTable": lay.get(raw, "APTable"),
                        "PXNTable": lay.get(raw, "PXNTable"),
                        "UXNTable" if two_range else "XNTable": lay.get(raw, "UXNTable"),
                        "NSTable": lay.get(raw, "NSTable"),
                        "applied": table_attrs_used,
                    }
                    if not table_attrs_used and any(
                        lay.get(raw, n) for n in ("APTable", "PXNTable", "UXNTable")
                    ):
                        self.warn(
                            "hpd",
                            f"HPD=1: APTable/XNTable of the level {level} table descriptor "
                            "are ignored.",
                        )
                    if table_attrs_used:
                        ap_table |= lay.get(raw, "APTable")
                        pxn_table |= lay.get(raw, "PXNTable")
                        uxn_table |= lay.get(raw, "UXNTable")
                    lr.attributes = attrs
                if nxt >> p.oa_bits:
                    sw.fault = make_fault(
                        FaultKind.ADDRESS_SIZE,
                        level,
                        stage,
                        "table-oa-out-of-range",
                        f"The level {level} table descriptor points to {nxt:#x}, above the "
                        f"{p.oa_bits}-bit output size ({p.ps_field}={p.ps_raw:#05b}).",
                        self._high_bits_fix(p),
                    )
                    return sw
                base = nxt
                origin = f"level {level} table descriptor"
                level += 1
                continue
            # Leaf (block or page).
            return self._leaf(sw, lr, raw, p, access, ap_table, pxn_table, uxn_table)

    def _decode_kind(self, lr: LevelRead, raw: int, p: WalkParams) -> Fault | None:
        level, stage = lr.level, p.stage
        if not raw & 1:
            lr.kind = "invalid"
            return make_fault(
                FaultKind.TRANSLATION,
                level,
                stage,
                "invalid-descriptor",
                f"The level {level} descriptor at {lr.desc_address:#x} is invalid (bit 0 = 0).",
                "write a valid descriptor (bit 0 = 1)",
            )
        if raw & 2:
            lr.kind = "page" if level == geo.FINAL_LEVEL else "table"
            return None
        if level == geo.FINAL_LEVEL:
            lr.kind = "reserved"
            return make_fault(
                FaultKind.TRANSLATION,
                level,
                stage,
                "reserved-l3",
                "A level 3 descriptor with bits[1:0]=0b01 is the reserved encoding (level 3 "
                "holds pages only).",
                "level 3 cannot hold a block: set bit 1 (page)",
            )
        if geo.block_allowed(level, p.granule_kb, p.ds, self.cpu.pamax):
            lr.kind = "block"
            return None
        lr.kind = "block-not-allowed"
        if level == -1:
            why = "level -1 never holds a block"
            fix = "level -1 cannot hold a block: set bit 1"
        else:
            need = {
                4: "4KB level 0 blocks need DS=1 (FEAT_LPA2)",
                16: "16KB level 1 blocks need DS=1 (FEAT_LPA2)" if level == 1 else "",
                64: "64KB level 1 blocks need a 52-bit PA (FEAT_LPA)" if level == 1 else "",
            }[p.granule_kb]
            why = f"the {p.granule_kb}KB granule has no blocks at level {level}"
            if need:
                why += f" ({need})"
            fix = f"make it a table descriptor (set bit 1) or map at level {level + 1}"
        return make_fault(
            FaultKind.TRANSLATION,
            level,
            stage,
            "block-level-unsupported",
            f"Block descriptor at level {level}: {why}. Translation fault.",
            fix,
        )

    def _apply_high_oa_choice(self, addr: int, p: WalkParams, raw: int, lay: Layout) -> int:
        if p.oa_bits > 48 or not addr >> 48:
            return addr
        if self.choices.high_oa_bits != "ignore" or p.desc_variant != "DS1":
            return addr
        # QEMU keeps desc[49:48] but ignores desc[9:8] when the output size is <= 48.
        if addr >> 50:
            self.use_choice("high_oa_bits")
            self.warn("high-oa-ignored", "desc[9:8] (OA[51:50]) ignored: output size <= 48")
            return addr & ((1 << 50) - 1)
        return addr

    def _high_bits_fix(self, p: WalkParams) -> str:
        if p.desc_variant == "DS1":
            return f"clear desc[9:8]/desc[49:48] or set {p.ps_field}=0b110 (52 bits)"
        if p.desc_variant == "LPA":
            return f"clear desc[15:12] or set {p.ps_field}=0b110 (52 bits)"
        return f"use an address below 2^{p.oa_bits} or raise {p.ps_field}"

    def _leaf(
        self,
        sw: StageWalk,
        lr: LevelRead,
        raw: int,
        p: WalkParams,
        access: Access,
        ap_table: int,
        pxn_table: int,
        uxn_table: int,
    ) -> StageWalk:
        level, stage = lr.level, p.stage
        lay = descriptor_layout(stage, lr.kind, p.desc_variant)
        lr.layout = lay.name
        lr.fields = lay.rows(raw)
        self.check_res0(lay, raw, f"Level {level} {lr.kind} descriptor bits ")
        size_bits = geo.block_size_bits(level, p.granule_kb)
        oa_base, spans = decode_address(raw, lay, p.desc_variant, size_bits, level)
        oa_base = self._apply_high_oa_choice(oa_base, p, raw, lay)
        main = lay.field("OA")
        stray = lay.get_in_place(raw, "OA") & ((1 << size_bits) - 1)
        if stray:
            self.warn(
                "res0",
                f"Level {level} {lr.kind} descriptor bits {_hexr(size_bits - 1, main.lo)} are "
                "below the block size and are RES0/ignored.",
            )
        lr.output_address = oa_base
        lr.address_sources = spans
        sw.leaf_level = level
        # Contiguous at the new block levels is ignored.
        if lay.get(raw, "Contiguous") and geo.contiguous_ignored(level, p.granule_kb):
            self.warn(
                "contiguous-ignored",
                f"Contiguous bit ignored: a {p.granule_kb}KB level {level} block cannot be "
                "part of a contiguous run.",
            )
        if oa_base >> p.oa_bits:
            sw.fault = make_fault(
                FaultKind.ADDRESS_SIZE,
                level,
                stage,
                "leaf-oa-out-of-range",
                f"The level {level} {lr.kind} descriptor's output address {oa_base:#x} is above "
                f"the {p.oa_bits}-bit output size ({p.ps_field}={p.ps_raw:#05b}).",
                self._high_bits_fix(p),
            )
            return sw
        # Access flag.
        if not lay.get(raw, "AF"):
            if p.ha:
                self.warn("af-hw", "AF=0 with hardware AF update: the CPU sets AF, no fault.")
            else:
                sw.fault = make_fault(
                    FaultKind.ACCESS_FLAG,
                    level,
                    stage,
                    "af-zero",
                    f"The level {level} {lr.kind} descriptor has AF=0 (bit 10) and "
                    f"{p.tcr_name}.HA=0.",
                    "set AF (bit 10), or enable hardware Access flag updates (HA=1)",
                )
                return sw
        size_mask = (1 << size_bits) - 1
        sw.output_address = oa_base | (p.input_address & size_mask)
        sw.oa_sources = spans + [BitSource(size_bits - 1, 0, "ia", size_bits - 1, 0, level)]
        if stage == 1:
            self._s1_attrs_perms(sw, lay, raw, p, ap_table, pxn_table, uxn_table)
        else:
            self._s2_attrs_perms(sw, lay, raw, p)
        sw.attrs["block_size"] = 1 << size_bits
        sw.attrs["leaf_level"] = level
        sw.attrs["leaf_kind"] = lr.kind
        denied = self._check_perm(sw, access, p, lay, raw, ap_table)
        if denied:
            sw.fault = make_fault(FaultKind.PERMISSION, level, stage, "permission", *denied)
        return sw

    # -- attributes and permissions ----------------------------------------------------------
    def _s1_attrs_perms(self, sw, lay, raw, p, ap_table, pxn_table, uxn_table) -> None:
        regime = p.regime
        el2 = regime == Regime.EL2.value
        mair_name = "MAIR_EL1" if regime in ("el10", "el10_s12") else "MAIR_EL2"
        sctlr_name = "SCTLR_EL1" if regime in ("el10", "el10_s12") else "SCTLR_EL2"
        idx = lay.get(raw, "AttrIndx")
        attr = MAIR.get(self.reg(mair_name), f"Attr{idx}")
        if p.ds:
            sh = p.sh
            sh_origin = f"{p.tcr_name}.SH{p.range_select} (DS=1)"
        else:
            sh = lay.get(raw, "SH")
            sh_origin = "descriptor SH[9:8]"
        sw.attrs.update(
            attr_index=idx,
            mair=mair_name,
            attr=attr,
            memory_type=attrmod.describe_mair(attr),
            device=attrmod.is_device(attr),
            sh=sh,
            sh_name=attrmod.SH_NAMES[sh],
            sh_origin=sh_origin,
            af=lay.get(raw, "AF"),
            ng=lay.get(raw, "nG"),
            contiguous=lay.get(raw, "Contiguous")
            and not geo.contiguous_ignored(sw.leaf_level, p.granule_kb),
            dbm=lay.get(raw, "DBM"),
            gp=lay.get(raw, "GP"),
        )
        ap = lay.get(raw, "AP")
        ap2, ap1 = ap >> 1, ap & 1
        wxn = SCTLR.get(self.reg(sctlr_name), "WXN")
        why: list[str] = []
        if el2:
            if not ap1:
                why.append("AP[1] is ignored in the EL2 regime (treated as 1)")
            if lay.get(raw, "PXN"):
                self.warn("res0", "PXN (bit 53) is RES0 in the EL2 single-range regime.")
            w = not ap2
            if ap2:
                why.append("AP[2]=1: read-only")
            if ap_table & 2:
                w = False
                why.append("APTable[1]=1 above: read-only")
            xn = lay.get(raw, "UXN") or (uxn_table & 1)
            x = not xn
            if not x:
                why.append("XN=1" + (" (XNTable)" if uxn_table else ""))
            if wxn and w and x:
                x = False
                why.append("SCTLR_EL2.WXN=1 and writable: not executable")
            sw.perms = {"EL2": {"read": True, "write": w, "exec": x}, "why": why}
            return
        pr, pw = True, not ap2
        ur, uw = bool(ap1), bool(ap1) and not ap2
        why.append(sw_ap_text(ap))
        if ap_table & 1:
            ur = uw = False
            why.append("APTable[0]=1 above: no EL0 access")
        if ap_table & 2:
            pw = uw = False
            why.append("APTable[1]=1 above: read-only")
        pxn = lay.get(raw, "PXN") or pxn_table
        uxn = lay.get(raw, "UXN") or uxn_table
        px = not (pxn or uw)
        ux = not uxn
        if pxn:
            why.append("PXN" + ("Table" if pxn_table else "") + "=1: no privileged execution")
        if uw and not pxn:
            why.append("writable at EL0, so not executable at the privileged level")
        if uxn:
            why.append("UXN" + ("Table" if uxn_table else "") + "=1: no EL0 execution")
        if wxn:
            if pw and px:
                px = False
                why.append(f"{sctlr_name}.WXN=1: writable, so not executable (privileged)")
            if uw and ux:
                ux = False
                why.append(f"{sctlr_name}.WXN=1: writable, so not executable (EL0)")
        priv = "EL1" if regime in ("el10", "el10_s12") else "EL2"
        sw.perms = {
            priv: {"read": pr, "write": pw, "exec": px},
            "EL0": {"read": ur, "write": uw, "exec": ux},
            "why": why,
            "pan": "PAN is not modelled",
        }

    def _s2_attrs_perms(self, sw, lay, raw, p) -> None:
        memattr = lay.get(raw, "MemAttr")
        if p.ds:
            sh, sh_origin = p.sh, "VTCR_EL2.SH0 (DS=1)"
        else:
            sh, sh_origin = lay.get(raw, "SH"), "descriptor SH[9:8]"
        sw.attrs.update(
            memattr=memattr,
            attr=attrmod.s2_memattr_to_attr(memattr),
            memory_type=attrmod.describe_s2_memattr(memattr),
            device=memattr >> 2 == 0,
            sh=sh,
            sh_name=attrmod.SH_NAMES[sh],
            sh_origin=sh_origin,
            af=lay.get(raw, "AF"),
            contiguous=lay.get(raw, "Contiguous")
            and not geo.contiguous_ignored(sw.leaf_level, p.granule_kb),
            dbm=lay.get(raw, "DBM"),
            fwb="HCR_EL2.FWB is not modelled",
        )
        s2ap = lay.get(raw, "S2AP")
        r, w = bool(s2ap & 1), bool(s2ap & 2)
        xn = lay.get(raw, "XN")
        xnx = lay.get(raw, "XNX") if self.cpu.has_xnx else 0
        px, ux = {0: (True, True), 1: (False, True), 2: (False, False), 3: (True, False)}[
            (xn << 1) | xnx
        ]
        why = [f"S2AP={s2ap:#04b}", f"XN={xn}, XNX={xnx}"]
        sw.perms = {
            "EL1": {"read": r, "write": w, "exec": px},
            "EL0": {"read": r, "write": w, "exec": ux},
            "why": why,
        }

    def _check_perm(self, sw, access, p, lay, raw, ap_table=0) -> tuple[str, str] | None:
        el_key = f"EL{access.el}"
        perms = sw.perms.get(el_key)
        if perms is None:
            # e.g. an EL0/EL1 access checked against the EL2 regime: use what exists.
            el_key = next(k for k in sw.perms if k.startswith("EL"))
            perms = sw.perms[el_key]
        if perms[access.kind]:
            return None
        if access.write and perms["read"] and p.ha and p.hd and lay.get(raw, "DBM"):
            if p.stage == 1 and lay.get(raw, "AP") >> 1 and not ap_table & 2:
                self.warn("dbm", "DBM=1 with HA=HD=1: the write clears AP[2] (dirty), no fault.")
                return None
            if p.stage == 2 and not lay.get(raw, "S2AP") & 2:
                self.warn("dbm", "DBM=1 with HA=HD=1: the write sets S2AP[1], no fault.")
                return None
        reasons = "; ".join(sw.perms.get("why", []))
        verb = {"read": "read", "write": "write to", "exec": "execute from"}[access.kind]
        stage_txt = "stage 1" if p.stage == 1 else "stage 2"
        msg = f"{el_key} may not {verb} this {stage_txt} mapping ({reasons})."
        fix = {
            "read": "give read access (AP[1]=1 for EL0 / S2AP[0]=1)",
            "write": "clear AP[2] (and APTable[1]) / set S2AP[1], or use DBM with HA=HD=1",
            "exec": "clear PXN/UXN (and the XNTable bits) / stage-2 XN, and keep it non-writable "
            "at EL0 / with WXN",
        }[access.kind]
        return msg, fix

    # -- stage 2 ---------------------------------------------------------------------------
    def stage2(self, ipa: int, access: Access, s1ptw: bool) -> StageWalk:
        tmpl, fault = self.s2_template()
        assert tmpl is not None
        # A shallow copy of the template with its own input address (dataclasses.replace
        # would re-run __init__ for ~40 fields on every nested stage-2 walk).
        p = object.__new__(WalkParams)
        p.__dict__.update(tmpl.__dict__)
        p.input_address = ipa
        sw = StageWalk(stage=2, params=p)
        if fault is not None:
            sw.fault = dataclasses.replace(fault, s1ptw=s1ptw)
            return sw
        if ipa >> p.iasize:
            sw.fault = make_fault(
                FaultKind.TRANSLATION,
                0,
                2,
                "ipa-out-of-range",
                f"IPA {ipa:#x} is outside the {p.iasize}-bit stage-2 input range "
                f"(VTCR_EL2.T0SZ={p.txsz}).",
                "lower VTCR_EL2.T0SZ or use a smaller IPA (stage-1 IPS/tables)",
                s1ptw=s1ptw,
            )
            return sw
        sw = self.walk_tables(p, access, via_s2=False)
        if sw.fault is not None and s1ptw:
            sw.fault = dataclasses.replace(sw.fault, s1ptw=True)
        return sw


def sw_ap_text(ap: int) -> str:
    return {
        0: "AP=0b00: privileged RW, EL0 none",
        1: "AP=0b01: privileged RW, EL0 RW",
        2: "AP=0b10: privileged RO, EL0 none",
        3: "AP=0b11: RO at both",
    }[ap]


# ---------------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------------


def _coerce_access(access: Access | str | None) -> Access:
    if access is None:
        return Access()
    if isinstance(access, Access):
        return access
    return Access.parse(access)


def walk(
    regime: Regime | str,
    regs: Mapping[str, int],
    memory: Any,
    address: int,
    access: Access | str | None = None,
    cpu: CPU | None = None,
    choices: Choices | None = None,
) -> WalkResult:
    """Walk the tables of ``regime`` for ``address`` and explain every step.

    For ``Regime.EL10`` stage-1 table reads go through stage 2 when HCR_EL2.VM=1 (and
    {E2H,TGE} != {1,1}); ``Regime.EL10_S12`` also translates the final IPA through stage 2.
    The regime's SCTLR.M is not consulted here (``at()`` applies it); a warning notes it.
    """
    regime = Regime(regime)
    access = _coerce_access(access)
    cpu = cpu or CPU_PRESETS["max"]
    choices = choices or Choices()
    w = _Walker(regs, as_memory(memory), cpu, choices)
    address &= MASK64
    res = WalkResult(regime=regime.value, access=access, input_address=address)
    hcr = w.reg("HCR_EL2")
    e2h, tge, vm = (HCR_EL2.get(hcr, n) for n in ("E2H", "TGE", "VM"))
    s2_on = bool(vm) and not (e2h and tge)

    if regime == Regime.STAGE2:
        sw = w.stage2(address, access, s1ptw=False)
        res.params["s2"] = sw.params
        res.levels = sw.levels
        _finish_stage(res, sw)
        res.attrs = sw.attrs
        if sw.fault is None:
            res.par = encode_par_ok(sw.output_address, sw.attrs["attr"], sw.attrs["sh"])
    else:
        if regime in (Regime.EL10, Regime.EL10_S12):
            if not SCTLR.get(w.reg("SCTLR_EL1"), "M"):
                w.warn("mmu-off", "SCTLR_EL1.M=0: real accesses would not be translated.")
            if tge and not e2h:
                w.warn("tge", "HCR_EL2.TGE=1 (E2H=0): EL1&0 stage 1 is disabled for accesses.")
        elif not SCTLR.get(w.reg("SCTLR_EL2"), "M"):
            w.warn("mmu-off", "SCTLR_EL2.M=0: real accesses would not be translated.")
        if regime == Regime.EL10_S12 and not s2_on:
            w.warn("s2-off", "Stage 2 is disabled (HCR_EL2.VM=0 or E2H=TGE=1): stage 1 only.")
        via_s2 = s2_on and regime in (Regime.EL10, Regime.EL10_S12)
        params, fault = w.s1_params(regime, address, access)
        res.params["s1"] = params
        if via_s2:
            tmpl, _ = w.s2_template()
            res.params["s2"] = tmpl
        if fault is not None:
            res.fault = fault
        else:
            sw = w.walk_tables(params, access, via_s2)
            res.levels = sw.levels
            _finish_stage(res, sw)
            res.attrs = dict(sw.attrs)
            if sw.fault is None and regime == Regime.EL10_S12 and s2_on:
                res.ipa = sw.output_address
                s2 = w.stage2(sw.output_address, access, s1ptw=False)
                res.s2_final = s2
                if s2.fault is not None:
                    res.fault = s2.fault
                    res.output_address = None
                else:
                    res.output_address = s2.output_address
                    res.oa_sources = _compose_sources(sw.oa_sources, s2.oa_sources)
                    res.attrs = _combine(sw, s2)
                    res.perms = {"stage1": sw.perms, "stage2": s2.perms}
            if res.fault is None:
                res.par = encode_par_ok(res.output_address, res.attrs["attr"], res.attrs["sh"])
    if res.fault is not None:
        res.par = encode_par_fault(res.fault)
        res.esr_iss = encode_iss(res.fault, access)
        res.output_address = None
    res.warnings = w.warnings
    res.choices_used = w.choices_used
    res.descriptor_reads = w.reads
    return res


def _finish_stage(res: WalkResult, sw: StageWalk) -> None:
    res.fault = sw.fault
    res.output_address = sw.output_address
    res.oa_sources = sw.oa_sources
    res.perms = sw.perms


def _compose_sources(s1: list[BitSource], s2: list[BitSource]) -> list[BitSource]:
    """Final PA provenance: stage-2 descriptor bits, then the IPA bits (which came from
    stage 1) below the stage-2 leaf size."""
    out = [s for s in s2 if s.source == "desc"]
    ia_span = next((s for s in s2 if s.source == "ia"), None)
    if ia_span is None:
        return out
    for s in s1:
        lo = max(s.oa_lo, ia_span.oa_lo)
        hi = min(s.oa_hi, ia_span.oa_hi)
        if lo > hi:
            continue
        off = s.src_lo - s.oa_lo
        out.append(BitSource(hi, lo, s.source, hi + off, lo + off, s.level))
    return sorted(out, key=lambda b: -b.oa_hi)


def _combine(s1: StageWalk, s2: StageWalk) -> dict:
    a1, a2 = s1.attrs, s2.attrs
    attr = attrmod.combine_attrs(a1["attr"], a2["attr"])
    sh = attrmod.combine_sh(a1["sh"], a2["sh"])
    return {
        "stage1": a1,
        "stage2": a2,
        "attr": attr,
        "memory_type": attrmod.describe_mair(attr),
        "sh": sh,
        "sh_name": attrmod.SH_NAMES[sh],
        "sh_origin": "stage 1 and stage 2 combined (more shareable wins)",
        "combine_note": "HCR_EL2.FWB/CD/DC not modelled; more restrictive type wins",
    }


def encode_par_ok(pa: int, attr: int, sh: int) -> int:
    return PAR_EL1.encode(
        F=0,
        SH=attrmod.par_sh(attr, sh),
        NS=0,
        RES1_11=1,
        PA=(pa >> 12) & ((1 << 40) - 1),
        ATTR=attr,
    )


def encode_par_fault(f: Fault) -> int:
    return PAR_EL1_FAULT.encode(F=1, FST=f.fsc, PTW=int(f.s1ptw), S=int(f.stage == 2), RES1_11=1)


def encode_iss(f: Fault, access: Access) -> int:
    if access.execute and not f.s1ptw:
        return ESR_ISS_IA.encode(IFSC=f.fsc, S1PTW=0)
    if access.execute:
        return ESR_ISS_IA.encode(IFSC=f.fsc, S1PTW=1)
    return ESR_ISS_DA.encode(DFSC=f.fsc, WnR=int(access.write and not f.s1ptw), S1PTW=int(f.s1ptw))
