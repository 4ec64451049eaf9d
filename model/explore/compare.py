"""Two walks side by side, as data: what changed in the registers and descriptors, which
levels appeared or disappeared, which index fields moved, which descriptor bits changed
meaning, and whether the outcome differs. Also derives the two comparison variants the
onboarding pages offer: "the same walk with DS flipped" and "the same walk at the other
granule".

Everything here works on ``model.configs.Configuration`` and ``WalkResult``; the field
meanings come from the layouts in ``model.fields``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from model.arch import geometry as geo
from model.arch.fields import (
    HCR_EL2,
    LAYOUTS,
    TCR_EL1,
    TCR_EL2,
    TCR_EL2_E2H,
    VTCR_EL2,
    Field,
    Layout,
)
from model.arch.walker import LevelRead, Regime, WalkResult

from .configs import REGISTER_NAMES, Configuration, run

# ---------------------------------------------------------------------------------------------
# Register and descriptor layouts as a configuration sees them
# ---------------------------------------------------------------------------------------------


def _e2h(config: Configuration) -> bool:
    return bool(HCR_EL2.get(config.registers.get("HCR_EL2", 0), "E2H"))


def _ttbr_52(result: WalkResult | None, name: str) -> bool:
    if result is None:
        return False
    return any(p.ttbr_name == name and p.ttbr_52bit for p in result.params.values())


def register_layout(config: Configuration, name: str, result: WalkResult | None = None) -> Layout:
    """The layout a register value has in this configuration (E2H, TTBR format)."""
    if name == "TCR_EL2":
        return TCR_EL2_E2H if _e2h(config) else TCR_EL2
    if name.startswith("MAIR"):
        return LAYOUTS["MAIR"]
    if name.startswith("SCTLR"):
        return LAYOUTS["SCTLR"]
    if name == "VTTBR_EL2":
        return LAYOUTS["VTTBR_EL2_52" if _ttbr_52(result, name) else "VTTBR_EL2"]
    if name == "TTBR0_EL2" and not _e2h(config):
        return LAYOUTS["TTBR0_EL2_52" if _ttbr_52(result, name) else "TTBR0_EL2"]
    if name.startswith("TTBR"):
        return LAYOUTS["TTBR_52" if _ttbr_52(result, name) else "TTBR"]
    return LAYOUTS[name]


@dataclass
class FieldChange:
    """One field whose value differs between two states."""

    where: str  # "TCR_EL1", "descriptor L3 @0x..." or "setting"
    field: str
    hi: int
    lo: int
    old: int | str
    new: int | str
    old_meaning: str = ""
    new_meaning: str = ""
    level: tuple[int, int] | None = None  # (stage, level) for descriptor changes
    used: bool = True  # False: a register the walk does not read

    @staticmethod
    def _text(v: int | str) -> str:
        if isinstance(v, int):
            return str(v) if v < 10 else f"{v:#x}"
        return str(v)

    @property
    def old_text(self) -> str:
        return self._text(self.old)

    @property
    def new_text(self) -> str:
        return self._text(self.new)

    @property
    def bits(self) -> str:
        if self.hi < 0:
            return ""
        return f"[{self.hi}]" if self.hi == self.lo else f"[{self.hi}:{self.lo}]"

    @property
    def label(self) -> str:
        return f"{self.where}.{self.field}" if self.where != "setting" else self.field


def _field_diff(where: str, lay: Layout, old: int, new: int, level=None) -> list[FieldChange]:
    out = []
    for f in lay.fields:
        a, b = f.extract(old), f.extract(new)
        if a != b:
            out.append(
                FieldChange(where, f.name, f.hi, f.lo, a, b, f.meaning(a), f.meaning(b), level)
            )
    return out


def _read_at(result: WalkResult, address: int) -> LevelRead | None:
    for ref in result.reads():
        if ref.read.desc_address == address and ref.read.layout:
            return ref.read
    return None


_SETTINGS = ("regime", "cpu", "access")


def used_registers(config: Configuration, result: WalkResult) -> set[str]:
    """The registers this walk actually reads (control, base, attributes, HCR_EL2)."""
    used = {"HCR_EL2"}
    for p in result.params.values():
        used.add(p.tcr_name)
        used.add(p.ttbr_name)
    el = "EL2" if config.regime in (Regime.EL2.value, Regime.EL20.value) else "EL1"
    if config.regime != Regime.STAGE2.value:
        used |= {f"MAIR_{el}", f"SCTLR_{el}"}
    return used


def _without(config: Configuration, address: int) -> Configuration:
    return replace(config, memory={a: v for a, v in config.memory.items() if a != address})


def config_changes(
    a: Configuration,
    b: Configuration,
    ra: WalkResult | None = None,
    rb: WalkResult | None = None,
) -> list[FieldChange]:
    """Every setting, register field and descriptor field that differs from ``a`` to ``b``.

    Register changes carry ``used`` (does ``b``'s walk read that register?). A descriptor is
    reported only if ``b``'s walk reads it; its old value is ``a``'s value at that address or,
    when ``a`` did not set one, the descriptor the walk would have read without the edit, so
    that exactly the edited bits show.
    """
    ra = ra or run(a)
    rb = rb or run(b)
    out: list[FieldChange] = []
    for name in _SETTINGS:
        if getattr(a, name) != getattr(b, name):
            out.append(FieldChange("setting", name, -1, -1, getattr(a, name), getattr(b, name)))
    if a.address != b.address:
        out.append(
            FieldChange("setting", "input address", -1, -1, f"{a.address:#x}", f"{b.address:#x}")
        )
    if a.tables_origin != b.tables_origin:
        # Memory changed as a whole: b's background tables were built for other registers.
        out.append(
            FieldChange(
                "setting",
                "background tables",
                -1,
                -1,
                "built for the registers before",
                "re-filled for these registers",
            )
        )
    if a.choices != b.choices:
        for key, value in b.choices.to_dict().items():
            old = getattr(a.choices, key)
            if old != value:
                out.append(FieldChange("setting", f"choice {key}", -1, -1, old, value))
    used = used_registers(b, rb)
    for name in REGISTER_NAMES:
        old, new = a.registers.get(name, 0), b.registers.get(name, 0)
        if old != new:
            for change in _field_diff(name, register_layout(b, name, rb), old, new):
                change.used = name in used
                out.append(change)
    for address in sorted(set(a.memory) | set(b.memory)):
        before, after = a.memory.get(address), b.memory.get(address)
        if before == after:
            continue
        read = _read_at(rb, address)
        if read is None:
            continue  # not part of b's walk
        if before is None:
            ref = _read_at(run(_without(b, address)), address)
            before = (ref.raw or 0) if ref is not None else 0
        if after is None:
            after = read.raw or 0
        where = f"stage-{read.stage} L{read.level} descriptor"
        layout = LAYOUTS[read.layout or ""]
        out += _field_diff(where, layout, before, after, (read.stage, read.level))
    return out


# ---------------------------------------------------------------------------------------------
# Walk differences
# ---------------------------------------------------------------------------------------------


def _meaning_key(f: Field | None) -> str:
    if f is None:
        return "-"
    if f.kind == "res0":
        return "RES0"
    if f.name.startswith("IGN"):
        return "Ignored"
    return f.name


@dataclass
class MeaningChange:
    """Descriptor bits [hi:lo] mean ``a`` in one format and ``b`` in the other."""

    hi: int
    lo: int
    a: str
    b: str
    a_summary: str = ""
    b_summary: str = ""

    @property
    def bits(self) -> str:
        return f"[{self.hi}]" if self.hi == self.lo else f"[{self.hi}:{self.lo}]"


def meaning_changes(a: Layout, b: Layout) -> list[MeaningChange]:
    """Bit ranges whose field differs between two descriptor layouts (RES0 and ignored bits
    count as one meaning each; an address field counts as one meaning whatever its width)."""
    out: list[MeaningChange] = []
    width = max(a.width, b.width)
    bit = width - 1
    while bit >= 0:
        fa, fb = a.field_at(bit), b.field_at(bit)
        ka, kb = _meaning_key(fa), _meaning_key(fb)
        if ka == kb:
            bit -= 1
            continue
        hi = bit
        while bit >= 0 and (
            _meaning_key(a.field_at(bit)),
            _meaning_key(b.field_at(bit)),
        ) == (ka, kb):
            bit -= 1
        out.append(
            MeaningChange(
                hi,
                bit + 1,
                fa.name if fa else "-",
                fb.name if fb else "-",
                fa.summary if fa else "",
                fb.summary if fb else "",
            )
        )
    return out


@dataclass
class LevelDiff:
    stage: int
    level: int
    a: LevelRead | None
    b: LevelRead | None
    index_moved: bool = False
    address_differs: bool = False
    kind_differs: bool = False
    layout_differs: bool = False
    meaning: list[MeaningChange] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.a is None:
            return "added"
        if self.b is None:
            return "removed"
        return "both"

    @property
    def changed(self) -> bool:
        return (
            self.status != "both"
            or self.index_moved
            or self.address_differs
            or self.kind_differs
            or self.layout_differs
        )

    @property
    def shown_differs(self) -> bool:
        """Does what a level-by-level table shows of the level differ (present on one side
        only, index bits, descriptor type, bits that mean something else)?"""
        return self.status != "both" or self.index_moved or self.kind_differs or bool(self.meaning)


@dataclass
class ParamDiff:
    """A walk parameter (``model.arch.params.ParamFact``) that differs: its texts on each
    side, None where that side's walk has no such stage."""

    stage: str
    name: str
    a: str | None
    b: str | None

    @property
    def a_text(self) -> str:
        return "—" if self.a is None else self.a

    @property
    def b_text(self) -> str:
        return "—" if self.b is None else self.b


@dataclass
class Comparison:
    a: Configuration
    b: Configuration
    ra: WalkResult
    rb: WalkResult
    changes: list[FieldChange]
    params: list[ParamDiff]
    levels: list[LevelDiff]
    outcome_differs: bool

    @property
    def levels_added(self) -> list[LevelDiff]:
        return [d for d in self.levels if d.status == "added"]

    @property
    def levels_removed(self) -> list[LevelDiff]:
        return [d for d in self.levels if d.status == "removed"]

    @property
    def index_moved(self) -> list[LevelDiff]:
        return [d for d in self.levels if d.index_moved]

    @property
    def meaning_changed(self) -> list[LevelDiff]:
        return [d for d in self.levels if d.meaning]


def compare(a: Configuration, b: Configuration) -> Comparison:
    ra, rb = run(a), run(b)
    params = []
    for stage in sorted(set(ra.params) | set(rb.params)):
        pa, pb = ra.params.get(stage), rb.params.get(stage)
        fa = {f.key: f for f in pa.facts()} if pa else {}
        fb = {f.key: f for f in pb.facts()} if pb else {}
        for key in dict.fromkeys([*fa, *fb]):
            a_fact, b_fact = fa.get(key), fb.get(key)
            if (a_fact.value if a_fact else None) != (b_fact.value if b_fact else None):
                name = (a_fact or b_fact).name  # type: ignore[union-attr]
                a_text = a_fact.text if a_fact else None
                params.append(ParamDiff(stage, name, a_text, b_fact.text if b_fact else None))
    # The levels of the walks proper: stage 1 (or stage 2 alone), then the final stage 2.
    la = {(r.read.stage, r.read.level): r.read for r in ra.reads(nested=False)}
    lb = {(r.read.stage, r.read.level): r.read for r in rb.reads(nested=False)}
    levels = []
    for stage_level in sorted(set(la) | set(lb)):
        x, y = la.get(stage_level), lb.get(stage_level)
        d = LevelDiff(stage_level[0], stage_level[1], x, y)
        if x is not None and y is not None:
            d.index_moved = (x.index_hi, x.index_lo) != (y.index_hi, y.index_lo)
            d.address_differs = x.desc_address != y.desc_address
            d.kind_differs = x.kind != y.kind
            d.layout_differs = x.layout != y.layout
            if x.layout and y.layout and x.layout != y.layout:
                d.meaning = meaning_changes(LAYOUTS[x.layout], LAYOUTS[y.layout])
        levels.append(d)
    outcome = (ra.output_address, _fault_key(ra)) != (rb.output_address, _fault_key(rb))
    return Comparison(a, b, ra, rb, config_changes(a, b, ra, rb), params, levels, outcome)


def _fault_key(result: WalkResult):
    f = result.fault
    return None if f is None else (f.kind, f.level, f.stage, f.fsc)


# ---------------------------------------------------------------------------------------------
# Variants
# ---------------------------------------------------------------------------------------------


def _stage1_tcr(config: Configuration) -> tuple[str, Layout] | None:
    regime = config.regime
    if regime in (Regime.EL10.value, Regime.EL10_S12.value):
        return "TCR_EL1", TCR_EL1
    if regime == Regime.EL20.value:
        return "TCR_EL2", TCR_EL2_E2H
    if regime == Regime.EL2.value:
        return "TCR_EL2", TCR_EL2
    return None


def main_control(config: Configuration) -> tuple[str, Layout]:
    """The control register of the walk's main stage (stage 1, or VTCR_EL2 for stage 2)."""
    return _stage1_tcr(config) or ("VTCR_EL2", VTCR_EL2)


def flip_ds(config: Configuration) -> Configuration:
    """The same walk with the main stage's DS bit inverted (nothing else changes)."""
    name, lay = main_control(config)
    value = config.registers.get(name, 0)
    new = lay.set(value, "DS", 1 - lay.get(value, "DS"))
    ds = "1" if lay.get(new, "DS") else "0"
    return replace(
        config.with_registers(**{name: new}),
        title=f"{config.title} - with {name}.DS={ds}",
    )


_TG0_ENC = {4: 0b00, 16: 0b10, 64: 0b01}
_TG1_ENC = {4: 0b10, 16: 0b01, 64: 0b11}


def _other(granule: int) -> int:
    return {4: 16, 16: 4, 64: 4}[granule]


def kvm_start_level(iasize: int, granule_kb: int) -> int:
    """The stage-2 start level KVM picks for an IPA size: stage2_pgtable_levels(ipa) =
    ARM64_HW_PGTABLE_LEVELS(ipa - 4), at least 2 levels (arch/arm64/kvm/hyp/pgtable.c,
    kvm_get_vtcr)."""
    levels = max(2, (iasize - 4 - 4) // (geo.stride(granule_kb)))
    return 4 - levels


def sl0_for(granule_kb: int, start_level: int) -> tuple[int, int]:
    """(SL0, SL2) encoding a stage-2 start level."""
    if granule_kb == 4:
        if start_level == -1:
            return 0, 1
        return {2: 0, 1: 1, 0: 2, 3: 3}[start_level], 0
    return {3: 0, 2: 1, 1: 2, 0: 3}[start_level], 0


def s2_start_for(iasize: int, granule_kb: int, ds: bool) -> int:
    """A legal stage-2 start level for ``iasize``: KVM's choice when it is legal, otherwise the
    first legal one from level -1 down."""
    preferred = kvm_start_level(iasize, granule_kb)
    candidates = [preferred] + [lvl for lvl in range(-1, 4) if lvl != preferred]
    for lvl in candidates:
        if lvl == -1 and not (granule_kb == 4 and ds):
            continue
        if granule_kb != 4 and lvl < (0 if ds and granule_kb == 16 else 1):
            continue
        if not geo.s2_inconsistent_sl(iasize, granule_kb, lvl):
            return lvl
    return preferred


def other_granule(config: Configuration) -> Configuration:
    """The same walk at the other granule (4KB <-> 16KB; 64KB goes to 4KB), same input sizes.

    TG0 and TG1 are re-encoded in their own encodings; for stage 2 SL0/SL2 are recomputed so
    the start level stays consistent with the IPA size. An input size above 48 bits keeps
    DS=1 (needed for 52 bits at 4KB/16KB). The background tables are re-filled for the new
    registers: a 4KB table read as a 16KB one is not a walk anyone means to compare.
    """
    result = run(config)
    registers = dict(config.registers)
    main = result.params.get("s1") or result.params.get("s2")
    granule = main.granule_kb if main else 4
    target = _other(granule)
    stage1 = _stage1_tcr(config)
    if stage1 is not None:
        name, lay = stage1
        v = registers.get(name, 0)
        if "TG1" in lay:
            v = lay.set(v, "TG1", _TG1_ENC[target])
        v = lay.set(v, "TG0", _TG0_ENC[target])
        if granule == 64 and main and main.iasize > 48:
            v = lay.set(v, "DS", 1)
        registers[name] = v
    if config.regime in (Regime.STAGE2.value, Regime.EL10_S12.value) or "s2" in result.params:
        v = registers.get("VTCR_EL2", 0)
        s2 = result.params.get("s2")
        iasize = s2.iasize if s2 else 64 - VTCR_EL2.get(v, "T0SZ")
        ds = bool(VTCR_EL2.get(v, "DS")) or (granule == 64 and iasize > 48)
        v = VTCR_EL2.set(v, "TG0", _TG0_ENC[target])
        v = VTCR_EL2.set(v, "DS", int(ds))
        sl0, sl2 = sl0_for(target, s2_start_for(iasize, target, ds))
        v = VTCR_EL2.set(VTCR_EL2.set(v, "SL0", sl0), "SL2", sl2)
        registers["VTCR_EL2"] = v
    # Tables built for one granule are not tables of another: the variant comes with tables
    # re-filled for its registers (the page says so), unlike flip_ds, which keeps memory.
    title = f"{config.title} - at {target}KB granule, tables re-filled"
    return replace(config, registers=registers, title=title).refilled()
