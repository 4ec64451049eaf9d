"""Request and response models of the JSON API (``POST /api/walk``), shown at ``/docs``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
)

from app.jsonform import walk_schema
from app.state import MAX_MEMORY_ENTRIES, parse_number
from model import CPU_PRESETS, Regime
from model.arch.fields import MASK64
from model.explore.configs import CONFIG_PRESETS, REGISTER_NAMES

EXACT_IN_JSON = 1 << 53  # the largest integer every JSON reader holds exactly


def _to_u64(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a number or a hex string, not a boolean")
    if isinstance(value, int):
        if not 0 <= value <= MASK64:
            raise ValueError(f"{value} does not fit in 64 unsigned bits")
        return value
    if isinstance(value, str):
        return parse_number(value)
    raise ValueError("expected a number or a string such as '0x41234000'")


U64 = Annotated[
    int,
    BeforeValidator(_to_u64),
    WithJsonSchema(
        {
            "anyOf": [
                # Integers up to 2^53 are documented: JSON writers (JavaScript, jq) round larger
                # ones before they are sent, so those go as strings. Larger integers a writer
                # sends exactly (Python's json) are still taken, up to 2^64 - 1.
                {"type": "integer", "minimum": 0, "maximum": EXACT_IN_JSON},
                {
                    "type": "string",
                    "pattern": "^\\s*(0[xX][0-9a-fA-F_]+|0[bB][01_]+|[0-9_]+)\\s*$",
                },
            ],
            "description": "64-bit unsigned value: a string, 0x hex, 0b binary or decimal "
            "('_' separators allowed), or an integer up to 2^53 (larger JSON numbers are "
            "rounded by most writers: send those as strings)",
            "examples": ["0x41234000", 1092829184],
        }
    ),
]

RegimeName = Literal["el10", "el2", "el20", "stage2", "el10_s12"]
assert set(RegimeName.__args__) == {r.value for r in Regime}


class CpuIdRegisters(BaseModel):
    """A CPU given by its ID registers instead of a preset name."""

    model_config = ConfigDict(extra="forbid")

    id_aa64mmfr0_el1: U64
    id_aa64mmfr1_el1: U64 = 0
    id_aa64mmfr2_el1: U64 = 0


class WalkRequest(BaseModel):
    """One translation to walk. Every field is optional: what is left out comes from
    ``preset`` (default ``4k-52-lpa2``), so ``{"preset": "4k-48"}`` is a complete request."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"preset": "4k-52-lpa2"},
                {
                    "preset": "4k-52-lpa2",
                    "address": "0x000f123456789abc",
                    "access": "el1w",
                    "registers": {"TCR_EL1": "0x08000006b510350c", "TTBR0_EL1": "0x41234020"},
                    "memory": {"0x0008000041234078": "0x0003774_7c714d303"},
                    "cpu": "max",
                    "choices": {"ds_validity": "feat_lpa2"},
                },
                {
                    "regime": "stage2",
                    "address": "0x8000_1000",
                    "cpu": {"id_aa64mmfr0_el1": "0x0000000000101125"},
                },
            ]
        },
    )

    preset: str | None = Field(
        None,
        description="Configuration preset the other fields start from: "
        + ", ".join(CONFIG_PRESETS),
        examples=["4k-52-lpa2"],
    )
    regime: RegimeName | None = Field(
        None,
        description="el10 (EL1&0 stage 1), el2 (nVHE EL2), el20 (VHE EL2&0), stage2 "
        "(stage 2 alone, input is an IPA), el10_s12 (both stages)",
    )
    cpu: str | CpuIdRegisters | None = Field(
        None,
        description="CPU preset name (" + ", ".join(CPU_PRESETS) + ") or ID register values",
    )
    access: str | None = Field(
        None,
        pattern="^[eE][lL][012][rwxRWX]$",
        description="Exception level and kind: el0/el1/el2 + r/w/x, e.g. el1r",
        examples=["el1r"],
    )
    address: U64 | None = Field(None, description="Input address (VA, or IPA for stage2)")
    registers: dict[str, U64] = Field(
        default_factory=dict,
        description="Register values by name (case-insensitive): " + ", ".join(REGISTER_NAMES),
    )
    memory: dict[str, U64] = Field(
        default_factory=dict,
        description=f"Physical address -> 64-bit descriptor (at most {MAX_MEMORY_ENTRIES} "
        "entries); addresses are strings (JSON keys), 8-byte aligned. Descriptors not given "
        "come from the background tables (built for the preset's registers, or for the "
        "registers given when refill is true).",
    )
    refill: bool = Field(
        False,
        description="Build the background tables for the registers given (the explorer's "
        "Re-fill) instead of the preset's; a register edit alone never changes memory.",
    )
    choices: dict[str, str] = Field(
        default_factory=dict,
        description="IMPLEMENTATION DEFINED choices by name, e.g. {'ds_validity': 'feat_lpa2'}",
    )

    @field_validator("registers")
    @classmethod
    def _registers_known(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = [name for name in value if name.strip().upper() not in REGISTER_NAMES]
        if unknown:
            raise ValueError(
                f"unknown register(s) {', '.join(unknown)}; known: {', '.join(REGISTER_NAMES)}"
            )
        return {name.strip().upper(): v for name, v in value.items()}

    @field_validator("memory")
    @classmethod
    def _memory_bounded(cls, value: dict[str, int]) -> dict[str, int]:
        if len(value) > MAX_MEMORY_ENTRIES:
            raise ValueError(f"at most {MAX_MEMORY_ENTRIES} memory entries, got {len(value)}")
        for key in value:
            address = parse_number(key)
            if address & 7:
                raise ValueError(f"memory address {key} is not 8-byte aligned")
        return value

    @field_validator("preset")
    @classmethod
    def _preset_known(cls, value: str | None) -> str | None:
        if value is not None and value not in CONFIG_PRESETS:
            raise ValueError(f"unknown preset {value!r}; known: {', '.join(CONFIG_PRESETS)}")
        return value

    @field_validator("cpu")
    @classmethod
    def _cpu_known(cls, value: str | CpuIdRegisters | None) -> str | CpuIdRegisters | None:
        if isinstance(value, str) and value not in CPU_PRESETS:
            raise ValueError(f"unknown CPU preset {value!r}; known: {', '.join(CPU_PRESETS)}")
        return value


class WalkResponse(BaseModel):
    """The model's full walk result (``walk``) with the canonical state and its links."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "query": "v=2&preset=4k-52-lpa2",
                    "link": "http://127.0.0.1:8000/?v=2&preset=4k-52-lpa2",
                    "short_link": None,
                    "txt_url": "http://127.0.0.1:8000/walk.txt?v=2&preset=4k-52-lpa2",
                    "config": {"preset": "4k-52-lpa2", "regime": "el10", "...": "..."},
                    "problems": [],
                    "walk": {"regime": "el10", "output_address": "0xf123456789abc", "...": "..."},
                }
            ]
        }
    )

    query: str | None = Field(
        description="Canonical link query of this state; null when the state cannot be linked "
        "(a CPU given by ID registers that match no preset)"
    )
    link: str | None = Field(description="Full-state explorer link")
    short_link: str | None = Field(None, description="Short link, when one was made")
    txt_url: str | None = Field(None, description="Plain-text twin of the walk")
    config: dict[str, Any] = Field(description="The whole state the walk ran on")
    problems: list[str] = Field(default_factory=list, description="What a link dropped and why")
    walk: dict[str, Any] = Field(
        description="WalkResult.to_dict(): every level read (with the hardware update of "
        "its Access flag or dirty state, if any), the output address and its bit sources, "
        "or the fault; hardware_updates lists the updates in walk order; 64-bit values as "
        "'0x…' strings",
        json_schema_extra=walk_schema(),
    )
