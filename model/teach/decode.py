"""The register and descriptor decoder: a raw value plus what it is -> every field, decoded
from the model's own field tables (``model.fields.LAYOUTS``).

What a value is (``Target``) is named by a register key and, where the layout depends on it,
options: the TTBR format (48 or 52-bit), the descriptor stage, format variant (DS0, DS1, LPA),
granule and level. The layout actually used can depend on the value itself: PAR_EL1 bit 0
selects the success or fault layout, ESR EC selects the Data or Instruction Abort ISS, and a
descriptor's bits [1:0] together with its level select table, block, page or invalid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from model.arch import geometry as geo
from model.arch.descriptors import decode_address
from model.arch.faults import fsc_name
from model.arch.fields import (
    ESR_ISS_LAYOUTS,
    LAYOUTS,
    MASK64,
    ESR_ELx,
    Layout,
    descriptor_layout,
)
from model.explore.configs import CONFIG_PRESETS, Configuration, run

from .kernel_facts import VERSIONS, fact
from .linux import fsc_statements
from .reference import byte_size

# ESR_ELx (EC, IL, ISS2) and the ISS layout each abort EC selects, from the model's tables.
ESR_TOP = ESR_ELx
EC_LAYOUT = ESR_ISS_LAYOUTS
_FSC_FIELDS = {"DFSC", "IFSC", "FST"}


@dataclass(frozen=True)
class RegisterKind:
    key: str
    title: str
    help: str
    needs: tuple[str, ...] = ()  # options this kind uses: "fmt", "stage", "variant", "level",...


REGISTERS: dict[str, RegisterKind] = {
    r.key: r
    for r in (
        RegisterKind("TCR_EL1", "TCR_EL1", "Stage-1 control for EL1&0 (two VA ranges)."),
        RegisterKind(
            "TCR_EL2", "TCR_EL2, E2H=0", "Stage-1 control for EL2 without VHE (DS at bit 32)."
        ),
        RegisterKind(
            "TCR_EL2_E2H",
            "TCR_EL2, E2H=1 (VHE)",
            "With HCR_EL2.E2H=1 TCR_EL2 uses the TCR_EL1 layout (DS at bit 59).",
        ),
        RegisterKind("VTCR_EL2", "VTCR_EL2", "Stage-2 control."),
        RegisterKind(
            "TTBR",
            "TTBR0/1_EL1, TTBR1_EL2",
            "A TTBR with an ASID. Choose the 52-bit format when DS=1 (or 64KB with "
            "FEAT_LPA and IPS=52 bits).",
            ("fmt",),
        ),
        RegisterKind("TTBR0_EL2", "TTBR0_EL2 (E2H=0)", "EL2's TTBR without ASID.", ("fmt",)),
        RegisterKind("VTTBR_EL2", "VTTBR_EL2", "Stage-2 base register with VMID.", ("fmt",)),
        RegisterKind(
            "S1_DESC",
            "Stage-1 descriptor",
            "Choose the format (DS=0, DS=1 or 64KB+LPA), the granule and the level; bits [1:0] "
            "then give table, block, page or invalid.",
            ("variant", "granule", "level"),
        ),
        RegisterKind(
            "S2_DESC",
            "Stage-2 descriptor",
            "As for stage 1, with the stage-2 attribute layout.",
            ("variant", "granule", "level"),
        ),
        RegisterKind("PAR_EL1", "PAR_EL1", "AT result: bit 0 selects success or fault layout."),
        RegisterKind(
            "ESR_ELx",
            "ESR_EL1 / ESR_EL2",
            "Exception syndrome; Data and Instruction Aborts get their ISS decoded.",
        ),
        RegisterKind("HCR_EL2", "HCR_EL2", "Hypervisor configuration (VM, E2H, TGE ...)."),
        RegisterKind("SCTLR", "SCTLR_EL1 / SCTLR_EL2", "System control (M, C, I ...)."),
        RegisterKind("MAIR", "MAIR_EL1 / MAIR_EL2", "Memory attribute indirection."),
    )
}

VARIANTS = {"DS0": "DS=0 (or 64KB without LPA)", "DS1": "DS=1 (FEAT_LPA2)", "LPA": "64KB + LPA"}
LEVELS = (-1, 0, 1, 2, 3)
GRANULES = (4, 16, 64)


@dataclass
class Row:
    """One decoded field."""

    name: str
    hi: int
    lo: int
    value: int
    meaning: str
    summary: str
    help: str
    lpa2: str
    kind: str
    section: str = ""
    description: str = ""  # the summary and help as one text (``Field.description``)

    @property
    def bits(self) -> str:
        return f"[{self.hi}]" if self.hi == self.lo else f"[{self.hi}:{self.lo}]"

    @property
    def nonzero(self) -> bool:
        return self.value != 0

    @property
    def value_text(self) -> str:
        """The value as its field reads best: a size or count in decimal, an encoding in
        binary, an address or a wide value in hex."""
        width = self.hi - self.lo + 1
        if self.kind == "number":
            return str(self.value) if self.value < 10 else f"{self.value} ({self.value:#x})"
        if self.kind == "enum" and width <= 4:
            return f"{self.value:#0{width + 2}b}"
        return str(self.value) if self.value < 10 else f"{self.value:#x}"


@dataclass
class Decoding:
    key: str
    value: int
    layouts: list[str]
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    descriptor_kind: str | None = None
    address: AssembledAddress | None = None  # a valid descriptor's output or table address


@dataclass(frozen=True)
class AssembledAddress:
    """The address a descriptor holds, put together from its pieces."""

    label: str  # "Output address" or "Next-level table address"
    value: int
    pieces: tuple[tuple[str, str], ...]  # ("[51:50]", "descriptor bits [9:8]"), high first
    size: str  # what it maps or points to ("4KB page", "2MB block", "4KB table")


@dataclass(frozen=True)
class Target:
    """What a value is. Only the options ``REGISTERS[key].needs`` are looked at."""

    key: str
    fmt: str = "48"  # TTBRs: "48" or "52"
    variant: str = "DS0"  # descriptors
    granule: int = 4
    level: int = 3

    def validate(self) -> None:
        if self.key not in REGISTERS:
            raise ValueError(f"unknown register {self.key!r}")
        if self.fmt not in ("48", "52"):
            raise ValueError("the TTBR format is 48 or 52")
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown descriptor format {self.variant!r}")
        if self.granule not in GRANULES:
            raise ValueError("the granule is 4, 16 or 64 (KB)")
        if self.level not in LEVELS:
            raise ValueError("the level is -1, 0, 1, 2 or 3")
        if self.key.endswith("_DESC"):
            if self.variant == "DS1" and self.granule == 64:
                raise ValueError("DS=1 exists only for the 4KB and 16KB granules")
            if self.variant == "LPA" and self.granule != 64:
                raise ValueError("the LPA descriptor format is the 64KB granule's")
            if self.level == -1 and not (self.granule == 4 and self.variant == "DS1"):
                raise ValueError("level -1 exists only for 4KB with DS=1")


def _rows(layout: Layout, value: int, section: str = "") -> list[Row]:
    out = []
    for f, v, meaning in layout.decode(value):
        if f.name in _FSC_FIELDS:
            meaning = f"{v:#04x}: {fsc_name(v)}"
        out.append(
            Row(
                f.name, f.hi, f.lo, v, meaning, f.summary, f.help, f.lpa2, f.kind, section,
                f.description,
            )
        )  # fmt: skip
    return out


def descriptor_kind(stage: int, variant: str, granule: int, level: int, value: int) -> str:
    """table / block / page / invalid / block-not-allowed / reserved, from bits[1:0] and level."""
    if not value & 1:
        return "invalid"
    if value & 0b10:
        return "page" if level == 3 else "table"
    if level == 3:
        return "reserved"
    ds = variant == "DS1"
    pamax = 52 if variant in ("DS1", "LPA") else 48
    if level == -1 or not geo.block_allowed(level, granule, ds, pamax):
        return "block-not-allowed"
    return "block"


_KIND_NOTES = {
    "invalid": "Bit 0 is clear: an invalid descriptor. A walk reading it takes a Translation "
    "fault at this level; the other bits are ignored by hardware (software may use them). "
    "Shown with the {shown} layout for reference.",
    "reserved": "Bits [1:0] = 01 at level 3 is a reserved encoding: Translation fault at level 3. "
    "Shown with the page layout for reference.",
    "block-not-allowed": "Bits [1:0] = 01 is a block, but this level cannot hold a block with "
    "this granule and format: Translation fault at this level. Shown with the block layout.",
}


def layout_for_descriptor(stage: int, variant: str, kind: str, level: int) -> Layout:
    shown = {"table": "table", "page": "page", "block": "block"}.get(kind)
    if shown is None:
        shown = "page" if level == 3 else ("table" if kind == "invalid" else "block")
        if kind == "invalid" and level == 3:
            shown = "page"
    return descriptor_layout(stage, shown, variant)


def decode(target: Target, value: int) -> Decoding:
    """Decode ``value`` as ``target``."""
    target.validate()
    value &= MASK64
    key = target.key
    kind = REGISTERS[key]
    if key in ("TTBR", "TTBR0_EL2", "VTTBR_EL2"):
        name = key + ("_52" if target.fmt == "52" else "")
        lay = LAYOUTS[name]
        d = Decoding(key, value, [name], lay.title, _rows(lay, value))
        if target.fmt == "52":
            base = lay.get_in_place(value, "BADDR") | (lay.get(value, "BADDR_51_48") << 48)
            d.notes.append(
                f"Table base = {base:#x} (bits [47:6] in place, bits [5:2] moved to [51:48]), "
                "before alignment to the start-table size (at least 64 bytes)."
            )
        else:
            base = lay.get_in_place(value, "BADDR")
            d.notes.append(f"Table base = {base:#x}, before alignment to the start-table size.")
        return d
    if key.endswith("_DESC"):
        stage = 1 if key == "S1_DESC" else 2
        dkind = descriptor_kind(stage, target.variant, target.granule, target.level, value)
        lay = layout_for_descriptor(stage, target.variant, dkind, target.level)
        d = Decoding(key, value, [lay.name], lay.title, _rows(lay, value), descriptor_kind=dkind)
        if dkind in _KIND_NOTES:
            shown = lay.title.split(",")[0].lower()
            d.notes.append(_KIND_NOTES[dkind].format(shown=shown))
        else:
            d.notes.append(
                f"Bits [1:0] = {value & 3:#04b} at level {target.level}: a {dkind} descriptor."
            )
        if target.variant == "DS1":
            d.notes.append("DS=1: bits [9:8] are address bits [51:50], not shareability.")
        d.address = assembled_address(value, lay, target, dkind)
        return d
    if key == "PAR_EL1":
        name = "PAR_EL1_FAULT" if value & 1 else "PAR_EL1"
        lay = LAYOUTS[name]
        d = Decoding(key, value, [name], lay.title, _rows(lay, value))
        d.notes.append(
            "Bit 0 (F) is 1: the AT instruction faulted."
            if value & 1
            else "Bit 0 (F) is 0: the translation succeeded."
        )
        if value & 1:
            d.notes += _linux_fsc_notes(lay.get(value, "FST"))
        return d
    if key == "ESR_ELx":
        d = Decoding(key, value, ["ESR_ELx"], ESR_TOP.title, _rows(ESR_TOP, value, "ESR"))
        ec = ESR_TOP.get(value, "EC")
        iss_name = EC_LAYOUT.get(ec)
        if iss_name is None:
            d.notes.append(
                f"EC {ec:#04x} is not a Data or Instruction Abort; its ISS layout is not part "
                "of this model."
            )
        else:
            lay = LAYOUTS[iss_name]
            d.layouts.append(iss_name)
            iss = ESR_TOP.get(value, "ISS")
            d.rows += _rows(lay, iss, "ISS")
            d.notes.append(f"EC {ec:#04x}: ISS decoded as {lay.title}.")
            fsc = next(lay.get(iss, f.name) for f in lay.fields if f.name in _FSC_FIELDS)
            d.notes += _linux_fsc_notes(fsc)
        return d
    lay = LAYOUTS[key]
    d = Decoding(key, value, [key], lay.title or kind.title, _rows(lay, value))
    if key in TRANSLATION_CONTROLS:
        _explain_sizes(d, lay, value)
    return d


def _linux_fsc_notes(fsc: int) -> list[str]:
    """What Linux's esr.h says about this code, for every release range it differs in."""
    notes: list[str] = []
    seen: set[str] = set()
    for v in VERSIONS:
        for st in fsc_statements(fsc, v.tag):
            if st.fact in seen:
                continue
            seen.add(st.fact)
            f = fact(st.fact)
            notes.append(f"Linux {f.range_text}: {st.text} ({f.file}, {f.function}, {f.commit})")
    return notes


def layouts_for(target: Target, value: int = 0) -> list[Layout]:
    """The layouts a decoding of ``value`` as ``target`` uses (for round-trip tests)."""
    return [ESR_TOP if n == "ESR_ELx" else LAYOUTS[n] for n in decode(target, value).layouts]


# -- what a descriptor's address pieces make ----------------------------------------------------


def _range(hi: int, lo: int) -> str:
    return f"[{hi}]" if hi == lo else f"[{hi}:{lo}]"


def assembled_address(
    value: int, layout: Layout, target: Target, kind: str
) -> AssembledAddress | None:
    """The address a valid table, block or page descriptor holds, with where each piece comes
    from (``model.arch.descriptors.decode_address``, the walker's own rule); None for a
    descriptor the walk would fault on."""
    if kind not in ("table", "block", "page"):
        return None
    granule = target.granule
    low = (
        geo.granule_bits(granule) if kind == "table" else geo.block_size_bits(target.level, granule)
    )
    address, sources = decode_address(value, layout, target.variant, low, target.level)
    pieces = [
        (_range(s.oa_hi, s.oa_lo), f"descriptor bits {_range(s.src_hi, s.src_lo)}")
        for s in sorted(sources, key=lambda s: -s.oa_hi)
    ]
    if kind == "table":
        label, size = "Next-level table address", f"{granule}KB table"
        pieces.append((_range(low - 1, 0), f"zero (a table is {granule}KB aligned)"))
    else:
        label, size = "Output address", f"{byte_size(1 << low)} {kind}"
        pieces.append((_range(low - 1, 0), f"the input address (offset in the {size})"))
    return AssembledAddress(label, address, tuple(pieces), size)


# -- what TxSZ, TGx, SL0/SL2 and PS make ---------------------------------------------------------

# The translation controls whose size fields are explained: (size field, granule field,
# granule encodings, what the range is called) per range.
_S1_RANGES = {
    "TCR_EL1": (
        ("T0SZ", "TG0", geo.TG0_GRANULE, "TTBR0"),
        ("T1SZ", "TG1", geo.TG1_GRANULE, "TTBR1"),
    ),
    "TCR_EL2": (("T0SZ", "TG0", geo.TG0_GRANULE, "TTBR0_EL2"),),
}
_S1_RANGES["TCR_EL2_E2H"] = _S1_RANGES["TCR_EL1"]
TRANSLATION_CONTROLS = (*_S1_RANGES, "VTCR_EL2")


def _granule_text(granule: int) -> str:
    bits = geo.granule_bits(granule)
    return f"{granule}KB granule: {bits} page-offset bits, {bits - 3} index bits a level"


def _txsz_problem(txsz: int, granule: int, ds: bool) -> str:
    """Why a stage-1 TxSZ is out of range, or "" (FEAT_LVA and FEAT_TTST assumed present,
    as on the explorer's default CPU; the limits without them are said)."""
    smallest = geo.min_txsz_s1(granule, ds, lva=True)
    if txsz < smallest:
        if granule != 64 and not ds and txsz >= 12:
            return "below 16 needs DS=1 (FEAT_LPA2): out of range with DS=0"
        return f"below the smallest value, {smallest}: out of range"
    largest = geo.max_txsz(granule, ttst=True)
    if txsz > largest:
        return f"above the largest value, {largest}: out of range"
    if txsz > geo.max_txsz(granule, ttst=False):
        return "above 39 needs FEAT_TTST"
    if granule == 64 and txsz < 16:
        return "below 16 with 64KB needs FEAT_LVA"
    return ""


def _levels_text(iasize: int, granule: int, start: int) -> str:
    levels = geo.FINAL_LEVEL - start + 1
    entries = geo.start_table_entries(iasize, granule, start)
    return f"starts at level {start} ({levels} levels, {entries} entries in the first table)"


def _explain_sizes(d: Decoding, layout: Layout, value: int) -> None:
    """Turn TxSZ, TGx, SL0/SL2 and PS into sizes and levels (``Row.meaning``), with the
    model's geometry rules (``model.arch.geometry``)."""
    rows = {r.name: r for r in d.rows}
    ds = bool(layout.get(value, "DS")) if "DS" in layout else False
    for size, tg, encodings, what in _S1_RANGES.get(d.key, ()):
        granule = encodings.get(layout.get(value, tg))
        txsz = layout.get(value, size)
        iasize = 64 - txsz
        if granule is None:
            rows[
                tg
            ].meaning = (
                "reserved encoding: the walk uses an implemented granule (IMPLEMENTATION DEFINED)"
            )
            rows[size].meaning = f"{iasize}-bit VA ({what} range)"
            continue
        rows[tg].meaning = _granule_text(granule)
        problem = _txsz_problem(txsz, granule, ds)
        start = geo.s1_start_level(min(iasize, 52), granule)
        text = f"{iasize}-bit VA ({what} range), {_levels_text(min(iasize, 52), granule, start)}"
        rows[size].meaning = f"{iasize}-bit VA ({what} range): {problem}" if problem else text
    if d.key == "VTCR_EL2":
        _explain_stage2(rows, layout, value, ds)
    for ps in ("PS", "IPS"):
        if ps in rows:
            rows[ps].meaning = f"{layout.field(ps).meaning(rows[ps].value)} output addresses" \
                + (" (52 bits need DS=1 with 4KB or 16KB, or 64KB with FEAT_LPA)"
                   if rows[ps].value == 0b110 else "")  # fmt: skip


def _explain_stage2(rows: dict[str, Row], layout: Layout, value: int, ds: bool) -> None:
    granule = geo.TG0_GRANULE.get(layout.get(value, "TG0"))
    txsz = layout.get(value, "T0SZ")
    iasize = 64 - txsz
    if granule is None:
        rows["TG0"].meaning = "reserved encoding (IMPLEMENTATION DEFINED granule)"
        rows["T0SZ"].meaning = f"{iasize}-bit IPA"
        return
    rows["TG0"].meaning = _granule_text(granule)
    sl0 = layout.get(value, "SL0")
    sl2 = layout.get(value, "SL2") if "SL2" in layout and ds and granule == 4 else 0
    start = geo.s2_start_level(granule, sl0, sl2)
    where = "SL0" + ("/SL2" if sl2 else "")
    if start is None:
        rows[
            "SL0"
        ].meaning = f"no start level for this {where} encoding: Translation fault, level 0"
        rows["T0SZ"].meaning = f"{iasize}-bit IPA"
        return
    smallest = geo.min_txsz_s2(granule, ds, 52, lpa=True)
    lo, hi = geo.s2_iasize_range(granule, start)
    if txsz < smallest or iasize > 52:
        rows["T0SZ"].meaning = f"{iasize}-bit IPA: below the smallest T0SZ, {smallest}"
    else:
        rows["T0SZ"].meaning = f"{iasize}-bit IPA"
    if geo.s2_inconsistent_sl(iasize, granule, start):
        rows["SL0"].meaning = (
            f"start level {start}, which needs a {lo}- to {hi}-bit IPA: inconsistent with T0SZ, "
            "the walk takes a Translation fault at level 0"
        )
        return
    tables = geo.concatenated_tables(iasize, granule, start)
    concatenated = f", {tables} concatenated tables" if tables > 1 else ""
    rows["SL0"].meaning = f"{_levels_text(iasize, granule, start)}{concatenated}"
    if sl2:
        rows["SL2"].meaning = "level -1 (with SL0=0b00, DS=1, 4KB)"


# -- a decoded value in the explorer -------------------------------------------------------------

# Registers: the preset whose walk reads them, and the register the value goes into. The
# background tables are re-built for the new value (the explorer's Re-fill), so the walk shows
# what this value selects rather than old tables read through it.
_REGISTER_STATES = {
    "TCR_EL1": ("4k-52-lpa2", "TCR_EL1"),
    "TCR_EL2": ("nvhe-hyp-lpa2", "TCR_EL2"),
    "TCR_EL2_E2H": ("vhe-el20-16k", "TCR_EL2"),
    "VTCR_EL2": ("s2-52-concat16", "VTCR_EL2"),
    "TTBR": ("4k-52-lpa2", "TTBR0_EL1"),
    "TTBR0_EL2": ("nvhe-hyp-lpa2", "TTBR0_EL2"),
    "VTTBR_EL2": ("s2-52-concat16", "VTTBR_EL2"),
    "HCR_EL2": ("s1-48-over-s2-52", "HCR_EL2"),
    "SCTLR": ("4k-52-lpa2", "SCTLR_EL1"),
    "MAIR": ("4k-52-lpa2", "MAIR_EL1"),
}


def explorer_state(target: Target, value: int) -> Configuration | None:
    """A state of the explorer that uses ``value`` as ``target``: a register set in the
    preset that reads it (tables re-built for it); a descriptor written where a preset's walk
    reads a descriptor of the same stage, level, granule and format. None when no preset
    fits (PAR_EL1 and ESR are results, not inputs)."""
    target.validate()
    value &= MASK64
    if target.key in _REGISTER_STATES:
        slug, register = _REGISTER_STATES[target.key]
        if target.key == "TTBR" and target.fmt == "48":
            slug = "4k-48"
        return CONFIG_PRESETS[slug].with_registers(**{register: value}).refilled()
    if not target.key.endswith("_DESC"):
        return None
    stage = 1 if target.key == "S1_DESC" else 2
    for preset in CONFIG_PRESETS.values():
        for ref in run(preset).reads(nested=False):
            read, params = ref.read, ref.params
            if (
                (read.stage, read.level) == (stage, target.level)
                and (params.granule_kb, params.desc_variant) == (target.granule, target.variant)
                and read.desc_address is not None
            ):
                return preset.with_memory({read.desc_address: value})
    return None
