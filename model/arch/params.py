"""Walk parameters: everything one stage's walk needs from the control registers, derived once
(AArch64.GetS1TTWParams / GetS2TTWParams: granule, DS, input size, start level, output size,
start-table base and format), and the facts a reader is shown about them, each with its reason.

Derivation only describes what the registers say, including what a reserved or unsupported
value behaves as (with a warning). Whether the walk may start at all is decided afterwards by
``model.arch.checks``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import fault_rules as rules
from . import geometry as geo
from .cpu import CPU
from .descriptors import variant_for
from .faults import FaultSite
from .fields import (
    MASK64,
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
)
from .notes import Notes, bit_range
from .regime import Regime


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

    def facts(self) -> list[ParamFact]:
        """The parameters as a reader is shown them, each with its reason."""
        return param_facts(self)

    def to_dict(self) -> dict:
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["indexes"] = [list(index) for index in self.indexes]
        return out


def register(regs: Mapping[str, int], name: str) -> int:
    return int(regs.get(name, 0)) & MASK64


# -- the pieces shared by both stages ----------------------------------------------------------


def _granule(
    tg_raw: int, tg_name: str, table: dict, stage: int, cpu: CPU, notes: Notes
) -> tuple[int, str]:
    g = table.get(tg_raw)
    implemented = cpu.implemented_granules(stage) or [4]
    if g is not None and g in implemented:
        return g, f"{tg_name}={tg_raw:#04b} selects {g}KB"
    choice = notes.use_choice("unimplemented_granule")
    sub = min(implemented) if choice == "smallest" else max(implemented)
    what = "a reserved encoding" if g is None else f"{g}KB, not implemented at stage {stage}"
    why = (
        f"{tg_name}={tg_raw:#04b} is {what}; behaves as {sub}KB "
        f"(IMPLEMENTATION DEFINED choice: {choice} implemented granule)"
    )
    notes.warn("granule-substituted", why)
    return sub, why


def _ds(
    ds_raw: int, granule: int, stage: int, where: str, cpu: CPU, notes: Notes
) -> tuple[bool, str]:
    if not ds_raw:
        return False, f"{where}.DS=0"
    if granule == 64:
        notes.warn("ds-ignored-64k", f"{where}.DS=1 has no effect with the 64KB granule.")
        return False, f"{where}.DS=1 is ignored for the 64KB granule"
    choice = notes.use_choice("ds_validity")
    if choice == "per_granule":
        ok = cpu.granule_lpa2(granule, stage)
        name = {4: "TGran4", 16: "TGran16"}[granule] + ("_2" if stage == 2 else "")
        basis = f"ID_AA64MMFR0_EL1.{name} {'says' if ok else 'does not say'} 52-bit"
    else:
        ok = cpu.has_lpa2
        basis = f"FEAT_LPA2 is {'implemented' if ok else 'not implemented'}"
    if ok:
        return True, f"{where}.DS=1 and {basis}"
    msg = f"{where}.DS=1 behaves as DS=0 on this CPU: {basis} (choice ds_validity={choice})."
    notes.warn("ds-forced-0", msg)
    return False, msg


@dataclass(frozen=True)
class _TxSZ:
    effective: int
    problem: FaultSite | None  # out of range and the CPU faults (no effective value)


def _txsz(
    raw: int, lo: int, hi: int, field_name: str, fix_field: str, mandatory_low: bool, notes: Notes
) -> _TxSZ:
    """TxSZ as it behaves: in range, clamped (a choice), or a fault (then the walk uses the
    nearest legal value only to describe itself)."""
    if lo <= raw <= hi:
        return _TxSZ(raw, None)
    choice = notes.use_choice("txsz_out_of_range")
    nearest = min(max(raw, lo), hi)
    values: dict[str, Any] = {"field": field_name, "value": raw, "minimum": lo, "maximum": hi}
    if raw < lo:
        if choice == "fault" or mandatory_low:
            site = rules.TXSZ_BELOW_MIN.site(**values, mandatory=mandatory_low, fix_field=fix_field)
            return _TxSZ(nearest, site)
        notes.warn(
            "txsz-clamped",
            f"{field_name}={raw} is below the minimum {lo} for this granule/DS/CPU; behaves as "
            f"{lo} (choice txsz_out_of_range=clamp)",
        )
        return _TxSZ(lo, None)
    if choice == "fault":
        return _TxSZ(nearest, rules.TXSZ_ABOVE_MAX.site(**values, fix_field=fix_field))
    notes.warn(
        "txsz-clamped",
        f"{field_name}={raw} is above the maximum {hi}; behaves as {hi} "
        "(choice txsz_out_of_range=clamp)",
    )
    return _TxSZ(hi, None)


def _oa_bits(ps_raw: int, granule: int, stage: int, cpu: CPU, notes: Notes) -> tuple[int, int]:
    """(IPS/PS decoded, the effective output size: AArch64.PhysicalAddressSize)."""
    if ps_raw == 0b111:
        notes.warn("ps-reserved", "IPS/PS=0b111 (56 bits) needs FEAT_D128; treated as 52.")
    lpa2 = (
        cpu.granule_lpa2(granule, stage)
        if notes.choices.ds_validity == "per_granule"
        else cpu.has_lpa2
    )
    return geo.ps_bits(ps_raw), geo.effective_oa_bits(ps_raw, granule, cpu.pamax, cpu.has_lpa, lpa2)


@dataclass(frozen=True)
class _TableBase:
    address: int
    align_bits: int
    origin: str


def _ttbr_base(
    name: str,
    value: int,
    fmt52: bool,
    layouts: tuple[Layout, Layout],
    table_bits: int,
    oa_bits: int,
    notes: Notes,
) -> _TableBase:
    """The start table's address from a TTBR (48-bit or 52-bit format), aligned to the
    start table's size."""
    lay, lay52 = layouts
    if fmt52:
        # 52-bit format: base[47:6] in place, base[51:48] in TTBR[5:2]; at least 64-byte
        # aligned.
        align = max(table_bits, 6)
        high = lay52.get(value, "BADDR_51_48")
        if high and oa_bits <= 48 and notes.choices.high_oa_bits == "ignore":
            notes.use_choice("high_oa_bits")
            notes.warn("ttbr-high-ignored", f"{name}[5:2] ignored: output size is {oa_bits}")
            high = 0
        base = lay52.get_in_place(value, "BADDR") | (high << 48)
        origin = f"{name}[47:6] + {name}[5:2]→[51:48]"
        if lay52.get(value, "RES0_1"):
            notes.warn("res0", f"{name}[1] is RES0 in the 52-bit TTBR format.")
        low_mask = ((1 << align) - 1) & ~0x3F
    else:
        align = table_bits
        base = lay.get_in_place(value, "BADDR")
        origin = f"{name}[47:1]"
        low_mask = ((1 << align) - 1) & ~1
    if base & low_mask:
        notes.warn(
            "ttbr-misaligned",
            f"{name} base bits {bit_range(align - 1, 1 if not fmt52 else 6)} are not zero; the "
            f"start table is {1 << table_bits} bytes, so they are ignored (aligned down).",
        )
    base &= ~((1 << align) - 1)
    if align > (6 if fmt52 else 1):
        origin += f", aligned to {1 << align} bytes"
    return _TableBase(base, align, origin)


def _geometry(
    granule: int, iasize: int, start: int | None, table_bits: int, base: _TableBase, concat: int
) -> dict[str, Any]:
    """The parameters that follow from the granule, the input size and the start level
    (None: the walk cannot start), for ``WalkParams``."""
    gb = geo.granule_bits(granule)
    return {
        "granule_kb": granule,
        "granule_bits": gb,
        "stride": gb - 3,
        "iasize": iasize,
        "start_level": 0 if start is None else start,
        "start_table_bits": table_bits,
        "start_table_entries": 1 << (table_bits - 3),
        "start_table_align": 1 << base.align_bits,
        "concatenated_tables": concat,
        "table_base": base.address,
        "table_base_origin": base.origin,
        "indexes": [] if start is None else geo.index_fields(iasize, granule, start),
    }


def _variant(granule: int, ds: bool, oa_bits: int, cpu: CPU, notes: Notes) -> str:
    lpa = granule == 64 and cpu.has_lpa
    if lpa and notes.choices.high_oa_bits == "ignore" and oa_bits <= 48:
        lpa = False
    return variant_for(granule, ds, lpa)


# -- stage 1 ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage1Setup:
    """What the set-up checks of a stage-1 walk need besides its parameters."""

    two_range: bool
    txsz_problem: FaultSite | None
    tbid: bool
    e0pd: bool
    epd: bool


# regime -> (TCR layout, TCR name, EL of the TTBRs, two VA ranges)
_STAGE1_CONTROL = {
    Regime.EL10.value: (TCR_EL1, "TCR_EL1", "EL1", True),
    Regime.EL10_S12.value: (TCR_EL1, "TCR_EL1", "EL1", True),
    Regime.EL20.value: (TCR_EL2_E2H, "TCR_EL2", "EL2", True),
    Regime.EL2.value: (TCR_EL2, "TCR_EL2", "EL2", False),
}


def derive_stage1(
    regime: str, regs: Mapping[str, int], upper: int, cpu: CPU, notes: Notes
) -> tuple[WalkParams, Stage1Setup]:
    """Stage-1 parameters of ``regime`` for the VA range ``upper`` (VA[55] in a two-range
    regime, else 0). The input address is filled in by the walk."""
    lay, tcr_name, el, two = _STAGE1_CONTROL[regime]
    tcr = register(regs, tcr_name)
    notes.check_res0(lay, tcr, tcr_name)
    g = lay.get
    if two:
        n = str(upper)
        txsz_f, tg_f, ps_f = f"T{n}SZ", f"TG{n}", "IPS"
        tbi, tbid, hpd = g(tcr, f"TBI{n}"), g(tcr, f"TBID{n}"), g(tcr, f"HPD{n}")
        sh, epd, e0pd = g(tcr, f"SH{n}"), g(tcr, f"EPD{n}"), g(tcr, f"E0PD{n}")
        ttbr_name = f"TTBR{n}_{el}"
        tg_table = geo.TG1_GRANULE if upper else geo.TG0_GRANULE
        ttbr_layouts = (TTBR, TTBR_52)
    else:
        txsz_f, tg_f, ps_f = "T0SZ", "TG0", "PS"
        tbi, tbid, hpd, sh = g(tcr, "TBI"), g(tcr, "TBID"), g(tcr, "HPD"), g(tcr, "SH0")
        epd = e0pd = 0
        ttbr_name = "TTBR0_EL2"
        tg_table = geo.TG0_GRANULE
        ttbr_layouts = (TTBR0_EL2, TTBR0_EL2_52)
    tg_raw = g(tcr, tg_f)
    granule, granule_why = _granule(tg_raw, f"{tcr_name}.{tg_f}", tg_table, 1, cpu, notes)
    ds_raw = g(tcr, "DS")
    ds, ds_why = _ds(ds_raw, granule, 1, tcr_name, cpu, notes)
    txsz_raw = g(tcr, txsz_f)
    tmin = geo.min_txsz_s1(granule, ds, cpu.has_lva)
    tmax = geo.max_txsz(granule, cpu.has_ttst)
    # Below the minimum is a fault whatever the choice once FEAT_LVA is implemented.
    txsz = _txsz(txsz_raw, tmin, tmax, f"{tcr_name}.{txsz_f}", txsz_f, cpu.has_lva, notes)
    iasize = 64 - txsz.effective
    start = geo.s1_start_level(iasize, granule)
    ps_raw = g(tcr, ps_f)
    ps_bits, oa_bits = _oa_bits(ps_raw, granule, 1, cpu, notes)
    ha = bool(g(tcr, "HA")) and cpu.has_ha
    hd = bool(g(tcr, "HD")) and ha and cpu.has_hd
    if hpd and not cpu.has_hpds:
        notes.warn("hpd-unsupported", f"{tcr_name}.HPD set but FEAT_HPDS absent: ignored.")
        hpd = 0
    tsize = geo.start_table_bits(iasize, granule, start)
    fmt52 = ds or (granule == 64 and cpu.has_lpa and ps_raw == 0b110)
    ttbr = register(regs, ttbr_name)
    base = _ttbr_base(ttbr_name, ttbr, fmt52, ttbr_layouts, tsize, oa_bits, notes)
    if ds:
        notes.warn(
            "ds-sh",
            f"DS=1: descriptor bits [9:8] are OA[51:50], not SH; output shareability comes "
            f"from {tcr_name}.SH{upper if two else 0}.",
        )
    params = WalkParams(
        stage=1,
        regime=regime,
        input_address=0,
        tcr_name=tcr_name,
        granule_why=granule_why,
        ds=ds,
        ds_raw=ds_raw,
        ds_why=ds_why,
        txsz_field=f"{tcr_name}.{txsz_f}",
        txsz_raw=txsz_raw,
        txsz=txsz.effective,
        txsz_min=tmin,
        txsz_max=tmax,
        ps_field=f"{tcr_name}.{ps_f}",
        ps_raw=ps_raw,
        ps_bits=ps_bits,
        oa_bits=oa_bits,
        ttbr_name=ttbr_name,
        ttbr_value=ttbr,
        ttbr_52bit=fmt52,
        desc_variant=_variant(granule, ds, oa_bits, cpu, notes),
        **_geometry(granule, iasize, start, tsize, base, 1),
        tbi=bool(tbi),
        hpd=bool(hpd),
        ha=ha,
        hd=hd,
        sh=sh,
        range_select=upper,
    )
    return params, Stage1Setup(two, txsz.problem, bool(tbid), bool(e0pd), bool(epd))


# -- stage 2 ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage2Setup:
    """Why a stage-2 walk cannot start with these registers (None when it can)."""

    problem: FaultSite | None


def derive_stage2(
    regs: Mapping[str, int], cpu: CPU, notes: Notes
) -> tuple[WalkParams, Stage2Setup]:
    """Stage-2 parameters (VTCR_EL2, VTTBR_EL2); the input address is filled in per walk."""
    lay = VTCR_EL2
    vtcr = register(regs, "VTCR_EL2")
    notes.check_res0(lay, vtcr, "VTCR_EL2")
    g = lay.get
    tg_raw = g(vtcr, "TG0")
    granule, granule_why = _granule(tg_raw, "VTCR_EL2.TG0", geo.TG0_GRANULE, 2, cpu, notes)
    ds_raw = g(vtcr, "DS")
    ds, ds_why = _ds(ds_raw, granule, 2, "VTCR_EL2", cpu, notes)
    sl0 = g(vtcr, "SL0")
    sl2_raw = g(vtcr, "SL2")
    sl2 = sl2_raw if (granule == 4 and ds) else 0
    if sl2_raw and not sl2:
        notes.warn(
            "sl2-ignored",
            "VTCR_EL2.SL2=1 is ignored: it only counts with the 4KB granule and DS=1.",
        )
    txsz_raw = g(vtcr, "T0SZ")
    tmin = geo.min_txsz_s2(granule, ds, cpu.pamax, cpu.has_lpa)
    tmax = geo.max_txsz(granule, cpu.has_ttst)
    txsz = _txsz(txsz_raw, tmin, tmax, "VTCR_EL2.T0SZ", "VTCR_EL2.T0SZ", cpu.has_lpa, notes)
    iasize = 64 - txsz.effective
    ps_raw = g(vtcr, "PS")
    ps_bits, oa_bits = _oa_bits(ps_raw, granule, 2, cpu, notes)
    ha = bool(g(vtcr, "HA")) and cpu.has_ha
    hd = bool(g(vtcr, "HD")) and ha and cpu.has_hd
    start = geo.s2_start_level(granule, sl0, sl2)
    invalid = geo.s2_invalid_sl(granule, sl0, sl2, ds, cpu.pamax, cpu.has_ttst)
    if invalid is None and start is None:
        invalid = "reserved SL0 encoding"
    inconsistent = (
        start is not None and invalid is None and geo.s2_inconsistent_sl(iasize, granule, start)
    )
    # An invalid or inconsistent SL faults before any table is read: no start level.
    walk_start = start if invalid is None and not inconsistent else None
    fmt52 = ds or (granule == 64 and cpu.has_lpa and ps_raw == 0b110)
    vttbr = register(regs, "VTTBR_EL2")
    if walk_start is not None:
        tsize = geo.start_table_bits(iasize, granule, walk_start)
        base = _ttbr_base(
            "VTTBR_EL2", vttbr, fmt52, (VTTBR_EL2, VTTBR_EL2_52), tsize, oa_bits, notes
        )
        concat = geo.concatenated_tables(iasize, granule, walk_start)
    else:
        tsize, base, concat = 3, _TableBase(0, 3, "VTTBR_EL2 (not used)"), 1
    if ds:
        notes.warn(
            "ds-sh",
            "VTCR_EL2.DS=1: stage-2 descriptor bits [9:8] are OA[51:50], not SH; "
            "shareability comes from VTCR_EL2.SH0.",
        )
    params = WalkParams(
        stage=2,
        regime=Regime.STAGE2.value,
        input_address=0,
        tcr_name="VTCR_EL2",
        granule_why=granule_why,
        ds=ds,
        ds_raw=ds_raw,
        ds_why=ds_why,
        txsz_field="VTCR_EL2.T0SZ",
        txsz_raw=txsz_raw,
        txsz=txsz.effective,
        txsz_min=tmin,
        txsz_max=tmax,
        ps_field="VTCR_EL2.PS",
        ps_raw=ps_raw,
        ps_bits=ps_bits,
        oa_bits=oa_bits,
        ttbr_name="VTTBR_EL2",
        ttbr_value=vttbr,
        ttbr_52bit=fmt52,
        desc_variant=_variant(granule, ds, oa_bits, cpu, notes),
        **_geometry(granule, iasize, walk_start, tsize, base, concat),
        ha=ha,
        hd=hd,
        sh=g(vtcr, "SH0"),
        sl0=sl0,
        sl2=sl2,
    )
    # Set-up faults of stage 2 are reported at level 0 (AArch64.S2Walk).
    if txsz.problem is not None:
        problem: FaultSite | None = FaultSite(txsz.problem.rule, txsz.problem.values, 0)
    elif invalid is not None:
        problem = rules.S2_INVALID_SL.site(
            level=0, sl0=sl0, sl2=sl2, granule=granule, reason=invalid
        )
    elif inconsistent and start is not None:
        lo, hi = geo.s2_iasize_range(granule, start)
        problem = rules.S2_INCONSISTENT_SL.site(
            level=0,
            iasize=iasize,
            txsz=txsz.effective,
            start_level=start,
            granule=granule,
            lo=lo,
            hi=hi,
        )
    else:
        problem = None
    return params, Stage2Setup(problem)


# -- the facts a reader is shown ------------------------------------------------------------------

_VARIANT_TEXT = {
    "DS0": "OA in desc[47:n]",
    "DS1": "OA[51:50] in desc[9:8]",
    "LPA": "OA[51:48] in desc[15:12]",
}


@dataclass(frozen=True)
class ParamFact:
    """One walk parameter as a reader is shown it: a stable ``key``, a ``name``, its ``value``
    (compared between walks), the ``text`` shown for it, and ``why`` it has that value."""

    key: str
    name: str
    value: object
    text: str
    why: str = ""


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def param_facts(p: WalkParams) -> list[ParamFact]:
    """The parameters of one stage as facts with their reasons, in reading order."""
    what = "VA" if p.stage == 1 else "IPA"
    txsz = f"{p.txsz_field}={p.txsz_raw}"
    if p.txsz != p.txsz_raw:
        txsz += f", behaves as {p.txsz}"
    if p.stage == 2:
        start_why = f"SL0={p.sl0}" + (f" SL2={p.sl2}" if p.sl2 else "")
    else:
        start_why = f"a {p.iasize}-bit {what} with the {p.granule_kb}KB granule"
    oa_why = f"{p.ps_field}={p.ps_raw:#05b}"
    if p.ps_bits != p.oa_bits:
        oa_why += f" asks {p.ps_bits}, capped"
    if p.ttbr_52bit:
        fmt_why = "DS=1" if p.ds else "64KB granule with FEAT_LPA and a 52-bit output size"
    else:
        fmt_why = "base[47:1] only"
    return [
        ParamFact("granule", "Granule", p.granule_kb, f"{p.granule_kb}KB", p.granule_why),
        ParamFact("ds", "DS in effect", p.ds, _yes(p.ds), p.ds_why),
        ParamFact("iasize", "Input size", p.iasize, f"{p.iasize} bits", txsz),
        ParamFact("start_level", "Start level", p.start_level, str(p.start_level), start_why),
        ParamFact(
            "start_table_entries",
            "Start-table entries",
            p.start_table_entries,
            str(p.start_table_entries),
            f"{p.start_table_align}-byte aligned",
        ),
        ParamFact(
            "concatenated_tables",
            "Concatenated tables",
            p.concatenated_tables,
            str(p.concatenated_tables),
            "stage 2 starts with several tables side by side" if p.concatenated_tables > 1 else "",
        ),
        ParamFact("oa_bits", "Output size", p.oa_bits, f"{p.oa_bits} bits", oa_why),
        ParamFact("ttbr_52bit", "52-bit TTBR format", p.ttbr_52bit, _yes(p.ttbr_52bit), fmt_why),
        ParamFact(
            "table_base",
            "Table base",
            p.table_base,
            f"{p.table_base:#x}",
            f"from {p.table_base_origin}",
        ),
        ParamFact(
            "desc_variant",
            "Descriptor format",
            p.desc_variant,
            p.desc_variant,
            _VARIANT_TEXT.get(p.desc_variant, ""),
        ),
    ]
