"""The catalogue of fault rules: every way this model's walk can fail, with the sentence that
explains it and the hint that fixes it.

A walk step names the rule it broke (``RULE.site(**values)``); the stage walk raises the fault
at its one exit, where ``level`` and ``stage`` are filled in (``faults.raise_fault``). The
values each rule's templates use are listed with it. Order: the order of the checks in the
architecture's pseudocode (AArch64.S1Translate/S1Walk, AArch64.S2Translate/S2Walk).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .faults import FaultKind, FaultRule

_T = FaultKind.TRANSLATION
_AS = FaultKind.ADDRESS_SIZE


def _stage_translation_fault(v: Mapping[str, Any]) -> str:
    return "Translation fault" if v["stage"] == 1 else "stage-2 Translation fault"


# -- set-up checks (before any descriptor is read) ---------------------------------------------

# field, value, minimum, maximum, mandatory (FEAT_LVA/FEAT_LPA make it a fault), fix_field
TXSZ_BELOW_MIN = FaultRule(
    "txsz-below-min",
    _T,
    lambda v: (
        f"{v['field']}={v['value']} is below the minimum {v['minimum']} for this "
        "granule/DS/CPU"
        + (" (fault required by FEAT_LVA/FEAT_LPA)" if v["mandatory"] else "")
        + f": {_stage_translation_fault(v)}."
    ),
    "set {fix_field} to {minimum}..{maximum}",
)

# field, value, minimum, maximum, fix_field
TXSZ_ABOVE_MAX = FaultRule(
    "txsz-above-max",
    _T,
    lambda v: (
        f"{v['field']}={v['value']} is above the maximum {v['maximum']}: "
        f"{_stage_translation_fault(v)}."
    ),
    lambda v: (
        f"set {v['fix_field']} to at most {v['maximum']} (or implement FEAT_TTST)"
        if v["stage"] == 1
        else f"set {v['fix_field']} to {v['minimum']}..{v['maximum']}"
    ),
)


def _va_range(v: Mapping[str, Any]) -> str:
    top, iasize = v["top"], v["iasize"]
    bits = f"[{top}]" if top == iasize else f"[{top}:{iasize}]"
    expect = "all ones (TTBR1 range, VA[55]=1)" if v["upper"] else "all zeros"
    tbi = " (TBI: top byte ignored)" if top == 55 else ""
    return (
        f"VA{bits} must be {expect} for a {iasize}-bit input range "
        f"({v['txsz_field']}={v['txsz']}){tbi}; they are {v['found']:#x}."
    )


# top (55 with TBI, else 63), iasize, upper (TTBR1 range), txsz_field, txsz, found
VA_OUT_OF_RANGE = FaultRule(
    "va-out-of-range",
    _T,
    _va_range,
    "use an address within the {iasize}-bit range, or lower {txsz_field}",
)

# tcr, n (range 0 or 1)
E0PD = FaultRule(
    "e0pd",
    _T,
    "{tcr}.E0PD{n}=1: EL0 accesses to the TTBR{n} range fault.",
    "clear {tcr}.E0PD{n} or access from EL1",
)

# tcr, n, ttbr
EPD = FaultRule(
    "epd",
    _T,
    "{tcr}.EPD{n}=1 disables walks through {ttbr}.",
    "clear {tcr}.EPD{n}",
)

# sl0, sl2, granule, reason
S2_INVALID_SL = FaultRule(
    "s2-invalid-sl",
    _T,
    "VTCR_EL2.SL0={sl0:#04b}, SL2={sl2} is invalid for the {granule}KB granule: {reason}. "
    "Stage-2 Translation fault at level {level}.",
    "choose a start level this CPU and granule support (see the SL0 table)",
)

# iasize, txsz, start_level, granule, lo, hi (IPA sizes the start level resolves)
S2_INCONSISTENT_SL = FaultRule(
    "s2-inconsistent-sl",
    _T,
    "A {iasize}-bit IPA (T0SZ={txsz}) cannot start at level {start_level} with {granule}KB: "
    "that level resolves {lo}..{hi} bits (with up to 16 concatenated tables). Stage-2 "
    "Translation fault at level {level}.",
    lambda v: f"set VTCR_EL2.T0SZ to {64 - v['hi']}..{64 - v['lo']} or change SL0/SL2",
)

# ipa, iasize, txsz
IPA_OUT_OF_RANGE = FaultRule(
    "ipa-out-of-range",
    _T,
    "IPA {ipa:#x} is outside the {iasize}-bit stage-2 input range (VTCR_EL2.T0SZ={txsz}).",
    "lower VTCR_EL2.T0SZ or use a smaller IPA (stage-1 IPS/tables)",
)

# va, top (55 when the top byte is ignored), pamax
FLAT_OA_OUT_OF_RANGE = FaultRule(
    "flat-oa-out-of-range",
    _AS,
    lambda v: (
        f"Stage 1 is disabled and VA{'[55:0]' if v['top'] == 55 else ''} {v['va']:#x} "
        f"has bits set at or above PAMax ({v['pamax']})."
    ),
    "use an address below 2^{pamax}",
)

# -- the table walk ---------------------------------------------------------------------------


def _high_bits_fix(v: Mapping[str, Any]) -> str:
    if v["variant"] == "DS1":
        return f"clear desc[9:8]/desc[49:48] or set {v['ps_field']}=0b110 (52 bits)"
    if v["variant"] == "LPA":
        return f"clear desc[15:12] or set {v['ps_field']}=0b110 (52 bits)"
    return f"use an address below 2^{v['oa_bits']} or raise {v['ps_field']}"


# address, ttbr, oa_bits, ps_field, ps
TTBR_OA_OUT_OF_RANGE = FaultRule(
    "ttbr-oa-out-of-range",
    _AS,
    "The start table address {address:#x} from {ttbr} is above the {oa_bits}-bit output size "
    "({ps_field}={ps:#05b}); Address size fault, reported at level 0 whatever the start level.",
    "clear {ttbr}[5:2] (base[51:48]) or set {ps_field}=0b110",
)

# address (of the descriptor): a read where memory holds nothing (``memory.ExternalAbort``)
SEA_WALK = FaultRule(
    "sea-walk",
    FaultKind.SEA_WALK,
    "Reading the level {level} descriptor at physical address {address:#x} takes a "
    "synchronous External abort: no memory there (outside the memory image).",
    "point the TTBR or the table descriptor above at memory the image holds",
)

# address (of the descriptor)
INVALID_DESCRIPTOR = FaultRule(
    "invalid-descriptor",
    _T,
    "The level {level} descriptor at {address:#x} is invalid (bit 0 = 0).",
    "write a valid descriptor (bit 0 = 1)",
)

RESERVED_L3 = FaultRule(
    "reserved-l3",
    _T,
    "A level 3 descriptor with bits[1:0]=0b01 is the reserved encoding (level 3 holds pages only).",
    "level 3 cannot hold a block: set bit 1 (page)",
)

# What each granule needs for blocks at the levels FEAT_LPA/FEAT_LPA2 added.
_BLOCK_NEEDS = {
    (4, 0): "4KB level 0 blocks need DS=1 (FEAT_LPA2)",
    (16, 1): "16KB level 1 blocks need DS=1 (FEAT_LPA2)",
    (64, 1): "64KB level 1 blocks need a 52-bit PA (FEAT_LPA)",
}


def _block_not_allowed(v: Mapping[str, Any]) -> str:
    level, granule = v["level"], v["granule"]
    if level == -1:
        why = "level -1 never holds a block"
    else:
        why = f"the {granule}KB granule has no blocks at level {level}"
        # 4KB lacks blocks only at level 0 (without DS=1) below level -1.
        need = _BLOCK_NEEDS[(4, 0)] if granule == 4 else _BLOCK_NEEDS.get((granule, level), "")
        if need:
            why += f" ({need})"
    return f"Block descriptor at level {level}: {why}. Translation fault."


# granule
BLOCK_LEVEL_UNSUPPORTED = FaultRule(
    "block-level-unsupported",
    _T,
    _block_not_allowed,
    lambda v: (
        "level -1 cannot hold a block: set bit 1"
        if v["level"] == -1
        else f"make it a table descriptor (set bit 1) or map at level {v['level'] + 1}"
    ),
)

# address (next table), oa_bits, ps_field, ps, variant
TABLE_OA_OUT_OF_RANGE = FaultRule(
    "table-oa-out-of-range",
    _AS,
    "The level {level} table descriptor points to {address:#x}, above the {oa_bits}-bit "
    "output size ({ps_field}={ps:#05b}).",
    _high_bits_fix,
)

# kind (block/page), address (output), oa_bits, ps_field, ps, variant
LEAF_OA_OUT_OF_RANGE = FaultRule(
    "leaf-oa-out-of-range",
    _AS,
    "The level {level} {kind} descriptor's output address {address:#x} is above the "
    "{oa_bits}-bit output size ({ps_field}={ps:#05b}).",
    _high_bits_fix,
)

# kind (block/page), tcr
AF_ZERO = FaultRule(
    "af-zero",
    FaultKind.ACCESS_FLAG,
    "The level {level} {kind} descriptor has AF=0 (bit 10) and {tcr}.HA=0.",
    "set AF (bit 10), or enable hardware Access flag updates (HA=1)",
)

_VERBS = {"read": "read", "write": "write to", "exec": "execute from"}
_PERMISSION_FIXES = {
    "read": "give read access (AP[1]=1 for EL0 / S2AP[0]=1)",
    "write": "clear AP[2] (and APTable[1]) / set S2AP[1], or use DBM with HA=HD=1",
    "exec": "clear PXN/UXN (and the XNTable bits) / stage-2 XN, and keep it non-writable "
    "at EL0 / with WXN",
}

# el ("EL1", ...), access (read/write/exec), permissions (their ``why`` are the reasons)
PERMISSION = FaultRule(
    "permission",
    FaultKind.PERMISSION,
    lambda v: (
        f"{v['el']} may not {_VERBS[v['access']]} this stage {v['stage']} mapping "
        f"({'; '.join(v['permissions'].why)})."
    ),
    lambda v: _PERMISSION_FIXES[v["access"]],
)

# s1_level, ipa (of the stage-1 descriptor), changes (what the update would write), why (the
# stage-2 permissions' reasons)
UPDATE_DENIED_BY_STAGE2 = FaultRule(
    "update-denied-by-stage2",
    FaultKind.PERMISSION,
    "The hardware update of the level {s1_level} stage-1 descriptor ({changes}) is a write to "
    "IPA {ipa:#x}, and stage 2 maps that table page without write permission ({why}): "
    "stage-2 Permission fault at level {level} on the stage-1 walk (S1PTW=1).",
    "let stage 2 map the stage-1 tables writable (S2AP[1]=1, or DBM=1 with VTCR_EL2.HA=HD=1), "
    "or set AF/clear AP[2] in the descriptor yourself",
)

# (no values) the stage-2 walk of a stage-1 table address found Device memory
PTW_DEVICE = FaultRule(
    "ptw-device",
    FaultKind.PERMISSION,
    "HCR_EL2.PTW=1 and stage 2 maps this stage-1 table page as Device memory: stage-2 "
    "Permission fault at level {level} on the stage-1 walk (S1PTW=1).",
    "map the stage-1 tables as Normal memory at stage 2, or clear HCR_EL2.PTW",
)

RULES: dict[str, FaultRule] = {
    rule.id: rule
    for rule in (
        TXSZ_BELOW_MIN,
        TXSZ_ABOVE_MAX,
        VA_OUT_OF_RANGE,
        E0PD,
        EPD,
        S2_INVALID_SL,
        S2_INCONSISTENT_SL,
        IPA_OUT_OF_RANGE,
        FLAT_OA_OUT_OF_RANGE,
        TTBR_OA_OUT_OF_RANGE,
        INVALID_DESCRIPTOR,
        RESERVED_L3,
        BLOCK_LEVEL_UNSUPPORTED,
        TABLE_OA_OUT_OF_RANGE,
        LEAF_OA_OUT_OF_RANGE,
        AF_ZERO,
        PERMISSION,
        PTW_DEVICE,
        UPDATE_DENIED_BY_STAGE2,
    )
}
