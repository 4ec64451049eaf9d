"""Memory attributes: MAIR bytes, stage-2 MemAttr, the two-stage combination, and the records
a walk reports them in (``Stage1Attributes``, ``Stage2Attributes``, ``CombinedAttributes``,
``OutputAttributes`` for a disabled stage 1)."""

from __future__ import annotations

from dataclasses import dataclass

SH_NAMES = {0: "Non-shareable", 1: "Reserved", 2: "Outer Shareable", 3: "Inner Shareable"}
DEVICE_TYPES = {0: "Device-nGnRnE", 1: "Device-nGnRE", 2: "Device-nGRE", 3: "Device-GRE"}


def is_device(attr: int) -> bool:
    return attr & 0xF0 == 0


def _nibble(n: int) -> str:
    if n == 0b0100:
        return "Non-cacheable"
    kind = "Write-Back" if n & 0b0100 else "Write-Through"
    transient = "" if n & 0b1000 else " transient"
    alloc = {0: "no allocate", 1: "W-allocate", 2: "R-allocate", 3: "RW-allocate"}[n & 3]
    if n & 0b1100 == 0 and n & 3 == 0:
        return "UNPREDICTABLE"
    return f"{kind}{transient}, {alloc}"


def describe_mair(attr: int) -> str:
    """Human description of a MAIR attribute byte."""
    if is_device(attr):
        if attr & 0b11:
            return f"UNPREDICTABLE device encoding {attr:#04x}"
        return DEVICE_TYPES[(attr >> 2) & 3]
    if attr == 0xF0:
        return "Tagged Normal, Inner/Outer Write-Back (FEAT_MTE2)"
    outer, inner = attr >> 4, attr & 0xF
    if inner == 0:
        return f"UNPREDICTABLE normal encoding {attr:#04x}"
    return f"Normal, Outer {_nibble(outer)}; Inner {_nibble(inner)}"


def is_non_cacheable(attr: int) -> bool:
    return not is_device(attr) and attr >> 4 == 0b0100 and attr & 0xF == 0b0100


def s2_memattr_to_attr(memattr: int) -> int:
    """Stage-2 MemAttr[3:0] (HCR_EL2.FWB=0) as a MAIR-style byte."""
    hi, lo = memattr >> 2, memattr & 3
    if hi == 0:
        return lo << 2

    def nib(v: int) -> int:
        return {1: 0b0100, 2: 0b1011, 3: 0b1111}.get(v, 0b0100)

    return (nib(hi) << 4) | nib(lo)


# s2_memattr_to_attr of every MemAttr value, for code that converts many.
S2_MEMATTR_BYTES = tuple(s2_memattr_to_attr(m) for m in range(16))


def describe_s2_memattr(memattr: int) -> str:
    hi, lo = memattr >> 2, memattr & 3
    if hi == 0:
        return DEVICE_TYPES[lo]
    names = {0: "reserved", 1: "Non-cacheable", 2: "Write-Through", 3: "Write-Back"}
    return f"Normal, Outer {names[hi]}, Inner {names[lo]}"


def _combine_nibble(s1: int, s2: int) -> int:
    if s1 == 0b0100 or s2 == 0b0100:
        return 0b0100
    if s1 >> 2 in (0b00, 0b10):  # stage 1 Write-Through
        return s1
    if s2 >> 2 == 0b10:  # stage 2 Write-Through, allocation hints from stage 1
        return 0b1000 | (s1 & 3)
    return s1


def combine_attrs(s1: int, s2: int) -> int:
    """Combine a stage-1 MAIR byte with a stage-2 MAIR-style byte (HCR_EL2.FWB=0,
    S2CombineS1MemAttrs): Device wins over Normal, the more restrictive Device type wins,
    Non-cacheable wins over Write-Through over Write-Back, allocation hints from stage 1."""
    if is_device(s1) or is_device(s2):
        types = [(a >> 2) & 3 for a in (s1, s2) if is_device(a)]
        return min(types) << 2
    return (_combine_nibble(s1 >> 4, s2 >> 4) << 4) | _combine_nibble(s1 & 0xF, s2 & 0xF)


# -- HCR_EL2.FWB=1 (FEAT_S2FWB): stage-2 MemAttr overrides stage 1 ------------------------------
#
# AArch64.S2ApplyFWBMemAttrs: MemAttr[2]=0 is Device of type MemAttr[1:0] (combined with a
# Device stage 1: the more restrictive type); MemAttr[2:0]=0b111 keeps stage 1's attributes;
# 0b110 forces Normal Write-Back (stage 1's allocation and transient hints where stage 1 is
# Normal cacheable, RW-allocate non-transient otherwise); 0b101 (and the reserved 0b100, which
# the pseudocode reads the same way) is Normal Non-cacheable unless stage 1 is Device, which
# is kept. MemAttr[3] is RES0 and not looked at.

FWB_MEANINGS = {
    0b00: "Device-nGnRnE",
    0b01: "Device-nGnRE",
    0b10: "Device-nGRE",
    0b11: "Device-GRE",
    0b100: "Normal Non-cacheable unless stage 1 is Device (0b100 is reserved: read as 0b101)",
    0b101: "Normal Non-cacheable unless stage 1 is Device",
    0b110: "Normal Write-Back, forced (allocation hints from stage 1)",
    0b111: "stage 1's attributes",
}


def _forced_write_back(n: int) -> int:
    """A MAIR nibble made Write-Back: its hints kept when it is cacheable, RW-allocate
    non-transient when it is Non-cacheable (or the UNPREDICTABLE 0b0000)."""
    if n == 0b0100 or n == 0:
        return 0b1111
    return n | 0b0100


def fwb_combine(s1: int, memattr: int) -> int:
    """The memory type of a two-stage translation with HCR_EL2.FWB=1, as a MAIR byte."""
    if not memattr & 0b100:
        device = memattr & 3
        return min((s1 >> 2) & 3, device) << 2 if is_device(s1) else device << 2
    low = memattr & 3
    if low == 0b11:
        return s1
    if low == 0b10:
        if is_device(s1):
            return 0xFF
        return (_forced_write_back(s1 >> 4) << 4) | _forced_write_back(s1 & 0xF)
    return s1 if is_device(s1) else 0x44


# The byte a stage-2 leaf stands for on its own under FWB (stage 1 taken as Normal WB).
S2_FWB_BYTES = tuple(fwb_combine(0xFF, m) for m in range(16))
NORMAL_NC = 0x44


def two_stage_attr(s1: int, memattr: int, fwb: bool, cd: bool) -> int:
    """The memory type of a two-stage translation: stage 1's MAIR byte and stage 2's
    MemAttr[3:0] combined (AArch64.S2Translate). HCR_EL2.CD=1 makes what stage 2 gives as
    Normal memory Non-cacheable for data accesses: before the combination with FWB=0, on the
    FWB result with FWB=1 (S2DCacheEnabled)."""
    if fwb:
        attr = fwb_combine(s1, memattr)
        return NORMAL_NC if cd and not is_device(attr) else attr
    s2 = S2_MEMATTR_BYTES[memattr]
    if cd and not is_device(s2):
        s2 = NORMAL_NC
    return combine_attrs(s1, s2)


def combine_sh(sh1: int, sh2: int) -> int:
    if 2 in (sh1, sh2):
        return 2
    if 3 in (sh1, sh2):
        return 3
    return 0


def par_sh(attr: int, sh: int) -> int:
    """PAR_EL1.SH: 0b10 for Device or Normal Non-cacheable memory, else the shareability."""
    if not attr & 0xF0 or attr == 0x44:  # Device, or Normal Inner/Outer Non-cacheable
        return 0b10
    return sh


# -- the attributes of a translation, as records ---------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OutputAttributes:
    """What the memory system is told about the output address: the memory type (as a
    MAIR-style attribute byte) and the shareability, with where the shareability came from.
    On its own this is the output of a disabled stage 1 (a flat mapping)."""

    attr: int
    sh: int
    sh_origin: str

    @property
    def memory_type(self) -> str:
        return describe_mair(self.attr)

    @property
    def sh_name(self) -> str:
        return SH_NAMES[self.sh]

    @property
    def device(self) -> bool:
        return is_device(self.attr)

    def to_dict(self) -> dict:
        return {
            "attr": self.attr,
            "memory_type": self.memory_type,
            "sh": self.sh,
            "sh_origin": self.sh_origin,
        }


@dataclass(frozen=True, kw_only=True)
class LeafAttributes(OutputAttributes):
    """The attributes one stage's leaf descriptor (block or page) gives."""

    stage: int
    leaf_level: int
    leaf_kind: str  # "block" | "page"
    block_size: int  # bytes the leaf maps
    af: int
    contiguous: bool  # the Contiguous bit, when it counts at this level
    dbm: int

    def to_dict(self) -> dict:
        return {
            "attr": self.attr,
            "memory_type": self.memory_type,
            "device": self.device,
            "sh": self.sh,
            "sh_name": self.sh_name,
            "sh_origin": self.sh_origin,
            "af": self.af,
            "contiguous": self.contiguous,
            "dbm": self.dbm,
            "block_size": self.block_size,
            "leaf_level": self.leaf_level,
            "leaf_kind": self.leaf_kind,
        }


@dataclass(frozen=True, kw_only=True)
class Stage1Attributes(LeafAttributes):
    """A stage-1 leaf: the memory type is ``mair``'s byte ``AttrIndx``."""

    attr_index: int
    mair: str  # "MAIR_EL1" | "MAIR_EL2"
    ng: int
    gp: int

    def to_dict(self) -> dict:
        return {
            "attr_index": self.attr_index,
            "mair": self.mair,
            **super().to_dict(),
            "ng": self.ng,
            "gp": self.gp,
        }


@dataclass(frozen=True, kw_only=True)
class Stage2Attributes(LeafAttributes):
    """A stage-2 leaf: its MemAttr[3:0] and how it reads with HCR_EL2.FWB (``fwb``); with
    FWB=0 ``attr`` is the MAIR-style byte it stands for, with FWB=1 the byte it gives over a
    Normal Write-Back stage 1 (``memory_type`` says what it does to stage 1). ``cd``:
    HCR_EL2.CD=1 makes what it gives as Normal memory Non-cacheable."""

    memattr: int
    fwb: bool = False
    cd: bool = False

    @property
    def memory_type(self) -> str:
        if self.fwb:
            return "FWB: " + FWB_MEANINGS[self.memattr & 0b111]
        return describe_s2_memattr(self.memattr)

    @property
    def memattr_rule(self) -> str:
        """How MemAttr is read: the HCR_EL2 bits that decide it."""
        if self.fwb:
            text = (
                f"HCR_EL2.FWB=1: MemAttr[2:0]={self.memattr & 7:#05b} overrides stage 1 "
                f"({FWB_MEANINGS[self.memattr & 0b111]})"
            )
        else:
            text = f"HCR_EL2.FWB=0: MemAttr={self.memattr:#06b} is stage 2's own memory type"
        if self.cd:
            text += "; HCR_EL2.CD=1: Normal memory is Non-cacheable for data accesses"
        return text

    def to_dict(self) -> dict:
        return {
            "memattr": self.memattr,
            **super().to_dict(),
            "fwb_applied": self.fwb,
            "cd_applied": self.cd,
            "memattr_rule": self.memattr_rule,
        }


@dataclass(frozen=True, kw_only=True)
class CombinedAttributes(OutputAttributes):
    """Stage 1 and stage 2 combined (AArch64.S2Translate): the memory type by
    S2CombineS1MemAttrs (FWB=0: the more restrictive wins) or S2ApplyFWBMemAttrs (FWB=1:
    stage 2 overrides), then HCR_EL2.CD; the more shareable of the two shareabilities.
    ``steps`` says which rules gave the result, in order."""

    stage1: OutputAttributes
    stage2: Stage2Attributes
    steps: tuple[str, ...] = ()

    @property
    def combine_note(self) -> str:
        return "; ".join(self.steps)

    def to_dict(self) -> dict:
        return {
            "stage1": self.stage1.to_dict(),
            "stage2": self.stage2.to_dict(),
            "attr": self.attr,
            "memory_type": self.memory_type,
            "sh": self.sh,
            "sh_name": self.sh_name,
            "sh_origin": self.sh_origin,
            "combine_note": self.combine_note,
            "steps": list(self.steps),
        }


def _combine_steps(stage1: OutputAttributes, stage2: Stage2Attributes, attr: int) -> list[str]:
    s1, m = stage1.attr, stage2.memattr
    if stage2.fwb:
        step = f"HCR_EL2.FWB=1, MemAttr[2:0]={m & 7:#05b}: "
        if not m & 0b100:
            step += "stage 2 forces Device" + (
                " (the more restrictive of the two Device types)" if is_device(s1) else ""
            )
        elif m & 3 == 0b11:
            step += "stage 1's attributes are used"
        elif m & 3 == 0b10:
            step += "Normal Write-Back is forced" + (
                " (stage 1 is Device: RW-allocate)" if is_device(s1) else ", hints from stage 1"
            )
        else:
            step += (
                "stage 1 is Device and stays Device"
                if is_device(s1)
                else "Normal Non-cacheable is forced"
            )
        steps = [step]
    else:
        steps = ["HCR_EL2.FWB=0: the more restrictive memory type of the two stages wins"]
    if stage2.cd:
        if is_device(attr):
            steps.append("HCR_EL2.CD=1 has no effect on Device memory")
        else:
            steps.append("HCR_EL2.CD=1: Normal memory is Non-cacheable for data accesses")
    return steps


def combine(stage1: OutputAttributes, stage2: Stage2Attributes) -> CombinedAttributes:
    """The attributes of a two-stage translation."""
    attr = two_stage_attr(stage1.attr, stage2.memattr, stage2.fwb, stage2.cd)
    return CombinedAttributes(
        attr=attr,
        sh=combine_sh(stage1.sh, stage2.sh),
        sh_origin="stage 1 and stage 2 combined (more shareable wins)",
        stage1=stage1,
        stage2=stage2,
        steps=tuple(_combine_steps(stage1, stage2, attr)),
    )


# Stage 1 disabled (AArch64.S1DisabledOutput): what a data access is given.
FLAT_DEVICE = OutputAttributes(
    attr=0x00, sh=2, sh_origin="stage 1 disabled: Device-nGnRnE, Outer Shareable"
)
FLAT_DC = OutputAttributes(
    attr=0xFF,
    sh=0,
    sh_origin="HCR_EL2.DC=1: stage 1 disabled gives Normal Write-Back RW-allocate, Non-shareable",
)
