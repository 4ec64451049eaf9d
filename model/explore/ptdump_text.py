"""A mapping listing (``model.explore.ptdump``) as text lines in the spirit of Linux's ptdump,
and as JSON-ready data for tools.

One line per merged range, in input-address order, faults among them:

    0xffff800080000000-0xffff800080200000      2M L2 block  -> 0x0000000040200000
        EL1 rw- EL0 ---  Normal-WB ISH  AF nG  DS1

(on one line). A header per tree names its root register and the stage's table format:
DS0 (address in desc[47:n]), DS1 (FEAT_LPA2: OA[51:50] in desc[9:8]) or LPA (64KB, FEAT_LPA:
OA[51:48] in desc[15:12]).
"""

from __future__ import annotations

from model.arch import attrs as attrmod
from model.arch.walker import WalkParams

from .ptdump import FaultRange, Listing, MappingRange, RootListing
from .text import REGIME_TITLES

FORMATS = {
    "DS0": "DS0 (address in desc[47:n])",
    "DS1": "DS1 (FEAT_LPA2: OA[51:50] in desc[9:8])",
    "LPA": "LPA (64KB, FEAT_LPA: OA[51:48] in desc[15:12])",
}
_SH = {0: "NSH", 1: "SH?", 2: "OSH", 3: "ISH"}
_RWX = (("r", "read"), ("w", "write"), ("x", "exec"))


def size_text(n: int) -> str:
    for unit, shift in (("P", 50), ("T", 40), ("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return f"{n}B" if n < 1024 else f"{n / 1024:.1f}K"


def memory_type(attr: int | None) -> str:
    """A short name of a MAIR-style attribute byte."""
    if attr is None:
        return "?"
    if attrmod.is_device(attr):
        return attrmod.DEVICE_TYPES.get((attr >> 2) & 3, f"Device({attr:#04x})")
    if attr == 0xF0:
        return "Normal-Tagged"
    if attrmod.is_non_cacheable(attr):
        return "Normal-NC"
    if attr == 0xFF:
        return "Normal-WB"
    if attr == 0xBB:
        return "Normal-WT"
    return f"Normal({attr:#04x})"


def permissions(perms: dict) -> str:
    """``EL1 rwx EL0 r--`` from the walker's permission table."""
    out = []
    for el in ("EL2", "EL1", "EL0"):
        p = perms.get(el)
        if p is not None:
            flags = "".join(c if p[k] else "-" for c, k in _RWX)
            out.append(f"{el} {flags}")
    return " ".join(out)


def _range_perms(m: MappingRange) -> str:
    if m.walk is None or m.walk.perms is None:
        return ""
    perms = m.walk.perms.to_dict()
    if "stage1" in perms:
        return f"{permissions(perms['stage1'])} S2 {permissions(perms['stage2'])}"
    prefix = "S2 " if m.stage == 2 else ""
    return prefix + permissions(perms)


def _attrs(m: MappingRange) -> dict:
    attrs = m.walk.attrs if m.walk is not None else None
    return {} if attrs is None else attrs.to_dict()


def _flags(m: MappingRange) -> str:
    attrs = _attrs(m)
    s1 = attrs.get("stage1", attrs)
    flags = ["AF"]
    if s1.get("ng"):
        flags.append("nG")
    if s1.get("dbm"):
        flags.append("DBM")
    if m.contiguous:
        flags.append(f"CONx{m.contiguous_runs}" if not m.contiguous_problem else "CON!")
    if m.walk is not None and m.walk.fault is not None:
        flags.append(f"perm-fault({m.walk.access})")
    return " ".join(flags)


def mapping_line(m: MappingRange) -> str:
    attrs = _attrs(m)
    count = f" x{m.entries}" if m.entries > 1 else ""
    fmt = m.variant if m.stage2 is None else f"S1 {m.variant} S2 {m.stage2.variant}"
    via = f" via IPA {m.ipa:#018x}" if m.ipa is not None else ""
    return (
        f"{m.start:#018x}-{m.end:#018x} {size_text(m.size):>7} L{m.level} {m.kind:<5}{count}"
        f" -> {m.oa:#018x}{via}  {_range_perms(m)}  {memory_type(attrs.get('attr'))} "
        f"{_SH.get(attrs.get('sh', 0), '?')}  {_flags(m)}  {fmt}"
    )


def fault_line(f: FaultRange) -> str:
    count = f" x{f.entries}" if f.entries > 1 else ""
    where = f", descriptor at {f.address:#x}" if f.address is not None else ""
    if f.oa is not None:
        where += f", output {f.oa:#x}"
    s1ptw = ", S1PTW" if f.fault.s1ptw else ""
    return (
        f"{f.start:#018x}-{f.end:#018x} {size_text(f.size):>7} L{f.level} FAULT{count}: "
        f"{f.fault.fsc_name} (FSC {f.fault.fsc:#04x}, stage {f.fault.stage}{s1ptw}){where}: "
        f"{f.fault.message}"
    )


def root_header(root: RootListing, regime: str) -> str:
    p: WalkParams | None = root.params
    if p is None:
        return f"---[ {root.name} ]---"
    return (
        f"---[ {root.name}: {REGIME_TITLES.get(regime, regime)}, {p.granule_kb}KB granule, "
        f"{p.iasize}-bit input, {p.oa_bits}-bit output, start level {p.start_level}, "
        f"start table {p.table_base:#x}; tables in format {FORMATS.get(p.desc_variant)} ]---"
    )


def render_listing(listing: Listing) -> str:
    lines: list[str] = []
    if listing.stage2 is not None:
        s2 = listing.stage2.params
        fmt = FORMATS.get(s2.desc_variant) if s2 is not None else "?"
        lines.append(
            f"Stage 2 ({listing.stage2.name}) tables in format {fmt}: stage-1 table addresses "
            "are IPAs, read through stage 2."
        )
    for root in listing.roots:
        lines.append(root_header(root, listing.regime))
        if root.setup_fault is not None:
            f = root.setup_fault
            lines.append(f"  no walk: {f.fsc_name} (FSC {f.fsc:#04x}): {f.message}")
            continue
        items: list[tuple[int, str]] = [(m.start, mapping_line(m)) for m in root.mappings]
        items += [(f.start, fault_line(f)) for f in root.faults]
        items.sort(key=lambda item: item[0])
        lines += [line for _start, line in items]
        if not items:
            lines.append("  (no valid entry)")
        for m in root.mappings:
            if m.contiguous_problem:
                lines.append(f"  note {m.start:#x}: {m.contiguous_problem}")
        tables = ", ".join(f"L{lv}: {n}" for lv, n in sorted(root.tables.items()))
        lines.append(
            f"  {len(root.mappings)} ranges, {len(root.faults)} faults; tables read: "
            f"{tables or 'none'}; {root.descriptors} descriptors"
        )
    rate = listing.descriptors / listing.seconds if listing.seconds else 0
    lines.append(
        f"{listing.descriptors} descriptors in {listing.seconds:.3f} s ({rate:,.0f} per second)"
    )
    return "\n".join(lines) + "\n"


# -- JSON ----------------------------------------------------------------------------------------


def _mapping_dict(m: MappingRange) -> dict:
    attrs = _attrs(m)
    out = {
        "start": f"{m.start:#x}",
        "end": f"{m.end:#x}",
        "size": m.size,
        "oa": f"{m.oa:#x}",
        "level": m.level,
        "kind": m.kind,
        "entries": m.entries,
        "format": m.variant,
        "descriptor_bits": f"{m.bits:#x}",
        "permissions": m.walk.perms.to_dict() if m.walk and m.walk.perms else {},
        "attr": attrs.get("attr"),
        "memory_type": memory_type(attrs.get("attr")),
        "shareability": _SH.get(attrs.get("sh", 0)),
        "contiguous": m.contiguous,
        "contiguous_runs": m.contiguous_runs,
        "contiguous_problem": m.contiguous_problem,
        "fault_for_listing_access": m.walk.fault.to_dict() if m.walk and m.walk.fault else None,
    }
    if m.stage2 is not None:
        out["ipa"] = f"{m.ipa:#x}" if m.ipa is not None else None
        out["stage2"] = {"level": m.stage2.level, "kind": m.stage2.kind, "format": m.stage2.variant}
    return out


def _fault_dict(f: FaultRange) -> dict:
    return {
        "start": f"{f.start:#x}",
        "end": f"{f.end:#x}",
        "size": f.size,
        "level": f.level,
        "stage": f.stage,
        "entries": f.entries,
        "address": None if f.address is None else f"{f.address:#x}",
        "oa": None if f.oa is None else f"{f.oa:#x}",
        "fault": f.fault.to_dict(),
    }


def _root_dict(root: RootListing) -> dict:
    p = root.params
    return {
        "root": root.name,
        "params": None
        if p is None
        else {
            "granule_kb": p.granule_kb,
            "ds": p.ds,
            "format": p.desc_variant,
            "input_bits": p.iasize,
            "output_bits": p.oa_bits,
            "start_level": p.start_level,
            "start_table": f"{p.table_base:#x}",
        },
        "setup_fault": root.setup_fault.to_dict() if root.setup_fault else None,
        "mappings": [_mapping_dict(m) for m in root.mappings],
        "faults": [_fault_dict(f) for f in root.faults],
        "tables": {str(k): v for k, v in sorted(root.tables.items())},
        "descriptors": root.descriptors,
    }


def listing_to_dict(listing: Listing) -> dict:
    return {
        "regime": listing.regime,
        "roots": [_root_dict(r) for r in listing.roots],
        "stage2": _root_dict(listing.stage2) if listing.stage2 is not None else None,
        "descriptors": listing.descriptors,
        "seconds": listing.seconds,
    }
