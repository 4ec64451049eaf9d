"""Declarative bit-field tables for every register and descriptor the walker reads.

This module is the single source of truth for field positions: the walker reads registers and
descriptors only through ``Layout.get`` (and friends). Masks and shifts are precomputed when a
``Layout`` is built so that lookups stay cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from . import geometry as geo

# Registers and descriptors are 64 bits wide; addresses wrap (and are masked) at 64 bits.
MASK64 = (1 << 64) - 1

FieldKind = Literal["flag", "enum", "number", "address", "res0", "res1"]


@dataclass(frozen=True)
class Field:
    """One bit field ``[hi:lo]`` of a register or descriptor."""

    name: str
    hi: int
    lo: int
    summary: str
    help: str
    values: dict[int, str] = field(default_factory=dict)
    lpa2: str = ""
    kind: FieldKind = "number"
    # For a field whose encodings mean different things with another field of the same
    # register (VTCR_EL2.SL0 names a level by TG0): the register value -> each encoding's
    # meaning. ``values`` is what holds without that context.
    values_in: Callable[[int], Mapping[int, str]] | None = None

    @property
    def width(self) -> int:
        return self.hi - self.lo + 1

    @property
    def mask(self) -> int:
        """Mask of the field in place (not shifted down)."""
        return ((1 << self.width) - 1) << self.lo

    def extract(self, value: int) -> int:
        return (value >> self.lo) & ((1 << self.width) - 1)

    @property
    def description(self) -> str:
        """The summary and the help as one text, the summary left out when the help already
        says it ("Ignored" and "Ignored." read once)."""
        summary, help_ = self.summary.strip().rstrip("."), self.help.strip()
        if not summary or help_.lower().startswith(summary.lower()):
            return help_
        return f"{summary}. {help_}" if help_ else f"{summary}."

    def values_for(self, register: int) -> Mapping[int, str]:
        """The meaning of each encoding in this register value."""
        return self.values if self.values_in is None else self.values_in(register)

    def meaning_in(self, register: int, v: int) -> str:
        """``meaning(v)`` read with the rest of the register (see ``values_in``)."""
        if self.values_in is not None:
            return self.values_in(register).get(v) or self.meaning(v)
        return self.meaning(v)

    def meaning(self, v: int) -> str:
        if v in self.values:
            return self.values[v]
        if self.kind == "flag":
            return "set" if v else "clear"
        if self.kind == "res0":
            return "0 (RES0)" if v == 0 else f"{v:#x}: RES0 bits set"
        if self.kind == "res1":
            ones = (1 << self.width) - 1
            return "RES1" if v == ones else f"{v:#x}: RES1 bits clear"
        if self.kind == "address":
            return f"{v << self.lo:#x}"
        return str(v) if v < 10 else f"{v:#x}"


@dataclass(frozen=True)
class Layout:
    """A register or descriptor format: an ordered list of non-overlapping fields."""

    name: str
    title: str
    width: int
    fields: tuple[Field, ...]
    help: str = ""

    def __post_init__(self) -> None:
        by_name: dict[str, Field] = {}
        bit_owner: list[Field | None] = [None] * self.width
        res0 = 0
        res1 = 0
        for f in self.fields:
            if f.name in by_name:
                raise ValueError(f"{self.name}: duplicate field {f.name}")
            if not (0 <= f.lo <= f.hi < self.width):
                raise ValueError(f"{self.name}.{f.name}: bad range [{f.hi}:{f.lo}]")
            for b in range(f.lo, f.hi + 1):
                owner = bit_owner[b]
                if owner is not None:
                    raise ValueError(f"{self.name}: {f.name} overlaps {owner.name}")
                bit_owner[b] = f
            by_name[f.name] = f
            if f.kind == "res0":
                res0 |= f.mask
            elif f.kind == "res1":
                res1 |= f.mask
        # Precomputed lookups: name -> (shift, unshifted mask).
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(
            self, "_shift_mask", {n: (f.lo, (1 << f.width) - 1) for n, f in by_name.items()}
        )
        object.__setattr__(self, "_bit_owner", tuple(bit_owner))
        object.__setattr__(self, "_res0", res0)
        object.__setattr__(self, "_res1", res1)

    # -- lookups ---------------------------------------------------------------------------
    def field(self, name: str) -> Field:
        try:
            return self._by_name[name]  # type: ignore[attr-defined]
        except KeyError:
            raise KeyError(f"{self.name} has no field {name!r}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._by_name  # type: ignore[attr-defined]

    def shift_mask(self, name: str) -> tuple[int, int]:
        """Where field ``name`` is: ``(value >> shift) & mask`` reads it (for code that reads
        the same field of many values, compiled once from this table)."""
        return self._shift_mask[name]  # type: ignore[attr-defined]

    def get(self, value: int, name: str) -> int:
        shift, mask = self._shift_mask[name]  # type: ignore[attr-defined]
        return (value >> shift) & mask

    def get_in_place(self, value: int, name: str) -> int:
        """The field's bits left in position (e.g. an address field)."""
        shift, mask = self._shift_mask[name]  # type: ignore[attr-defined]
        return value & (mask << shift)

    def set(self, value: int, name: str, v: int) -> int:
        shift, mask = self._shift_mask[name]  # type: ignore[attr-defined]
        if v < 0 or v > mask:
            raise ValueError(f"{self.name}.{name}: {v:#x} does not fit in {mask.bit_length()} bits")
        return (value & ~(mask << shift)) | (v << shift)

    def encode(self, **fields: int) -> int:
        value = self.res1_mask
        for name, v in fields.items():
            if name not in self:
                raise KeyError(f"{self.name} has no field {name!r}")
            value = self.set(value, name, v)
        return value

    @property
    def res0_mask(self) -> int:
        return self._res0  # type: ignore[attr-defined]

    @property
    def res1_mask(self) -> int:
        return self._res1  # type: ignore[attr-defined]

    def field_at(self, bit: int) -> Field | None:
        if not 0 <= bit < self.width:
            return None
        return self._bit_owner[bit]  # type: ignore[attr-defined]

    def decode(self, value: int) -> list[tuple[Field, int, str]]:
        out = []
        for f in self.fields:
            v = (value >> f.lo) & ((1 << f.width) - 1)
            out.append((f, v, f.meaning_in(value, v)))
        return out

    def decode_rows(self, value: int) -> list[tuple[str, int, int, int, str]]:
        """Decoded fields as plain tuples ``(name, hi, lo, value, meaning)``."""
        return [(f.name, f.hi, f.lo, v, m) for f, v, m in self.decode(value)]

    def rows(self, value: int) -> DecodedRows:
        """``decode_rows(value)`` computed only when first looked at (the walker records the
        decoded fields of every descriptor it reads; most walks never display them)."""
        return DecodedRows(self, value)

    def res0_violations(self, value: int) -> list[Field]:
        if not value & self.res0_mask:
            return []
        return [f for f in self.fields if f.kind == "res0" and value & f.mask]

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "title": self.title,
            "width": self.width,
            "help": self.help,
            "fields": [
                {
                    "name": f.name,
                    "hi": f.hi,
                    "lo": f.lo,
                    "summary": f.summary,
                    "help": f.help,
                    "values": {str(k): v for k, v in f.values.items()},
                    "lpa2": f.lpa2,
                    "kind": f.kind,
                }
                for f in self.fields
            ],
        }


class DecodedRows(Sequence):
    """A read-only list of ``Layout.decode_rows(value)``, decoded on first use.

    Compares equal to the plain list of tuples and serializes (``to_dict``) as one."""

    __slots__ = ("layout", "value", "_rows")

    def __init__(self, layout: Layout, value: int) -> None:
        self.layout = layout
        self.value = value
        self._rows: list[tuple[str, int, int, int, str]] | None = None

    def _list(self) -> list[tuple[str, int, int, int, str]]:
        if self._rows is None:
            self._rows = self.layout.decode_rows(self.value)
        return self._rows

    def __getitem__(self, index: Any) -> Any:
        return self._list()[index]

    def __len__(self) -> int:
        return len(self.layout.fields)

    def __iter__(self) -> Iterator[tuple[str, int, int, int, str]]:
        return iter(self._list())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DecodedRows):
            return self.layout is other.layout and self.value == other.value
        if isinstance(other, list | tuple):
            return self._list() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._list())

    def to_dict(self) -> list[list]:
        return [list(row) for row in self._list()]


# ---------------------------------------------------------------------------------------------
# Helpers to keep the tables short
# ---------------------------------------------------------------------------------------------


def _f(
    name: str,
    hi: int,
    lo: int,
    summary: str,
    help_: str,
    values: Mapping[int, str] | None = None,
    lpa2: str = "",
    kind: FieldKind | None = None,
    values_in: Callable[[int], Mapping[int, str]] | None = None,
) -> Field:
    if kind is None:
        kind = "flag" if hi == lo and not values else ("enum" if values else "number")
    return Field(name, hi, lo, summary, help_, dict(values or {}), lpa2, kind, values_in)


def _res0(name: str, hi: int, lo: int, help_: str = "Reserved, must be zero.") -> Field:
    return Field(name, hi, lo, "RES0", help_, {}, "", "res0")


def _res1(name: str, hi: int, lo: int) -> Field:
    return Field(name, hi, lo, "RES1", "Reserved, must be one.", {}, "", "res1")


def _layout(name: str, title: str, fields: list[Field], help_: str = "", width: int = 64) -> Layout:
    return Layout(name, title, width, tuple(sorted(fields, key=lambda f: -f.lo)), help_)


_SIZE_ENC = {
    0b000: "32 bits, 4GB",
    0b001: "36 bits, 64GB",
    0b010: "40 bits, 1TB",
    0b011: "42 bits, 4TB",
    0b100: "44 bits, 16TB",
    0b101: "48 bits, 256TB",
    0b110: "52 bits, 4PB",
    0b111: "56 bits (FEAT_D128 only; reserved here)",
}
_TG0 = {0b00: "4KB", 0b01: "64KB", 0b10: "16KB", 0b11: "reserved"}
_TG1 = {0b00: "reserved", 0b01: "16KB", 0b10: "4KB", 0b11: "64KB"}
_RGN = {
    0: "Non-cacheable",
    1: "Write-Back Read-Allocate Write-Allocate",
    2: "Write-Through Read-Allocate No Write-Allocate",
    3: "Write-Back Read-Allocate No Write-Allocate",
}
_SH = {0: "Non-shareable", 1: "Reserved", 2: "Outer Shareable", 3: "Inner Shareable"}

_DS_HELP = (
    "FEAT_LPA2 enable for the 4KB and 16KB granules: 52-bit input and output addresses, "
    "descriptor bits [9:8] become OA[51:50] and bits [49:48] OA[49:48], level -1 for 4KB, "
    "blocks at 4KB level 0 and 16KB level 1, and the 52-bit TTBR format. Ignored for 64KB and "
    "when the CPU lacks FEAT_LPA2 for this granule."
)


def _txsz(name: str, hi: int, lo: int, what: str) -> Field:
    return _f(
        name,
        hi,
        lo,
        f"Size offset of the {what} region",
        f"The {what} input address is 64 - {name} bits wide. Minimum 16 (48 bits), or 12 (52 "
        "bits) with DS=1 or 64KB+FEAT_LVA; maximum 39, or 48 (47 for 64KB) with FEAT_TTST.",
        lpa2="12..15 for a 49..52-bit space (4KB: starts at level -1).",
        kind="number",
    )


def _walk_attrs(suffix: str, what: str) -> list[Field]:
    base = {"0": 8, "1": 24}.get(suffix, 8)
    return [
        _f(
            f"IRGN{suffix}",
            base + 1,
            base,
            "Inner cacheability of walks",
            f"Inner cacheability of table walk accesses for {what}.",
            _RGN,
        ),
        _f(
            f"ORGN{suffix}",
            base + 3,
            base + 2,
            "Outer cacheability of walks",
            f"Outer cacheability of table walk accesses for {what}.",
            _RGN,
        ),
        _f(
            f"SH{suffix}",
            base + 5,
            base + 4,
            "Shareability of walks (and of outputs with DS=1)",
            f"Shareability of table walk accesses for {what}. With DS=1 it is also the "
            "shareability of every block/page output, because descriptor bits [9:8] then hold "
            "OA[51:50].",
            _SH,
            lpa2="With DS=1 this supplies the output shareability.",
        ),
    ]


# ---------------------------------------------------------------------------------------------
# Translation control registers
# ---------------------------------------------------------------------------------------------


def _tcr_two_range(name: str, title: str, el: str) -> Layout:
    ttbr0 = f"TTBR0_{el}"
    ttbr1 = f"TTBR1_{el}"
    fields = [
        _txsz("T0SZ", 5, 0, ttbr0),
        _res0("RES0_6", 6, 6),
        _f(
            "EPD0",
            7,
            7,
            f"Disable walks through {ttbr0}",
            f"1 = a TLB miss in the {ttbr0} range gives a level 0 Translation fault.",
        ),
        *_walk_attrs("0", ttbr0),
        _f("TG0", 15, 14, f"{ttbr0} granule", "Granule size for the lower range.", _TG0),
        _txsz("T1SZ", 21, 16, ttbr1),
        _f("A1", 22, 22, "ASID select", f"0 = ASID from {ttbr0}, 1 = from {ttbr1}."),
        _f(
            "EPD1",
            23,
            23,
            f"Disable walks through {ttbr1}",
            f"1 = a TLB miss in the {ttbr1} range gives a level 0 Translation fault.",
        ),
        *_walk_attrs("1", ttbr1),
        _f(
            "TG1",
            31,
            30,
            f"{ttbr1} granule",
            "Granule size for the upper range. Encoded differently from TG0: 01=16KB, "
            "10=4KB, 11=64KB.",
            _TG1,
        ),
        _f(
            "IPS",
            34,
            32,
            "Output (intermediate physical) size",
            "Size of the output address space; capped by the CPU's PARange, and at 48 bits "
            "unless the granule can express 52-bit addresses.",
            _SIZE_ENC,
            lpa2="0b110 (52 bits) to use OA[51:48].",
        ),
        _res0("RES0_35", 35, 35),
        _f("AS", 36, 36, "ASID size", "0 = 8-bit ASID, 1 = 16-bit ASID."),
        _f(
            "TBI0",
            37,
            37,
            f"Top byte ignored ({ttbr0})",
            "1 = VA[63:56] is ignored for translation; the range check uses VA[55:IA].",
        ),
        _f(
            "TBI1",
            38,
            38,
            f"Top byte ignored ({ttbr1})",
            "1 = VA[63:56] is ignored for translation; the range check uses VA[55:IA].",
        ),
        _f(
            "HA",
            39,
            39,
            "Hardware Access flag update",
            "FEAT_HAFDBS: a leaf with AF=0 does not fault; the walk writes AF=1 to it.",
        ),
        _f(
            "HD",
            40,
            40,
            "Hardware dirty state",
            "FEAT_HAFDBS: with HA, a write to a DBM=1 leaf clears AP[2] (not for AT).",
        ),
        _f(
            "HPD0",
            41,
            41,
            f"Hierarchical permission disable ({ttbr0})",
            "FEAT_HPDS: 1 = APTable, PXNTable and UXNTable are ignored.",
        ),
        _f(
            "HPD1",
            42,
            42,
            f"Hierarchical permission disable ({ttbr1})",
            "FEAT_HPDS: 1 = APTable, PXNTable and UXNTable are ignored.",
        ),
        _f("HWU0", 46, 43, "Hardware use (TTBR0)", "Descriptor bits 62:59 for hardware use."),
        _f("HWU1", 50, 47, "Hardware use (TTBR1)", "Descriptor bits 62:59 for hardware use."),
        _f("TBID0", 51, 51, "TBI data only (TTBR0)", "1 = TBI0 applies to data accesses only."),
        _f("TBID1", 52, 52, "TBI data only (TTBR1)", "1 = TBI1 applies to data accesses only."),
        _f("NFD0", 53, 53, "Non-fault disable (TTBR0)", "SVE non-fault accesses fault."),
        _f("NFD1", 54, 54, "Non-fault disable (TTBR1)", "SVE non-fault accesses fault."),
        _f(
            "E0PD0",
            55,
            55,
            f"EL0 access faults ({ttbr0})",
            "FEAT_E0PD: an EL0 access to the lower range gives a level 0 Translation fault.",
        ),
        _f(
            "E0PD1",
            56,
            56,
            f"EL0 access faults ({ttbr1})",
            "FEAT_E0PD: an EL0 access to the upper range gives a level 0 Translation fault.",
        ),
        _f("TCMA0", 57, 57, "Tag check match all (TTBR0)", "FEAT_MTE2."),
        _f("TCMA1", 58, 58, "Tag check match all (TTBR1)", "FEAT_MTE2."),
        _f("DS", 59, 59, "52-bit addresses with 4KB/16KB (FEAT_LPA2)", _DS_HELP, lpa2="1"),
        _f("MTX0", 60, 60, "Extended memory tag checking (TTBR0)", "FEAT_MTE_NO_ADDRESS_TAGS."),
        _f("MTX1", 61, 61, "Extended memory tag checking (TTBR1)", "FEAT_MTE_NO_ADDRESS_TAGS."),
        _f(
            "EXT",
            63,
            62,
            "Later extensions",
            "Fields of later architecture versions (not modelled).",
        ),
    ]
    return _layout(name, title, fields, f"Translation control for the {el} two-range regime.")


TCR_EL1 = _tcr_two_range("TCR_EL1", "Translation Control Register (EL1)", "EL1")
TCR_EL2_E2H = _tcr_two_range(
    "TCR_EL2_E2H", "TCR_EL2 when HCR_EL2.E2H=1 (VHE: the TCR_EL1 layout)", "EL2"
)

# HA and HD at bits 21/22 (TCR_EL2 with E2H=0, VTCR_EL2).
_HA_HD_21_22 = (
    _f(
        "HA",
        21,
        21,
        "Hardware Access flag update",
        "FEAT_HAFDBS: a leaf with AF=0 does not fault; the walk writes AF=1 to it.",
    ),
    _f(
        "HD",
        22,
        22,
        "Hardware dirty state",
        "FEAT_HAFDBS: with HA, a write to a DBM=1 leaf makes it writable (not for AT).",
    ),
)

TCR_EL2 = _layout(
    "TCR_EL2",
    "TCR_EL2 when HCR_EL2.E2H=0 (single-range EL2 regime)",
    [
        _txsz("T0SZ", 5, 0, "TTBR0_EL2"),
        _res0("RES0_7_6", 7, 6),
        *_walk_attrs("0", "TTBR0_EL2"),
        _f("TG0", 15, 14, "Granule", "Granule size (TG0 encoding).", _TG0),
        _f(
            "PS",
            18,
            16,
            "Physical address size",
            "Output address size; capped by PARange and at 48 unless 52-bit capable.",
            _SIZE_ENC,
            lpa2="0b110 (52 bits) to use OA[51:48].",
        ),
        _res0("RES0_19", 19, 19),
        _f("TBI", 20, 20, "Top byte ignored", "1 = the VA range check uses VA[55:IA]."),
        *_HA_HD_21_22,
        _res1("RES1_23", 23, 23),
        _f(
            "HPD",
            24,
            24,
            "Hierarchical permission disable",
            "FEAT_HPDS: 1 = APTable[1] and XNTable are ignored.",
        ),
        _f("HWU", 28, 25, "Hardware use", "Descriptor bits 62:59 for hardware use."),
        _f("TBID", 29, 29, "TBI data only", "1 = TBI applies to data accesses only."),
        _f("TCMA", 30, 30, "Tag check match all", "FEAT_MTE2."),
        _res1("RES1_31", 31, 31),
        _f(
            "DS",
            32,
            32,
            "52-bit addresses with 4KB/16KB (FEAT_LPA2)",
            _DS_HELP + " In this layout DS is bit 32 (bit 59 only when E2H=1).",
            lpa2="1",
        ),
        _f("MTX", 33, 33, "Extended memory tag checking", "FEAT_MTE_NO_ADDRESS_TAGS."),
        _res0("RES0_63_34", 63, 34),
    ],
    "Translation control for EL2 when E2H=0: one range, TTBR0_EL2 only.",
)

VTCR_EL2 = _layout(
    "VTCR_EL2",
    "Virtualization Translation Control Register",
    [
        _f(
            "T0SZ",
            5,
            0,
            "Size offset of the IPA (stage 2) region",
            "The IPA space is 64 - T0SZ bits wide. The smallest legal value comes from the PA "
            "range (AArch64.S2MinTxSZ): 12 (52 bits) needs PAMax = 52 and, with 4KB/16KB, "
            "DS=1 (with 64KB, FEAT_LPA); otherwise 16. The start level does not follow from "
            "T0SZ: SL0 (and SL2) choose it, and T0SZ must fit it, the first table being up to "
            "16 concatenated tables. Maximum 39, or 48 (47 for 64KB) with FEAT_TTST.",
            lpa2="12..15 for a 49..52-bit IPA; with 4KB it can start at level 0 (SL0=0b10, "
            "16 concatenated tables) or at level -1 (SL2=1).",
            kind="number",
        ),
        _f(
            "SL0",
            7,
            6,
            "Starting level of the stage-2 walk",
            "Meaning depends on TG0: 4KB 00=L2 01=L1 10=L0 11=L3 (FEAT_TTST); 16KB/64KB "
            "00=L3 01=L2 10=L1, 16KB 11=L0 (DS=1 only).",
            lpa2="4KB level -1 needs SL2=1 and SL0=00; 16KB level 0 needs SL0=11.",
            kind="enum",
            values_in=lambda vtcr: _vtcr_sl0_levels(vtcr),
        ),
        *_walk_attrs("0", "VTTBR_EL2"),
        _f("TG0", 15, 14, "Granule", "Stage-2 granule size (TG0 encoding).", _TG0),
        _f(
            "PS",
            18,
            16,
            "Physical address size",
            "Stage-2 output size; capped by PARange and at 48 unless 52-bit capable.",
            _SIZE_ENC,
            lpa2="0b110 (52 bits) to use PA[51:48].",
        ),
        _f("VS", 19, 19, "VMID size", "1 = 16-bit VMID (FEAT_VMID16)."),
        _res0("RES0_20", 20, 20),
        *_HA_HD_21_22,
        _res0("RES0_24_23", 24, 23),
        _f("HWU", 28, 25, "Hardware use", "Descriptor bits 62:59 for hardware use."),
        _f("NSW", 29, 29, "Non-secure walk", "Secure stage 2 only."),
        _f("NSA", 30, 30, "Non-secure output", "Secure stage 2 only."),
        _res1("RES1_31", 31, 31),
        _f("DS", 32, 32, "52-bit addresses with 4KB/16KB (FEAT_LPA2)", _DS_HELP, lpa2="1"),
        _f(
            "SL2",
            33,
            33,
            "Start at level -1 (4KB, DS=1)",
            "With 4KB and DS=1, SL2=1 and SL0=00 start the walk at level -1. Ignored when DS=0.",
            lpa2="1 with SL0=00 for a level -1 start (or use 16 concatenated level-0 tables).",
        ),
        _f("AssuredOnly", 34, 34, "AssuredOnly", "FEAT_THE (not modelled)."),
        _f("TL1", 35, 35, "TopLevel1", "FEAT_THE (not modelled)."),
        _f("S2PIE", 36, 36, "Stage-2 permission indirection", "FEAT_S2PIE (not modelled)."),
        _f("S2POE", 37, 37, "Stage-2 permission overlay", "FEAT_S2POE (not modelled)."),
        _f("D128", 38, 38, "128-bit descriptors", "FEAT_D128 (not modelled)."),
        _res0("RES0_39", 39, 39),
        _f("GCSH", 40, 40, "GCS hardening", "FEAT_THE (not modelled)."),
        _f("TL0", 41, 41, "TopLevel0", "FEAT_THE (not modelled)."),
        _res0("RES0_43_42", 43, 42),
        _f("HAFT", 44, 44, "Hardware AF in tables", "FEAT_HAFT (not modelled)."),
        _res0("RES0_63_45", 63, 45),
    ],
    "Stage-2 translation control (VTTBR_EL2 walk).",
)


def _vtcr_sl0_levels(vtcr: int) -> dict[int, str]:
    """VTCR_EL2.SL0's encodings as start levels for this value's granule (AArch64.S2StartLevel):
    the same two bits name level 2 with 4KB and level 3 with 16KB or 64KB; with 4KB, DS=1 and
    SL2=1 only SL0=0b00 names a level (-1). Whether the CPU allows the level (FEAT_TTST, the PA
    size) is the walk's to say."""
    granule = geo.TG0_GRANULE.get(VTCR_EL2.get(vtcr, "TG0"))
    if granule is None:
        return {}
    sl2 = VTCR_EL2.get(vtcr, "SL2") if granule == 4 and VTCR_EL2.get(vtcr, "DS") else 0
    needs = {(4, 3): " (FEAT_TTST)", (16, 3): " (DS=1)"} if not sl2 else {(4, 0): " (SL2=1)"}
    out = {}
    for sl0 in range(4):
        start = geo.s2_start_level(granule, sl0, sl2)
        if start is None:
            out[sl0] = "no start level" + (" with SL2=1" if sl2 else f" with {granule}KB")
        else:
            out[sl0] = f"level {start} with {granule}KB{needs.get((granule, sl0), '')}"
    return out


# ---------------------------------------------------------------------------------------------
# Translation table base registers
# ---------------------------------------------------------------------------------------------

_BADDR_HELP = (
    "Table base address. Bits below the start-table size are ignored (aligned away). In the "
    "52-bit format (DS=1, or 64KB+FEAT_LPA with IPS/PS=0b110) bits [47:6] are base[47:6] and "
    "bits [5:2] are base[51:48]."
)


def _ttbr(name: str, title: str, top_name: str, top_help: str, fmt52: bool) -> Layout:
    top = [_f(top_name, 63, 48, top_help, top_help)] if top_name else [_res0("RES0_63_48", 63, 48)]
    if fmt52:
        addr = [
            _f(
                "BADDR",
                47,
                6,
                "Table base [47:6]",
                _BADDR_HELP,
                kind="address",
                lpa2="Start table aligned to max(table size, 64 bytes).",
            ),
            _f(
                "BADDR_51_48",
                5,
                2,
                "Table base [51:48]",
                "In the 52-bit format these bits are base address bits [51:48].",
                lpa2="PA[51:48] of the start table.",
            ),
            _res0("RES0_1", 1, 1, "RES0 in the 52-bit TTBR format."),
        ]
    else:
        addr = [_f("BADDR", 47, 1, "Table base [47:1]", _BADDR_HELP, kind="address")]
    fields = [*top, *addr, _f("CnP", 0, 0, "Common not private", "Tables shared between PEs.")]
    return _layout(name, title, fields, "Translation table base register.")


_ASID = "ASID (8 or 16 bits per TCR.AS)"
TTBR = _ttbr("TTBR", "TTBR0/1_EL1, TTBR1_EL2, TTBR0_EL2 (E2H=1)", "ASID", _ASID, False)
TTBR_52 = _ttbr("TTBR_52", "TTBRn with ASID, 52-bit format", "ASID", _ASID, True)
TTBR0_EL2 = _ttbr("TTBR0_EL2", "TTBR0_EL2 (E2H=0, no ASID)", "", "", False)
TTBR0_EL2_52 = _ttbr("TTBR0_EL2_52", "TTBR0_EL2 (E2H=0), 52-bit format", "", "", True)
_VMID = "VMID (bits [55:48] unless VTCR_EL2.VS=1)"
VTTBR_EL2 = _ttbr("VTTBR_EL2", "Virtualization TTBR", "VMID", _VMID, False)
VTTBR_EL2_52 = _ttbr("VTTBR_EL2_52", "Virtualization TTBR, 52-bit format", "VMID", _VMID, True)

# ---------------------------------------------------------------------------------------------
# HCR_EL2, SCTLR, MAIR
# ---------------------------------------------------------------------------------------------

HCR_EL2 = _layout(
    "HCR_EL2",
    "Hypervisor Configuration Register",
    [
        _f("VM", 0, 0, "Stage 2 enable", "1 = EL1&0 stage 2 translation is enabled."),
        _f("SWIO", 1, 1, "Set/way invalidation override", "Not translation related."),
        _f(
            "PTW",
            2,
            2,
            "Protected table walk",
            "1 = an EL1&0 stage-1 table walk that stage 2 maps as Device memory takes a "
            "stage-2 Permission fault (S1PTW=1).",
        ),
        _f("FMO", 3, 3, "FIQ routing", "Not translation related."),
        _f("IMO", 4, 4, "IRQ routing", "Not translation related."),
        _f("AMO", 5, 5, "SError routing", "Not translation related."),
        _f(
            "DC",
            12,
            12,
            "Default cacheability",
            "1 = EL1&0 stage 1 behaves as disabled (SCTLR_EL1.M=0) with Normal Write-Back, "
            "Non-shareable output, and stage 2 is on as if VM=1.",
        ),
        _f("TGE", 27, 27, "Trap general exceptions", "With E2H=0, EL1&0 stage 1 is disabled."),
        _f("RW", 31, 31, "EL1 is AArch64", "Must be 1 for an AArch64 EL1."),
        _f(
            "CD",
            32,
            32,
            "Stage-2 data cacheability disable",
            "1 = EL1&0 data accesses and table walks to memory stage 2 gives as Normal are "
            "Non-cacheable.",
        ),
        _f(
            "E2H",
            34,
            34,
            "EL2 host (VHE)",
            "1 = EL2 uses the two-range EL2&0 regime with TCR_EL2 in the TCR_EL1 layout.",
        ),
        _f(
            "FWB",
            46,
            46,
            "Forced write-back",
            "FEAT_S2FWB: stage-2 MemAttr[2:0] overrides stage 1: 0b0xx Device, 0b101 "
            "Non-cacheable, 0b110 Write-Back, 0b111 stage 1's attributes.",
        ),
    ],
    "Only the fields that affect translation are listed.",
)

SCTLR = _layout(
    "SCTLR",
    "System Control Register (SCTLR_EL1 / SCTLR_EL2)",
    [
        _f("M", 0, 0, "MMU enable", "1 = stage 1 translation enabled; 0 = flat mapping."),
        _f("A", 1, 1, "Alignment check", "Not modelled."),
        _f("C", 2, 2, "Data cacheability", "Not modelled."),
        _f("SA", 3, 3, "Stack alignment check", "Not modelled."),
        _f("I", 12, 12, "Instruction cacheability", "Not modelled."),
        _f("WXN", 19, 19, "Write implies XN", "1 = any writable location is execute-never."),
        _f("SPAN", 23, 23, "Set PAN", "PAN is not modelled."),
        _f("E0E", 24, 24, "EL0 endianness", "Not modelled."),
        _f("EE", 25, 25, "Endianness of walks", "Not modelled (descriptors read little-endian)."),
    ],
    "Only the fields relevant to translation are listed.",
)

MAIR = _layout(
    "MAIR",
    "Memory Attribute Indirection Register",
    [
        _f(
            f"Attr{i}",
            8 * i + 7,
            8 * i,
            f"Attribute {i}",
            "Memory type for AttrIndx = "
            f"{i}: 0x00 Device-nGnRnE, 0x04 Device-nGnRE, 0x44 Normal NC, 0xFF Normal WB.",
        )
        for i in range(8)
    ],
    "Eight 8-bit memory attributes selected by descriptor AttrIndx.",
)

# ---------------------------------------------------------------------------------------------
# PAR_EL1, ESR_ELx and its ISS, FAR, HPFAR_EL2
# ---------------------------------------------------------------------------------------------

PAR_EL1 = _layout(
    "PAR_EL1",
    "PAR_EL1 after a successful AT (F=0)",
    [
        _f("F", 0, 0, "Fault", "0 = translation succeeded."),
        _f("IMPDEF_6_1", 6, 1, "IMPLEMENTATION DEFINED", "Zero in this model."),
        _f("SH", 8, 7, "Shareability", "0b10 for Device or Normal Non-cacheable.", _SH),
        _f(
            "NS",
            9,
            9,
            "Non-secure",
            "UNKNOWN for a Non-secure regime: 1 (Non-secure PA space, like QEMU and FEAT_RME) "
            "or 0, by the choice par_ns.",
        ),
        _f("IMPDEF_10", 10, 10, "IMPLEMENTATION DEFINED", "Zero in this model."),
        _f("RES1_11", 11, 11, "RES1 (NSE with FEAT_RME)", "Set, like QEMU."),
        _f(
            "PA",
            51,
            12,
            "Output address [51:12]",
            "Physical (or intermediate physical) address.",
            kind="address",
            lpa2="PA[51:48] appear in bits [51:48].",
        ),
        _res0("RES0_55_52", 55, 52),
        _f("ATTR", 63, 56, "Memory attributes", "MAIR-style attribute byte."),
    ],
)

PAR_EL1_FAULT = _layout(
    "PAR_EL1_FAULT",
    "PAR_EL1 after a faulting AT (F=1)",
    [
        _f("F", 0, 0, "Fault", "1 = the translation faulted."),
        _f("FST", 6, 1, "Fault status code", "Same 6-bit code as ESR DFSC."),
        _res0("RES0_7", 7, 7),
        _f("PTW", 8, 8, "Stage-2 fault on a stage-1 walk", "S1PTW."),
        _f("S", 9, 9, "Stage-2 fault", "1 = the fault came from stage 2."),
        _res0("RES0_10", 10, 10),
        _f("RES1_11", 11, 11, "RES1", "Set."),
        _f("AssuredOnly", 12, 12, "AssuredOnly", "Not modelled."),
        _f("TopLevel", 13, 13, "TopLevel", "Not modelled."),
        _f("Overlay", 14, 14, "Overlay", "Not modelled."),
        _f("DirtyBit", 15, 15, "DirtyBit", "Not modelled."),
        _res0("RES0_47_16", 47, 16),
        _f("IMPDEF_63_48", 63, 48, "IMPLEMENTATION DEFINED", "Zero in this model."),
    ],
)

_FSC_HELP = "6-bit fault status code (see fsc_name)."
ESR_ISS_DA = _layout(
    "ESR_ISS_DA",
    "ESR_ELx.ISS for a Data Abort",
    [
        _f("DFSC", 5, 0, "Data fault status code", _FSC_HELP),
        _f("WnR", 6, 6, "Write not read", "1 = the abort was caused by a write."),
        _f("S1PTW", 7, 7, "Stage-2 fault on stage-1 walk", "Fault on a stage-1 table read."),
        _f("CM", 8, 8, "Cache maintenance", "Fault from a cache maintenance/AT instruction."),
        _f("EA", 9, 9, "External abort type", "IMPLEMENTATION DEFINED."),
        _f("FnV", 10, 10, "FAR not valid", "0 here."),
        _f("SET", 12, 11, "Synchronous error type", "External aborts only."),
        _f("VNCR", 13, 13, "VNCR_EL2 fault", "0 here."),
        _f("AR", 14, 14, "Acquire/release", "Syndrome valid only with ISV."),
        _f("SF", 15, 15, "Sixty-four bit register", "Syndrome valid only with ISV."),
        _f("SRT", 20, 16, "Register transferred", "Syndrome valid only with ISV."),
        _f("SSE", 21, 21, "Sign extend", "Syndrome valid only with ISV."),
        _f("SAS", 23, 22, "Access size", "Syndrome valid only with ISV."),
        _f("ISV", 24, 24, "Instruction syndrome valid", "0 here."),
    ],
    width=25,
)

ESR_ISS_IA = _layout(
    "ESR_ISS_IA",
    "ESR_ELx.ISS for an Instruction Abort",
    [
        _f("IFSC", 5, 0, "Instruction fault status code", _FSC_HELP),
        _res0("RES0_6", 6, 6),
        _f("S1PTW", 7, 7, "Stage-2 fault on stage-1 walk", "Fault on a stage-1 table read."),
        _res0("RES0_8", 8, 8),
        _f("EA", 9, 9, "External abort type", "IMPLEMENTATION DEFINED."),
        _f("FnV", 10, 10, "FAR not valid", "0 here."),
        _f("SET", 12, 11, "Synchronous error type", "External aborts only."),
        _res0("RES0_24_13", 24, 13),
    ],
    width=25,
)

# The exception classes of the aborts a translation fault raises, with the ISS layout of each.
EC_INSTRUCTION_ABORT_LOWER = 0x20
EC_INSTRUCTION_ABORT_SAME = 0x21
EC_DATA_ABORT_LOWER = 0x24
EC_DATA_ABORT_SAME = 0x25
_EC_NAMES = {
    EC_INSTRUCTION_ABORT_LOWER: "Instruction Abort from a lower EL",
    EC_INSTRUCTION_ABORT_SAME: "Instruction Abort, same EL",
    EC_DATA_ABORT_LOWER: "Data Abort from a lower EL",
    EC_DATA_ABORT_SAME: "Data Abort, same EL",
    0x15: "SVC from AArch64",
    0x16: "HVC from AArch64",
    0x17: "SMC from AArch64",
    0x18: "Trapped MSR/MRS/system instruction",
    0x00: "Unknown reason",
}

ESR_ELx = _layout(
    "ESR_ELx",
    "Exception Syndrome Register (EC, IL, ISS2)",
    [
        _res0("RES0_63_56", 63, 56),
        _f(
            "ISS2",
            55,
            32,
            "ISS2",
            "Extra syndrome for some exceptions (FEAT_LS64, GCS, ...); 0 for the aborts here.",
        ),
        _f(
            "EC",
            31,
            26,
            "Exception class",
            "What kind of exception this is. 0x20/0x21 are Instruction Aborts from a lower / "
            "the same EL, 0x24/0x25 Data Aborts from a lower / the same EL.",
            _EC_NAMES,
        ),
        _f("IL", 25, 25, "Instruction length", "1 = 32-bit instruction (always for aborts)."),
        _f(
            "ISS",
            24,
            0,
            "Instruction specific syndrome",
            "Decoded below with the layout chosen by EC.",
            kind="number",
        ),
    ],
    "The exception syndrome: EC picks the ISS layout.",
)

# ESR_ELx.EC -> the layout of its ISS (ESR_ISS_DA / ESR_ISS_IA).
ESR_ISS_LAYOUTS: dict[int, str] = {
    EC_INSTRUCTION_ABORT_LOWER: "ESR_ISS_IA",
    EC_INSTRUCTION_ABORT_SAME: "ESR_ISS_IA",
    EC_DATA_ABORT_LOWER: "ESR_ISS_DA",
    EC_DATA_ABORT_SAME: "ESR_ISS_DA",
}

FAR_ELx = _layout(
    "FAR_ELx",
    "Fault Address Register (FAR_EL1 / FAR_EL2)",
    [
        _f(
            "VA",
            63,
            0,
            "Faulting virtual address",
            "The virtual address of the access that faulted, for stage-1 and stage-2 faults "
            "alike (a stage-2 fault's IPA is in HPFAR_EL2).",
            kind="address",
        )
    ],
)

HPFAR_EL2 = _layout(
    "HPFAR_EL2",
    "Hypervisor IPA Fault Address Register",
    [
        _res0("RES0_3_0", 3, 0),
        _f(
            "FIPA",
            43,
            4,
            "Faulting IPA [51:12]",
            "Bits [51:12] of the IPA whose stage-2 translation faulted; for a fault on a "
            "stage-1 table walk (S1PTW=1), the IPA of the table entry being read. Bits [43:40] "
            "are IPA[51:48] with FEAT_LPA/FEAT_LPA2, RES0 otherwise.",
            lpa2="FIPA[43:40] hold IPA[51:48].",
        ),
        _res0("RES0_62_44", 62, 44),
        _f(
            "NS",
            63,
            63,
            "Faulting IPA space",
            "0 = Non-secure IPA space here (Secure not modelled).",
        ),
    ],
    "Written on a stage-2 abort taken to EL2 (translation, access flag, address size, permission).",
)

# ---------------------------------------------------------------------------------------------
# ID registers
# ---------------------------------------------------------------------------------------------

_PARANGE = {
    0: "32 bits",
    1: "36 bits",
    2: "40 bits",
    3: "42 bits",
    4: "44 bits",
    5: "48 bits",
    6: "52 bits (FEAT_LPA)",
    7: "56 bits (FEAT_D128)",
}

ID_AA64MMFR0 = _layout(
    "ID_AA64MMFR0",
    "ID_AA64MMFR0_EL1",
    [
        _f("PARange", 3, 0, "Physical address range", "PAMax.", _PARANGE, lpa2="0b0110"),
        _f("ASIDBits", 7, 4, "ASID bits", "0 = 8, 2 = 16.", {0: "8", 2: "16"}),
        _f("BigEnd", 11, 8, "Mixed endian", "Not translation related."),
        _f("SNSMem", 15, 12, "Secure/Non-secure memory", "Not translation related."),
        _f("BigEndEL0", 19, 16, "Mixed endian EL0", "Not translation related."),
        _f(
            "TGran16",
            23,
            20,
            "16KB granule",
            "16KB granule support at stage 1.",
            {0: "not supported", 1: "supported", 2: "supported, 52-bit (FEAT_LPA2)"},
            lpa2="0b0010",
        ),
        _f(
            "TGran64",
            27,
            24,
            "64KB granule",
            "64KB granule support at stage 1 (signed).",
            {0: "supported", 0xF: "not supported"},
        ),
        _f(
            "TGran4",
            31,
            28,
            "4KB granule",
            "4KB granule support at stage 1 (signed).",
            {0: "supported", 1: "supported, 52-bit (FEAT_LPA2)", 0xF: "not supported"},
            lpa2="0b0001",
        ),
        _f(
            "TGran16_2",
            35,
            32,
            "16KB granule at stage 2",
            "0 = as TGran16.",
            {0: "as TGran16", 1: "not supported", 2: "supported", 3: "supported, 52-bit"},
            lpa2="0b0011",
        ),
        _f(
            "TGran64_2",
            39,
            36,
            "64KB granule at stage 2",
            "0 = as TGran64.",
            {0: "as TGran64", 1: "not supported", 2: "supported"},
        ),
        _f(
            "TGran4_2",
            43,
            40,
            "4KB granule at stage 2",
            "0 = as TGran4.",
            {0: "as TGran4", 1: "not supported", 2: "supported", 3: "supported, 52-bit"},
            lpa2="0b0011",
        ),
        _f("ExS", 47, 44, "Context synchronizing exception", "Not translation related."),
        _res0("RES0_55_48", 55, 48),
        _f("FGT", 59, 56, "Fine-grained traps", "Not translation related."),
        _f("ECV", 63, 60, "Enhanced counter virtualization", "Not translation related."),
    ],
)

ID_AA64MMFR1 = _layout(
    "ID_AA64MMFR1",
    "ID_AA64MMFR1_EL1",
    [
        _f(
            "HAFDBS",
            3,
            0,
            "Hardware AF/dirty",
            "FEAT_HAFDBS.",
            {0: "none", 1: "Access flag", 2: "Access flag and dirty state"},
        ),
        _f("VMIDBits", 7, 4, "VMID bits", "0 = 8, 2 = 16."),
        _f("VH", 11, 8, "VHE", "FEAT_VHE (HCR_EL2.E2H)."),
        _f("HPDS", 15, 12, "Hierarchical permission disables", "FEAT_HPDS (1), FEAT_HPDS2 (2)."),
        _f("LO", 19, 16, "LORegions", "Not translation related."),
        _f("PAN", 23, 20, "PAN", "PAN is not modelled."),
        _f("SpecSEI", 27, 24, "SError on speculative read", "Not translation related."),
        _f("XNX", 31, 28, "Stage-2 XNX", "FEAT_XNX: stage-2 descriptor bit 53 splits XN per EL."),
        _f("TWED", 35, 32, "WFE delay", "Not translation related."),
        _f("ETS", 39, 36, "Enhanced translation sync", "Not translation related."),
        _f("HCX", 43, 40, "HCRX_EL2", "Not translation related."),
        _f("AFP", 47, 44, "Alternate FP", "Not translation related."),
        _f("nTLBPA", 51, 48, "TLB intermediate caching", "Not translation related."),
        _f("TIDCP1", 55, 52, "TIDCP1", "Not translation related."),
        _f("CMOW", 59, 56, "CMOW", "Not translation related."),
        _f("ECBHB", 63, 60, "ECBHB", "Not translation related."),
    ],
)

ID_AA64MMFR2 = _layout(
    "ID_AA64MMFR2",
    "ID_AA64MMFR2_EL1",
    [
        _f("CnP", 3, 0, "Common not private", "Not modelled."),
        _f("UAO", 7, 4, "User access override", "Not modelled."),
        _f("LSM", 11, 8, "LSMAOE/nTLSMD", "Not translation related."),
        _f("IESB", 15, 12, "IESB", "Not translation related."),
        _f(
            "VARange",
            19,
            16,
            "Virtual address range",
            "1 = 52-bit VA with the 64KB granule (FEAT_LVA).",
            {0: "48 bits", 1: "52 bits with 64KB (FEAT_LVA)"},
        ),
        _f("CCIDX", 23, 20, "CCSIDR format", "Not translation related."),
        _f("NV", 27, 24, "Nested virtualization", "Not modelled."),
        _f(
            "ST",
            31,
            28,
            "Small translation tables",
            "FEAT_TTST: TxSZ up to 48 (47 for 64KB).",
            {0: "max TxSZ 39", 1: "max TxSZ 48/47 (FEAT_TTST)"},
        ),
        _f("AT", 35, 32, "Unaligned atomics", "Not translation related."),
        _f("IDS", 39, 36, "ID trap syndrome", "Not translation related."),
        _f("FWB", 43, 40, "Stage-2 forced write-back", "Not modelled."),
        _res0("RES0_47_44", 47, 44),
        _f("TTL", 51, 48, "TLBI level hint", "Not translation related."),
        _f("BBM", 55, 52, "Break-before-make levels", "Not modelled."),
        _f("EVT", 59, 56, "Enhanced virtualization traps", "Not translation related."),
        _f("E0PD", 63, 60, "E0PD", "FEAT_E0PD."),
    ],
)

# ---------------------------------------------------------------------------------------------
# Descriptors
# ---------------------------------------------------------------------------------------------

_VALID = _f("Valid", 0, 0, "Valid", "0 = invalid descriptor: Translation fault at this level.")


def _type(is_table_or_page: str) -> Field:
    return _f(
        "Type",
        1,
        1,
        "Descriptor type",
        "1 = table (levels < 3) or page (level 3); 0 = block (level 3: reserved).",
        {0: "block", 1: is_table_or_page},
        kind="enum",
    )


_NLTA_HELP = "Next-level table address; bits below the granule size are RES0."
_OA_HELP = "Output address; bits below the block/page size are RES0."


def _addr_fields(variant: str, what: str, lo_ds0: int) -> list[Field]:
    """Address fields of a table descriptor (``what`` = "NLTA")."""
    help_ = _NLTA_HELP if what == "NLTA" else _OA_HELP
    if variant == "DS1":
        return [
            _f(
                what,
                49,
                lo_ds0,
                f"{what}[49:{lo_ds0}]",
                help_ + " With DS=1 bits [49:48] are address bits [49:48].",
                kind="address",
                lpa2="Bits [49:48] carry OA[49:48].",
            ),
            _f(
                f"{what}_51_50",
                9,
                8,
                f"{what}[51:50]",
                "With DS=1 (4KB/16KB) these bits are address bits [51:50], not SH.",
                lpa2="OA[51:50].",
            ),
            _res0("RES0_51_50", 51, 50),
        ]
    if variant == "LPA":
        return [
            _f(what, 47, 16, f"{what}[47:16]", help_, kind="address"),
            _f(
                f"{what}_51_48",
                15,
                12,
                f"{what}[51:48]",
                "64KB granule with FEAT_LPA: address bits [51:48].",
                lpa2="(FEAT_LPA, 64KB) OA[51:48].",
            ),
        ]
    return [_f(what, 47, lo_ds0, f"{what}[47:{lo_ds0}]", help_, kind="address")]


def _s1_table(variant: str) -> Layout:
    addr = _addr_fields(variant, "NLTA", 12)
    fields = [_VALID, _type("table"), *addr]
    if variant == "DS1":
        fields += [
            _f("IGN_7_2", 7, 2, "Ignored", "Ignored."),
            _f("IGN_11_10", 11, 10, "Ignored", "Ignored."),
        ]
    elif variant == "LPA":
        fields += [_f("IGN_11_2", 11, 2, "Ignored", "Ignored.")]
        fields += [_res0("RES0_51_48", 51, 48)]
    else:
        fields += [_f("IGN_11_2", 11, 2, "Ignored", "Ignored."), _res0("RES0_51_48", 51, 48)]
    fields += [
        _f("IGN_58_52", 58, 52, "Ignored", "Ignored by hardware."),
        _f(
            "PXNTable",
            59,
            59,
            "Privileged execute-never below",
            "1 = nothing below may be executed at EL1 (two-range regimes; RES0 for EL2).",
        ),
        _f(
            "UXNTable",
            60,
            60,
            "Unprivileged execute-never below (XNTable at EL2)",
            "1 = nothing below may be executed at EL0 (XNTable: at EL2 in the EL2 regime).",
        ),
        _f(
            "APTable",
            62,
            61,
            "Access permission limits below",
            "bit 61: no EL0 access below; bit 62: read-only below. EL2 regime: bit 62 only.",
            {0: "no effect", 1: "no EL0 access", 2: "read-only", 3: "read-only, no EL0"},
        ),
        _f("NSTable", 63, 63, "Non-secure table", "Secure walks only; ignored here."),
    ]
    names = {"DS0": "DS=0", "DS1": "DS=1 (FEAT_LPA2)", "LPA": "64KB with FEAT_LPA"}
    suffix = {"DS0": "", "DS1": "_DS1", "LPA": "_LPA"}[variant]
    return _layout(f"S1_TABLE{suffix}", f"Stage-1 table descriptor, {names[variant]}", fields)


def _leaf_common_low(stage: int, variant: str, page: bool) -> list[Field]:
    out = [_VALID, _type("page" if page else "table")]
    if stage == 1:
        out += [
            _f("AttrIndx", 4, 2, "MAIR index", "Selects the MAIR_ELx attribute byte."),
            _f("NS", 5, 5, "Non-secure", "Secure regimes only; ignored here."),
            _f(
                "AP",
                7,
                6,
                "Access permissions AP[2:1]",
                "bit 6 = AP[1] (EL0 access), bit 7 = AP[2] (read-only). EL2 regime: AP[1] "
                "is ignored (treated as 1).",
                {
                    0: "EL1 RW, EL0 none",
                    1: "EL1 RW, EL0 RW",
                    2: "EL1 RO, EL0 none",
                    3: "EL1 RO, EL0 RO",
                },
            ),
        ]
    else:
        out += [
            _f(
                "MemAttr", 5, 2, "Stage-2 memory attributes", "MemAttr[3:2]=00 Device, else Normal."
            ),
            _f(
                "S2AP",
                7,
                6,
                "Stage-2 access permissions",
                "bit 6 = read allowed, bit 7 = write allowed.",
                {0: "none", 1: "read-only", 2: "write-only", 3: "read/write"},
            ),
        ]
    if variant != "DS1":
        out.append(
            _f(
                "SH",
                9,
                8,
                "Shareability",
                "Output shareability (DS=0). With DS=1 these bits are OA[51:50].",
                _SH,
            )
        )
    out.append(_f("AF", 10, 10, "Access flag", "0 with HA=0 gives an Access flag fault."))
    if stage == 1:
        out.append(_f("nG", 11, 11, "Not global", "1 = the TLB entry is ASID-specific."))
    else:
        out.append(_f("FnXS", 11, 11, "FnXS", "FEAT_XS."))
    return out


def _leaf(stage: int, variant: str, page: bool) -> Layout:
    fields = _leaf_common_low(stage, variant, page)
    if page:
        addr_lo = 12
        if variant == "DS1":
            fields += [
                _f(
                    "OA",
                    49,
                    12,
                    "OA[49:12]",
                    _OA_HELP + " With DS=1 bits [49:48] are OA[49:48].",
                    kind="address",
                    lpa2="Bits [49:48] carry OA[49:48].",
                ),
                _f(
                    "OA_51_50",
                    9,
                    8,
                    "OA[51:50]",
                    "With DS=1: OA[51:50] (not SH).",
                    lpa2="OA[51:50].",
                ),
            ]
        elif variant == "LPA":
            fields += [
                _f("OA", 47, 16, "OA[47:16]", _OA_HELP, kind="address"),
                _f(
                    "OA_51_48",
                    15,
                    12,
                    "OA[51:48]",
                    "64KB with FEAT_LPA: OA[51:48].",
                    lpa2="OA[51:48].",
                ),
                _res0("RES0_49_48", 49, 48),
            ]
        else:
            fields += [
                _f("OA", 47, addr_lo, "OA[47:12]", _OA_HELP, kind="address"),
                _res0("RES0_49_48", 49, 48),
            ]
    else:
        nt = _f("nT", 16, 16, "Block translation hint", "FEAT_BBM (not modelled).")
        if variant == "DS1":
            fields += [
                _f(
                    "OA",
                    49,
                    17,
                    "OA[49:17]",
                    _OA_HELP + " With DS=1 bits [49:48] are OA[49:48].",
                    kind="address",
                    lpa2="Bits [49:48] carry OA[49:48].",
                ),
                _f(
                    "OA_51_50",
                    9,
                    8,
                    "OA[51:50]",
                    "With DS=1: OA[51:50] (not SH).",
                    lpa2="OA[51:50].",
                ),
                nt,
                _res0("RES0_15_12", 15, 12),
            ]
        elif variant == "LPA":
            fields += [
                _f("OA", 47, 17, "OA[47:17]", _OA_HELP, kind="address"),
                nt,
                _f(
                    "OA_51_48",
                    15,
                    12,
                    "OA[51:48]",
                    "64KB with FEAT_LPA: OA[51:48].",
                    lpa2="OA[51:48].",
                ),
                _res0("RES0_49_48", 49, 48),
            ]
        else:
            fields += [
                _f("OA", 47, 17, "OA[47:17]", _OA_HELP, kind="address"),
                nt,
                _res0("RES0_15_12", 15, 12),
                _res0("RES0_49_48", 49, 48),
            ]
    if stage == 1:
        fields += [
            _f("GP", 50, 50, "Guarded page", "FEAT_BTI."),
            _f("DBM", 51, 51, "Dirty bit modifier", "With HA=HD=1 a write clears AP[2] (dirty)."),
            _f(
                "Contiguous",
                52,
                52,
                "Contiguous hint",
                "Part of a contiguous run (ignored at new block levels).",
            ),
            _f(
                "PXN",
                53,
                53,
                "Privileged execute-never",
                "EL1 (EL2 in EL2&0) cannot execute. RES0 in the EL2 regime.",
            ),
            _f(
                "UXN",
                54,
                54,
                "Unprivileged execute-never / XN",
                "EL0 cannot execute; XN in the EL2 regime.",
            ),
            _f("SW", 58, 55, "Software use", "Ignored by hardware."),
            _f("PBHA", 62, 59, "Page-based hardware attributes", "Ignored unless HWU bits set."),
            _f("IGN_63", 63, 63, "Ignored", "Ignored."),
        ]
    else:
        fields += [
            _res0("RES0_50", 50, 50),
            _f("DBM", 51, 51, "Dirty bit modifier", "With VTCR_EL2.HA=HD=1 a write sets S2AP[1]."),
            _f("Contiguous", 52, 52, "Contiguous hint", "Part of a contiguous run."),
            _f(
                "XNX",
                53,
                53,
                "XNX (FEAT_XNX)",
                "With XN: 00 all exec, 01 EL0 only, 10 none, 11 EL1 only.",
            ),
            _f("XN", 54, 54, "Execute-never", "Without FEAT_XNX: 1 = no execution at EL1 or EL0."),
            _f("NS", 55, 55, "NS (Realm only)", "Ignored here."),
            _f("SW", 58, 56, "Software use", "Ignored by hardware."),
            _f("PBHA", 62, 59, "Page-based hardware attributes", "Ignored unless HWU bits set."),
            _f("IGN_63", 63, 63, "Ignored", "Ignored."),
        ]
    kind = "PAGE" if page else "BLOCK"
    suffix = {"DS0": "", "DS1": "_DS1", "LPA": "_LPA"}[variant]
    names = {"DS0": "DS=0", "DS1": "DS=1 (FEAT_LPA2)", "LPA": "64KB with FEAT_LPA"}
    return _layout(
        f"S{stage}_{kind}{suffix}",
        f"Stage-{stage} {kind.lower()} descriptor, {names[variant]}",
        fields,
    )


def _s2_table(variant: str) -> Layout:
    addr = _addr_fields(variant, "NLTA", 12)
    fields = [_VALID, _type("table"), *addr]
    if variant == "DS1":
        fields += [
            _f("IGN_7_2", 7, 2, "Ignored", "Ignored."),
            _f("IGN_11_10", 11, 10, "Ignored", "Ignored."),
        ]
    else:
        fields += [_f("IGN_11_2", 11, 2, "Ignored", "Ignored."), _res0("RES0_51_48", 51, 48)]
    fields += [
        _f("IGN_58_52", 58, 52, "Ignored", "Ignored by hardware."),
        _res0("RES0_63_59", 63, 59, "Stage-2 tables carry no hierarchical attributes."),
    ]
    names = {"DS0": "DS=0", "DS1": "DS=1 (FEAT_LPA2)", "LPA": "64KB with FEAT_LPA"}
    suffix = {"DS0": "", "DS1": "_DS1", "LPA": "_LPA"}[variant]
    return _layout(f"S2_TABLE{suffix}", f"Stage-2 table descriptor, {names[variant]}", fields)


S1_TABLE = _s1_table("DS0")
S1_TABLE_DS1 = _s1_table("DS1")
S1_TABLE_LPA = _s1_table("LPA")
S2_TABLE = _s2_table("DS0")
S2_TABLE_DS1 = _s2_table("DS1")
S2_TABLE_LPA = _s2_table("LPA")

_DESCS = {}
for _stage in (1, 2):
    for _variant in ("DS0", "DS1", "LPA"):
        for _page in (False, True):
            _lay = _leaf(_stage, _variant, _page)
            _DESCS[_lay.name] = _lay

S1_BLOCK = _DESCS["S1_BLOCK"]
S1_BLOCK_DS1 = _DESCS["S1_BLOCK_DS1"]
S1_BLOCK_LPA = _DESCS["S1_BLOCK_LPA"]
S1_PAGE = _DESCS["S1_PAGE"]
S1_PAGE_DS1 = _DESCS["S1_PAGE_DS1"]
S1_PAGE_LPA = _DESCS["S1_PAGE_LPA"]
S2_BLOCK = _DESCS["S2_BLOCK"]
S2_BLOCK_DS1 = _DESCS["S2_BLOCK_DS1"]
S2_BLOCK_LPA = _DESCS["S2_BLOCK_LPA"]
S2_PAGE = _DESCS["S2_PAGE"]
S2_PAGE_DS1 = _DESCS["S2_PAGE_DS1"]
S2_PAGE_LPA = _DESCS["S2_PAGE_LPA"]

LAYOUTS: dict[str, Layout] = {
    lay.name: lay
    for lay in (
        TCR_EL1,
        TCR_EL2,
        TCR_EL2_E2H,
        VTCR_EL2,
        TTBR,
        TTBR_52,
        TTBR0_EL2,
        TTBR0_EL2_52,
        VTTBR_EL2,
        VTTBR_EL2_52,
        HCR_EL2,
        SCTLR,
        MAIR,
        PAR_EL1,
        PAR_EL1_FAULT,
        ESR_ELx,
        ESR_ISS_DA,
        ESR_ISS_IA,
        FAR_ELx,
        HPFAR_EL2,
        ID_AA64MMFR0,
        ID_AA64MMFR1,
        ID_AA64MMFR2,
        S1_TABLE,
        S1_TABLE_DS1,
        S1_TABLE_LPA,
        S2_TABLE,
        S2_TABLE_DS1,
        S2_TABLE_LPA,
        *_DESCS.values(),
    )
}


def descriptor_layout(stage: int, kind: str, variant: str) -> Layout:
    """The layout for a descriptor: ``kind`` in table/block/page, ``variant`` DS0/DS1/LPA."""
    suffix = {"DS0": "", "DS1": "_DS1", "LPA": "_LPA"}[variant]
    return LAYOUTS[f"S{stage}_{kind.upper()}{suffix}"]
