"""Whole explorer configurations: a regime, a CPU, an access, an input address, every register,
the descriptors the state sets and the origin of its background tables.

A ``Configuration`` is plain data, so a script, the CLI and the web service all start from the
same presets. Descriptor edits are stored as physical memory (address -> value) over the
background tables of ``tables`` (``model.explore.background``): a preset that needs, say, a
level-0 block writes that block at the address the walk reads for level 0. Changing a register
never changes memory; only "re-fill" (a new ``tables`` origin) does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from model.arch.cpu import CPU_PRESETS, Choices
from model.arch.fields import HCR_EL2, MAIR, SCTLR, TCR_EL1, TCR_EL2, VTCR_EL2, descriptor_layout
from model.arch.walker import Regime, WalkResult, walk
from model.explore.background import StateMemory, TablesOrigin, background_for
from model.explore.image import image_for

# The registers a configuration carries, in the order the explorer and links list them.
REGISTER_NAMES = (
    "TCR_EL1",
    "TTBR0_EL1",
    "TTBR1_EL1",
    "MAIR_EL1",
    "SCTLR_EL1",
    "TCR_EL2",
    "TTBR0_EL2",
    "TTBR1_EL2",
    "MAIR_EL2",
    "SCTLR_EL2",
    "VTCR_EL2",
    "VTTBR_EL2",
    "HCR_EL2",
)

# Attr0 Normal write-back, Attr1 Device-nGnRE, Attr2 Normal non-cacheable.
_MAIR = MAIR.encode(Attr0=0xFF, Attr1=0x04, Attr2=0x44)
_SCTLR_ON = SCTLR.encode(M=1, C=1, I=1)
_WALK_CACHEABLE = {"IRGN0": 1, "ORGN0": 1, "SH0": 0b11}

# 4KB granule, 48-bit VA in both halves, 48-bit IPA: the classic Linux configuration.
_TCR_EL1_4K48 = TCR_EL1.encode(
    T0SZ=16,
    TG0=0b00,
    T1SZ=16,
    TG1=0b10,  # TG1 encodes 4KB as 0b10 (TG0 uses 0b00)
    IPS=0b101,
    IRGN1=1,
    ORGN1=1,
    SH1=0b11,
    **_WALK_CACHEABLE,
)
_TCR_EL2_4K48 = TCR_EL2.encode(T0SZ=16, TG0=0b00, PS=0b101, **_WALK_CACHEABLE)
# Stage 2: 40-bit IPA starting at level 1 with two concatenated tables (SL0=0b01).
_VTCR_4K40 = VTCR_EL2.encode(T0SZ=24, SL0=0b01, TG0=0b00, PS=0b101, **_WALK_CACHEABLE)

BASE_REGISTERS: Mapping[str, int] = MappingProxyType(
    {
        "TCR_EL1": _TCR_EL1_4K48,
        "TTBR0_EL1": 0x0000_0000_4123_4000,
        "TTBR1_EL1": 0x0000_0000_4125_6000,
        "MAIR_EL1": _MAIR,
        "SCTLR_EL1": _SCTLR_ON,
        "TCR_EL2": _TCR_EL2_4K48,
        "TTBR0_EL2": 0x0000_0000_4130_0000,
        "TTBR1_EL2": 0x0000_0000_4132_0000,
        "MAIR_EL2": _MAIR,
        "SCTLR_EL2": _SCTLR_ON,
        "VTCR_EL2": _VTCR_4K40,
        "VTTBR_EL2": 0x0000_0000_4140_0000,
        "HCR_EL2": HCR_EL2.encode(RW=1),
    }
)

DEFAULT_ADDRESS = 0x0000_1234_5678_9ABC


@dataclass(frozen=True)
class Configuration:
    """Everything a walk needs, as data."""

    slug: str
    title: str
    summary: str
    regime: str = Regime.EL10.value
    cpu: str = "max"
    access: str = "el1r"
    address: int = DEFAULT_ADDRESS
    registers: Mapping[str, int] = field(default_factory=lambda: dict(BASE_REGISTERS))
    memory: Mapping[int, int] = field(default_factory=dict)
    choices: Choices = field(default_factory=Choices)
    # What the background tables were built for; None: this configuration's own registers.
    tables: TablesOrigin | None = None
    # The sha256 of the memory image that replaces the background tables (model.explore.image).
    image: str | None = None

    @property
    def tables_origin(self) -> TablesOrigin:
        return self.tables or TablesOrigin(dict(self.registers), self.cpu, self.regime)

    def with_registers(self, **changes: int) -> Configuration:
        return replace(self, registers={**self.registers, **changes})

    def with_memory(self, changes: Mapping[int, int]) -> Configuration:
        return replace(self, memory={**self.memory, **changes})

    def refilled(self) -> Configuration:
        """The same state with background tables built for its current registers and CPU."""
        return replace(self, tables=TablesOrigin(dict(self.registers), self.cpu, self.regime))


def state_memory(config: Configuration) -> StateMemory:
    """The memory a configuration's walk reads: its set descriptors over its background (the
    memory image it names, if any; raises ``ImageNeeded`` when that image is not open)."""
    if config.image is not None:
        return StateMemory(config.memory, image_for(config.image))
    return StateMemory(config.memory, background_for(config.tables_origin))


def run(config: Configuration) -> WalkResult:
    """Walk a configuration over its memory (set descriptors over the background tables)."""
    return walk(
        config.regime,
        config.registers,
        state_memory(config),
        config.address,
        config.access,
        cpu=CPU_PRESETS[config.cpu],
        choices=config.choices,
    )


def edit_descriptor(
    config: Configuration, stage: int, level: int, change: Callable[[int, str], int]
) -> Configuration:
    """Replace the descriptor the walk reads at (stage, level) of the main walk.

    ``change(value, variant)`` receives the descriptor the walk currently reads there and the
    descriptor format variant (DS0/DS1/LPA) and returns the new value.
    """
    result = run(config)
    for read in result.levels:
        if read.stage == stage and read.level == level and read.desc_address is not None:
            params = result.params["s1" if stage == 1 else "s2"]
            value = change(read.raw or 0, params.desc_variant)
            return config.with_memory({read.desc_address: value})
    raise ValueError(f"{config.slug}: the walk reads no stage-{stage} level-{level} descriptor")


def _make_block(stage: int, level_bits: int, oa: int) -> Callable[[int, str], int]:
    """A block descriptor mapping ``oa`` (AF=1, RW, normal memory) in the walk's format."""

    def change(_value: int, variant: str) -> int:
        from model.arch.descriptors import encode_address

        layout = descriptor_layout(stage, "block", variant)
        value = encode_address(oa, layout, variant, level_bits) | 0b01
        value = layout.set(value, "AF", 1)
        if stage == 1:
            return layout.set(value, "AP", 0b01)
        return layout.set(layout.set(value, "S2AP", 0b11), "MemAttr", 0b1111)

    return change


def _set_field(stage: int, kind: str, name: str, v: int) -> Callable[[int, str], int]:
    def change(value: int, variant: str) -> int:
        return descriptor_layout(stage, kind, variant).set(value, name, v)

    return change


def _clear_bits(mask: int) -> Callable[[int, str], int]:
    return lambda value, _variant: value & ~mask


def _set_bits(mask: int) -> Callable[[int, str], int]:
    return lambda value, _variant: value | mask


def _own_tables(config: Configuration) -> Configuration:
    return config.refilled()


def preset(config: Configuration, **changes) -> Configuration:
    """A preset: ``config`` with ``changes``, whose background tables are built for its own
    registers (so that the preset walks translate, and edits made later keep its memory)."""
    return _own_tables(replace(config, **changes))


def _presets() -> dict[str, Configuration]:
    base = _own_tables(
        Configuration(
            "4k-48",
            "4KB granule, 48-bit VA (DS=0)",
            "The classic four-level walk: T0SZ=16, TG0=4KB, IPS=48 bits, levels 0 to 3 each "
            "indexed by 9 VA bits. Descriptor bits [9:8] are shareability.",
        )
    )
    lpa2_4k = preset(
        base.with_registers(
            TCR_EL1=TCR_EL1.set(
                TCR_EL1.set(TCR_EL1.set(_TCR_EL1_4K48, "DS", 1), "T0SZ", 12), "IPS", 0b110
            ),
            # 52-bit TTBR format: base[51:48] = 0x8 sits in TTBR0_EL1[5:2].
            TTBR0_EL1=0x0000_0000_4123_4000 | (0x8 << 2),
        ),
        slug="4k-52-lpa2",
        title="4KB granule, 52-bit VA with FEAT_LPA2 (level -1)",
        summary="TCR_EL1.DS=1 and T0SZ=12: a five-level walk starting at level -1, whose "
        "16-entry table is indexed by VA[51:48]. OA[51:50] come from descriptor bits [9:8] "
        "and the TTBR carries base[51:48] in bits [5:2].",
        address=0x000F_1234_5678_9ABC,
    )
    tcr_16k = TCR_EL1.encode(
        T0SZ=12, TG0=0b10, T1SZ=12, TG1=0b01, IPS=0b110, DS=1, SH1=0b11, **_WALK_CACHEABLE
    )
    lpa2_16k = preset(
        base.with_registers(TCR_EL1=tcr_16k, TTBR1_EL1=0x0000_0000_1234_0000 | (0x5 << 2)),
        slug="16k-52-lpa2",
        title="16KB granule, 52-bit VA with FEAT_LPA2 (TTBR1)",
        summary="TG1=0b01 (16KB in TG1's own encoding), T1SZ=12, DS=1: a kernel address in "
        "the upper range, walked from level 0 whose 32-entry table is indexed by VA[51:47].",
        address=0xFFF8_1234_5678_9ABC,
    )
    tcr_64k = TCR_EL1.encode(T0SZ=12, TG0=0b01, T1SZ=12, TG1=0b11, IPS=0b110, **_WALK_CACHEABLE)
    lpa_64k = preset(
        base.with_registers(TCR_EL1=tcr_64k, TTBR0_EL1=0x0000_0000_0042_0000 | (0x9 << 2)),
        slug="64k-52-lpa",
        title="64KB granule, 52-bit VA and PA with FEAT_LPA/FEAT_LVA",
        summary="The pre-LPA2 way to 52 bits: 64KB pages, T0SZ=12, IPS=52 bits. DS plays no "
        "part; OA[51:48] live in descriptor bits [15:12] and bits [9:8] stay shareability.",
        address=0x000A_9876_5432_1ABC,
    )
    l0_block = edit_descriptor(
        preset(
            lpa2_4k,
            slug="4k-l0-block",
            title="4KB level-0 block: 512GB (FEAT_LPA2 only)",
            summary="With DS=1 a 4KB level-0 descriptor may be a block mapping 512GB; with DS=0 "
            "the same descriptor is a Translation fault.",
        ),
        1,
        0,
        _make_block(1, 39, 0x000C_0080_0000_0000),
    )
    l1_block_16k = edit_descriptor(
        preset(
            lpa2_16k,
            slug="16k-l1-block",
            title="16KB level-1 block: 64GB (FEAT_LPA2 only)",
            summary="With DS=1 a 16KB level-1 descriptor may be a 64GB block; without LPA2 the "
            "16KB granule only has level-2 blocks.",
        ),
        1,
        1,
        _make_block(1, 36, 0x000B_2340_0000_0000),
    )
    tcr_el2_lpa2 = TCR_EL2.encode(T0SZ=12, TG0=0b00, PS=0b110, DS=1, **_WALK_CACHEABLE)
    nvhe = preset(
        base.with_registers(TCR_EL2=tcr_el2_lpa2, TTBR0_EL2=0x0000_0000_4130_0000 | (0x2 << 2)),
        slug="nvhe-hyp-lpa2",
        title="nVHE hypervisor stage 1 (EL2, E2H=0) with FEAT_LPA2",
        summary="KVM's own EL2 tables in nVHE mode: TCR_EL2 has its own layout with DS at bit 32 "
        "(not 59) and PS at [18:16]; one address range, AP[1] unused.",
        regime=Regime.EL2.value,
        access="el2r",
        address=0x000E_0000_1234_5678,
    )
    vtcr_concat = VTCR_EL2.encode(T0SZ=12, SL0=0b10, TG0=0b00, PS=0b110, DS=1, **_WALK_CACHEABLE)
    s2_concat = preset(
        base.with_registers(
            VTCR_EL2=vtcr_concat,
            VTTBR_EL2=0x0000_0000_8000_0000 | (0x3 << 2),
            HCR_EL2=HCR_EL2.encode(RW=1, VM=1),
        ),
        slug="s2-52-concat16",
        title="Stage 2, 52-bit IPA, 16 concatenated level-0 tables",
        summary="VTCR_EL2.DS=1, T0SZ=12, SL0=0b10: the walk starts at level 0 and IPA[51:39] "
        "(13 bits) index 16 concatenated 4KB tables, 64KB-aligned. This is what KVM does.",
        regime=Regime.STAGE2.value,
        address=0x000F_1234_5678_9ABC,
    )
    s2_sl2 = preset(
        s2_concat.with_registers(
            VTCR_EL2=VTCR_EL2.set(VTCR_EL2.set(vtcr_concat, "SL0", 0), "SL2", 1),
            VTTBR_EL2=0x0000_0000_8000_0000 | (0x3 << 2),
        ),
        slug="s2-l-1-sl2",
        title="Stage 2 starting at level -1 (SL2=1)",
        summary="VTCR_EL2.SL2=1 with SL0=0 and DS=1 starts the stage-2 walk at level -1 with a "
        "16-entry table indexed by IPA[51:48]; KVM prefers concatenation instead.",
    )
    vtcr_52_l0 = vtcr_concat
    mismatch = preset(
        base.with_registers(
            VTCR_EL2=vtcr_52_l0,
            VTTBR_EL2=0x0000_0000_8000_0000 | (0x3 << 2),
            HCR_EL2=HCR_EL2.encode(RW=1, VM=1),
        ),
        slug="s1-48-over-s2-52",
        title="Guest stage 1 at 48 bits over a 52-bit stage 2",
        summary="The guest's TCR_EL1 keeps DS=0 (48-bit, bits [9:8] are shareability) while the "
        "host's VTCR_EL2 has DS=1 (bits [9:8] are OA[51:50]): one walk, two descriptor "
        "formats. Every stage-1 table address is translated through stage 2 first.",
        regime=Regime.EL10_S12.value,
    )
    fault_l_minus1 = edit_descriptor(
        preset(
            lpa2_4k,
            slug="fault-translation-l-1",
            title="Fault: translation at level -1 (FSC 0x2B)",
            summary="The level -1 descriptor has bit 1 clear, i.e. a block encoding, which level "
            "-1 can never hold: Translation fault level -1, FSC 0b101011.",
        ),
        1,
        -1,
        _clear_bits(0b10),
    )
    addrsize = edit_descriptor(
        preset(
            lpa2_4k.with_registers(
                TCR_EL1=TCR_EL1.set(lpa2_4k.registers["TCR_EL1"], "IPS", 0b101),
                TTBR0_EL1=0x0000_0000_4123_4000,
            ),
            slug="fault-address-size-desc98",
            title="Fault: address size from descriptor bits [9:8]",
            summary="DS=1 with IPS=48 bits: the level-0 table descriptor sets bits [9:8], which "
            "are OA[51:50] under DS=1, so the next-table address is above 2^48: Address size "
            "fault at level 0 (FSC 0x00).",
        ),
        1,
        0,
        _set_bits(0b01 << 8),
    )
    access_flag = edit_descriptor(
        preset(
            base,
            slug="fault-access-flag",
            title="Fault: access flag (AF=0 at level 3)",
            summary="The page descriptor has AF (bit 10) clear and TCR_EL1.HA=0: Access flag "
            "fault at level 3 (FSC 0x0B).",
        ),
        1,
        3,
        _set_field(1, "page", "AF", 0),
    )
    permission = edit_descriptor(
        preset(
            base,
            slug="fault-permission",
            title="Fault: permission (write to a read-only page)",
            summary="AP[2:1]=0b11 (read-only at EL1 and EL0) and an EL1 write: Permission fault "
            "at level 3 (FSC 0x0F).",
            access="el1w",
        ),
        1,
        3,
        _set_field(1, "page", "AP", 0b11),
    )
    vhe = preset(
        base.with_registers(
            TCR_EL2=TCR_EL1.set(tcr_16k, "T0SZ", 16),
            HCR_EL2=HCR_EL2.encode(RW=1, E2H=1, TGE=1),
            TTBR1_EL2=0x0000_0000_1234_0000 | (0x5 << 2),
        ),
        slug="vhe-el20-16k",
        title="VHE host (EL2&0, E2H=1) with 16KB LPA2",
        summary="With HCR_EL2.E2H=1 TCR_EL2 takes the TCR_EL1 layout (DS at bit 59, two "
        "ranges): a host kernel address through TTBR1_EL2.",
        regime=Regime.EL20.value,
        access="el2r",
        address=0xFFF8_1234_5678_9ABC,
    )
    presets = [
        base,
        lpa2_4k,
        lpa2_16k,
        lpa_64k,
        l0_block,
        l1_block_16k,
        nvhe,
        vhe,
        s2_concat,
        s2_sl2,
        mismatch,
        fault_l_minus1,
        addrsize,
        access_flag,
        permission,
    ]
    return {preset.slug: preset for preset in presets}


CONFIG_PRESETS: dict[str, Configuration] = _presets()
# The preset a link without ``preset`` names (link format version 2; version 1 named 4k-48).
DEFAULT_PRESET = "4k-52-lpa2"
