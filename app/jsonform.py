"""64-bit values in JSON answers: as ``"0x…"`` strings, never as numbers.

JSON numbers are doubles to most readers (JavaScript, jq): above 2^53 they are rounded, so a
PAR_EL1 of ``0xff0f123456789980`` would read back as another value. Every answer that carries
a walk (``/walk.json``, ``POST /api/walk``, ``lpa2-explorer walk --json``) or a mapping list
(``/ptdump.json``, ``lpa2-explorer ptdump --json``) writes addresses, register and descriptor
values and sizes as lowercase hex strings (``"0x41234000"``), by key; counts, levels, bit
positions and field values (at most 40 bits wide) stay numbers.
"""

from __future__ import annotations

from typing import Any

# The keys whose integer values are 64-bit quantities (model.arch.result ``to_dict`` and
# model.explore.ptdump_text ``listing_to_dict``).
U64_KEYS = frozenset(
    {
        "input_address", "output_address", "ipa", "desc_address", "desc_ipa", "raw",
        "next_address", "table_base", "ttbr_value", "par", "esr", "far", "hpfar", "fipa",
        "block_size", "size",
        # hardware updates (model.arch.updates): the descriptor's address, old and new value
        "address", "old", "new",
    }
)  # fmt: skip

HEX_PATTERN = "^0x[0-9a-f]+$"
HEX64_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": HEX_PATTERN,
    "description": "A 64-bit value in lowercase hex ('0x…'; a string, as JSON numbers lose "
    "precision above 2^53)",
    "examples": ["0xff0f123456789980"],
}


def hex_values(data: Any) -> Any:
    """``data`` (nested dicts and lists) with every integer under a ``U64_KEYS`` key written as
    ``"0x…"``; everything else as it is."""
    if isinstance(data, dict):
        return {
            key: (
                f"{value:#x}"
                if key in U64_KEYS and isinstance(value, int) and not isinstance(value, bool)
                else hex_values(value)
            )
            for key, value in data.items()
        }
    if isinstance(data, list | tuple):
        return [hex_values(item) for item in data]
    return data


def walk_schema() -> dict[str, Any]:
    """The JSON schema of a walk (``WalkResult.to_dict()`` through ``hex_values``), as the
    API documents it: its 64-bit members as hex strings, the rest described in words."""
    nullable = {"anyOf": [HEX64_SCHEMA, {"type": "null"}]}
    level = {
        "type": "object",
        "description": "One descriptor read",
        "properties": {
            key: nullable
            for key in ("table_base", "desc_address", "desc_ipa", "raw", "next_address")
        }
        | {"output_address": nullable},
        "additionalProperties": True,
    }
    return {
        "type": "object",
        "description": "WalkResult.to_dict(): every level read, the output address and its bit "
        "sources, or the fault. Addresses, register and descriptor values and sizes are "
        "'0x…' strings (keys: " + ", ".join(sorted(U64_KEYS)) + "); levels, bit positions, "
        "counts and field values are numbers.",
        "properties": {
            "input_address": HEX64_SCHEMA,
            "output_address": nullable,
            "ipa": nullable,
            "par": HEX64_SCHEMA,
            "esr": nullable,
            "far": nullable,
            "hpfar": nullable,
            "levels": {"type": "array", "items": level},
        },
        "additionalProperties": True,
    }
