"""What a translation leaves in the system registers: PAR_EL1 after an AT instruction, and for
a faulting access the exception syndrome (ESR_ELx), the fault address (FAR_ELx) and, for a
stage-2 fault, the faulting IPA (HPFAR_EL2). Every value is built with the field tables of
``model.arch.fields``, so the decoder decodes exactly what is encoded here.
"""

from __future__ import annotations

from dataclasses import dataclass

from .attrs import par_sh
from .faults import Fault
from .fields import (
    EC_DATA_ABORT_LOWER,
    EC_DATA_ABORT_SAME,
    EC_INSTRUCTION_ABORT_LOWER,
    EC_INSTRUCTION_ABORT_SAME,
    ESR_ISS_DA,
    ESR_ISS_IA,
    HPFAR_EL2,
    PAR_EL1,
    PAR_EL1_FAULT,
    ESR_ELx,
)
from .regime import Access, Regime

# -- PAR_EL1 ----------------------------------------------------------------------------------


# PAR_EL1 (F=0) as shifts and masks compiled from its field table.
_PAR_OK = PAR_EL1.encode(F=0, NS=0, RES1_11=1)
_PAR_SH_SHIFT = PAR_EL1.shift_mask("SH")[0]
_PAR_ATTR_SHIFT = PAR_EL1.shift_mask("ATTR")[0]
_PAR_PA_MASK = PAR_EL1.field("PA").mask


_PAR_NS = PAR_EL1.encode(NS=1)


def par_success(pa: int, attr: int, sh: int, ns: int = 0) -> int:
    """PAR_EL1 after an AT that translated to ``pa`` (F=0): PA[51:12], the attribute byte,
    the shareability (reported as Outer Shareable for Device and Normal Non-cacheable
    memory), NS (``ns``: UNKNOWN for a Non-secure regime, see ``Choices.par_ns``) and bit 11
    (RES1) set, as QEMU does."""
    return (
        _PAR_OK
        | (par_sh(attr, sh) << _PAR_SH_SHIFT)
        | (pa & _PAR_PA_MASK)
        | ((attr & 0xFF) << _PAR_ATTR_SHIFT)
        | (_PAR_NS if ns else 0)
    )


def par_fault(fault: Fault) -> int:
    """PAR_EL1 after an AT that faulted (F=1): FST is the fault status code, PTW says the
    fault came from stage 2 while walking stage 1's tables, S that it came from stage 2."""
    return PAR_EL1_FAULT.encode(
        F=1, FST=fault.fsc, PTW=int(fault.s1ptw), S=int(fault.stage == 2), RES1_11=1
    )


# -- the exception an access would take -----------------------------------------------------------


@dataclass(frozen=True)
class Syndrome:
    """The registers an exception for a translation fault is reported in."""

    target_el: int  # the exception level the abort is taken to
    esr: int  # the whole ESR_ELx value
    far: int | None  # FAR_ELx: the faulting VA (None when the walk started from an IPA)
    hpfar: int | None  # HPFAR_EL2 for a stage-2 fault, else None (not written)

    @property
    def ec(self) -> int:
        return ESR_ELx.get(self.esr, "EC")

    @property
    def iss(self) -> int:
        return ESR_ELx.get(self.esr, "ISS")

    @property
    def iss_layout(self) -> str:
        """The field table of the ISS: ESR_ISS_DA or ESR_ISS_IA."""
        return "ESR_ISS_IA" if self.ec in (0x20, 0x21) else "ESR_ISS_DA"

    @property
    def ec_name(self) -> str:
        return ESR_ELx.field("EC").meaning(self.ec)

    def iss_fields(self) -> list[tuple[str, int, int, int, str]]:
        """The ISS decoded with its field table: (name, hi, lo, value, meaning) for every field
        that is not RES0."""
        layout = ESR_ISS_IA if self.iss_layout == "ESR_ISS_IA" else ESR_ISS_DA
        return [row for row in layout.rows(self.iss) if not row[0].startswith("RES")]

    # The ISS fields an abort always reports: the status code, and whether the fault came from
    # a stage-1 table walk (S1PTW) and whether it was a write (WnR, Data Aborts).
    KEY_ISS_FIELDS = ("DFSC", "IFSC", "WnR", "S1PTW")

    def key_iss_fields(self) -> list[tuple[str, int]]:
        """The ISS fields worth a line: the key ones, and any other that is set."""
        return [
            (name, value)
            for name, _hi, _lo, value, _meaning in self.iss_fields()
            if name in self.KEY_ISS_FIELDS or value
        ]

    def to_dict(self) -> dict:
        """The syndrome decoded with the field tables: where the abort goes, ESR_ELx whole and
        by field (EC and its name, IL, every ISS field), FAR and HPFAR_EL2 with its FIPA."""
        return {
            "target_el": self.target_el,
            "esr": self.esr,
            "ec": self.ec,
            "ec_name": self.ec_name,
            "il": ESR_ELx.get(self.esr, "IL"),
            "iss": self.iss,
            "iss_layout": self.iss_layout,
            "iss_fields": {name: value for name, _hi, _lo, value, _m in self.iss_fields()},
            "far": self.far,
            "hpfar": self.hpfar,
            "fipa": self.fipa,
        }

    @property
    def fipa(self) -> int | None:
        """HPFAR_EL2.FIPA: the faulting IPA's bits [51:12], for a stage-2 fault."""
        return None if self.hpfar is None else HPFAR_EL2.get(self.hpfar, "FIPA")


def target_el(fault: Fault, regime: str, tge: bool) -> int:
    """Where the abort is taken. Stage-2 faults (S1PTW ones included) go to EL2, which owns
    stage 2. Stage-1 faults go to the level that owns the regime: EL2 for EL2 and EL2&0, EL1
    for EL1&0 unless HCR_EL2.TGE=1 routes them to EL2."""
    if fault.stage == 2 or regime in (Regime.EL2.value, Regime.EL20.value):
        return 2
    return 2 if tge else 1


def exception_class(access: Access, to_el: int) -> int:
    """EC: an Instruction Abort for an instruction fetch, a Data Abort otherwise; "from a
    lower EL" when the access was made below the level the abort is taken to, "same EL"
    (taken without a change of level) otherwise."""
    lower = access.el < to_el
    if access.execute:
        return EC_INSTRUCTION_ABORT_LOWER if lower else EC_INSTRUCTION_ABORT_SAME
    return EC_DATA_ABORT_LOWER if lower else EC_DATA_ABORT_SAME


def abort_iss(fault: Fault, access: Access) -> int:
    """ISS of the Data or Instruction Abort: the fault status code, S1PTW, and for data WnR.
    What the model cannot know is 0: ISV (no instruction syndrome), EA (not an external
    abort), CM (not a cache maintenance instruction), FnV (FAR is valid)."""
    if access.execute:
        return ESR_ISS_IA.encode(IFSC=fault.fsc, S1PTW=int(fault.s1ptw))
    return ESR_ISS_DA.encode(DFSC=fault.fsc, WnR=int(fault.wnr), S1PTW=int(fault.s1ptw))


def hpfar(ipa: int) -> int:
    """HPFAR_EL2 for a stage-2 fault on ``ipa``: FIPA = IPA[51:12]."""
    return HPFAR_EL2.encode(FIPA=(ipa >> 12) & ((1 << 40) - 1))


def exception_syndrome(
    fault: Fault, access: Access, regime: str, va: int | None, tge: bool = False
) -> Syndrome:
    """The syndrome an access that met ``fault`` would be reported with. ``va`` is the
    access's virtual address (None for a walk that started from an IPA)."""
    to_el = target_el(fault, regime, tge)
    # IL=1: the aborts of AArch64 instructions are always reported as 32-bit instructions.
    esr = ESR_ELx.encode(EC=exception_class(access, to_el), IL=1, ISS=abort_iss(fault, access))
    stage2_ipa = fault.ipa if fault.stage == 2 else None
    return Syndrome(to_el, esr, va, None if stage2_ipa is None else hpfar(stage2_ipa))
