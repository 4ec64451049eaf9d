"""Fault kinds, the 6-bit fault status codes (FSC) and the Fault record."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum


class FaultKind(StrEnum):
    TRANSLATION = "translation"
    ADDRESS_SIZE = "address_size"
    ACCESS_FLAG = "access_flag"
    PERMISSION = "permission"
    SEA_WALK = "sea_walk"


# Base codes for levels 0..3 and the level -1 code (FEAT_LPA2), per EncodeLDFSC.
_FSC_BASE = {
    FaultKind.ADDRESS_SIZE: (0x00, 0x29),
    FaultKind.TRANSLATION: (0x04, 0x2B),
    FaultKind.ACCESS_FLAG: (0x08, None),
    FaultKind.PERMISSION: (0x0C, None),
    FaultKind.SEA_WALK: (0x14, 0x13),
}


def fsc_for(kind: FaultKind, level: int) -> int:
    base, minus1 = _FSC_BASE[kind]
    if level == -1:
        if minus1 is None:
            raise ValueError(f"{kind.value} faults cannot be reported at level -1")
        return minus1
    if not 0 <= level <= 3:
        raise ValueError(f"bad level {level}")
    return base + level


def _level_codes() -> dict[int, str]:
    names: dict[int, str] = {}
    groups = [
        (0x00, 0x29, 0x2C, "Address size fault"),
        (0x04, 0x2B, 0x2A, "Translation fault"),
        (0x08, None, None, "Access flag fault"),
        (0x0C, None, None, "Permission fault"),
        (0x14, 0x13, 0x12, "Synchronous External abort on translation table walk"),
        (0x1C, 0x1B, 0x1A, "Synchronous parity or ECC error on translation table walk"),
        (0x24, 0x23, 0x22, "Granule Protection Fault on translation table walk"),
    ]
    for base, m1, m2, text in groups:
        for lvl in range(4):
            suffix = " (or TTBR base)" if base == 0x00 and lvl == 0 else ""
            names[base + lvl] = f"{text}, level {lvl}{suffix}"
        if m1 is not None:
            names[m1] = f"{text}, level -1 (FEAT_LPA2)"
        if m2 is not None:
            names[m2] = f"{text}, level -2 (FEAT_D128)"
    names.update(
        {
            0x10: "Synchronous External abort, not on translation table walk",
            0x11: "Synchronous Tag Check Fault",
            0x18: "Synchronous parity or ECC error on memory access, not on walk",
            0x21: "Alignment fault",
            0x28: "Granule Protection Fault, not on translation table walk",
            0x30: "TLB conflict abort",
            0x31: "Unsupported atomic hardware update fault",
            0x34: "IMPLEMENTATION DEFINED fault (Lockdown)",
            0x35: "IMPLEMENTATION DEFINED fault (Unsupported Exclusive or Atomic access)",
        }
    )
    return names


FSC_NAMES: dict[int, str] = _level_codes()


def fsc_name(code: int) -> str:
    """Name of a 6-bit fault status code (DFSC/IFSC/PAR.FST)."""
    if not 0 <= code < 64:
        raise ValueError(f"FSC {code:#x} is not a 6-bit value")
    return FSC_NAMES.get(code, f"Reserved / unknown fault status code {code:#04x}")


@dataclass
class Fault:
    kind: FaultKind
    level: int
    stage: int
    s1ptw: bool
    fsc: int
    message: str
    fix: str
    rule: str

    @property
    def fsc_name(self) -> str:
        return fsc_name(self.fsc)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["kind"] = self.kind.value
        d["fsc_name"] = self.fsc_name
        d["fsc_hex"] = f"{self.fsc:#04x}"
        return d


def make_fault(
    kind: FaultKind,
    level: int,
    stage: int,
    rule: str,
    message: str,
    fix: str,
    s1ptw: bool = False,
) -> Fault:
    return Fault(kind, level, stage, s1ptw, fsc_for(kind, level), message, fix, rule)
