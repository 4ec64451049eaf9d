"""What to change to avoid a fault, as edits the explorer can make in one click.

A fault's rule (``model.arch.fault_rules``) says in words what fixes it; here each rule's
hint becomes concrete changes of this state: set a register field, set a descriptor field,
apply a quick action to a descriptor (fill it, make it a page or a table), re-fill the
background tables, or look at a control (when the fix is a choice only the user can make, such
as another input address). Each remedy is checked by applying it: only those that change the
walk's outcome are offered.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from model.arch.cpu import CPU_PRESETS
from model.arch.faults import Fault
from model.arch.fields import VTCR_EL2, Layout
from model.arch.result import ReadRef, WalkResult

from .actions import apply_action, display_layout, register_layout, stopped_at
from .compare import s2_start_for, sl0_for
from .configs import Configuration, run, state_memory

REMEDY_KINDS = ("register", "descriptor", "action", "refill", "focus")


@dataclass(frozen=True)
class Remedy:
    """One change that avoids (or moves) the fault.

    ``kind``: "register" (set ``field`` of register ``target`` to ``value``), "descriptor"
    (set ``field`` of the descriptor at physical address ``target`` to ``value``), "action"
    (quick action ``field`` on the descriptor at ``target``), "refill" (build the background
    tables for the current registers), or "focus" (the control ``target`` to look at: "va",
    or a register field such as "TCR_EL1.T0SZ").
    """

    label: str
    kind: str
    target: str | int = ""
    field: str = ""
    value: int = 0


def _faulting_read(result: WalkResult) -> ReadRef | None:
    reads = [r for r in result.reads() if r.read.desc_address is not None]
    return reads[-1] if reads else None


def _ps_field(fault: Fault) -> tuple[str, str] | None:
    """(register, field) of the output size a fault names (``TCR_EL1.IPS``...)."""
    name = fault.values.get("ps_field")
    if not name or "." not in name:
        return None
    register, field = name.split(".", 1)
    return register, field


def _txsz_field(fault: Fault, result: WalkResult) -> tuple[str, str] | None:
    """(register, field) of the TxSZ a fault is about: named in full by the TxSZ rules, or
    the one of the stage whose input range the address is outside."""
    name = fault.values.get("field")
    if not (isinstance(name, str) and "." in name):
        params = result.params.get("s1" if fault.stage == 1 else "s2")
        name = params.txsz_field if params is not None else None
    if not name or "." not in name:
        return None
    register, field = name.split(".", 1)
    return register, field


def _candidates(config: Configuration, result: WalkResult) -> Iterator[Remedy]:
    fault = result.fault
    if fault is None:
        return
    rule, v = fault.rule, fault.values
    ref = _faulting_read(result)
    at = ref.read.desc_address if ref is not None and stopped_at(result, ref) else None
    cpu = CPU_PRESETS.get(config.cpu, CPU_PRESETS["max"])
    if rule in ("txsz-below-min", "txsz-above-max"):
        where = _txsz_field(fault, result)
        if where:
            value = v["minimum"] if rule == "txsz-below-min" else v["maximum"]
            yield Remedy(f"Set {where[0]}.{where[1]} to {value}", "register", *where, value)
    elif rule in ("va-out-of-range", "flat-oa-out-of-range"):
        yield Remedy("Choose an input address in range", "focus", "va")
        where = _txsz_field(fault, result)
        if where:
            yield Remedy(f"Change {where[0]}.{where[1]}", "focus", f"{where[0]}.{where[1]}")
    elif rule in ("e0pd", "epd"):
        field = f"{'E0PD' if rule == 'e0pd' else 'EPD'}{v['n']}"
        yield Remedy(f"Clear {v['tcr']}.{field}", "register", v["tcr"], field, 0)
    elif rule in ("s2-invalid-sl", "s2-inconsistent-sl"):
        vtcr = config.registers.get("VTCR_EL2", 0)
        params = result.params.get("s2")
        if params is not None:
            start = s2_start_for(params.iasize, params.granule_kb, params.ds)
            sl0, sl2 = sl0_for(params.granule_kb, start)
            if (sl0, sl2) != (VTCR_EL2.get(vtcr, "SL0"), VTCR_EL2.get(vtcr, "SL2")):
                label = f"Start stage 2 at level {start} (SL0={sl0:#04b}, SL2={sl2})"
                yield Remedy(label, "register", "VTCR_EL2", "SL0", sl0)
                if sl2 != VTCR_EL2.get(vtcr, "SL2"):
                    yield Remedy(f"Set VTCR_EL2.SL2 to {sl2}", "register", "VTCR_EL2", "SL2", sl2)
    elif rule == "ipa-out-of-range":
        need = max(int(v["ipa"]).bit_length(), 25)
        yield Remedy(
            f"Set VTCR_EL2.T0SZ to {64 - need} ({need}-bit IPA)",
            "register",
            "VTCR_EL2",
            "T0SZ",
            64 - need,
        )
    elif rule == "ttbr-oa-out-of-range":
        ps = _ps_field(fault)
        if ps and cpu.pamax >= 52:
            yield Remedy(f"Set {ps[0]}.{ps[1]} to 0b110 (52 bits)", "register", *ps, 0b110)
        yield Remedy(
            f"Clear {v['ttbr']}[5:2] (base[51:48])", "register", v["ttbr"], "BADDR_51_48", 0
        )
    elif rule in ("invalid-descriptor", "reserved-l3", "block-level-unsupported"):
        if at is not None:
            label = "Fill this entry" if rule == "invalid-descriptor" else "Rewrite this entry"
            yield Remedy(label, "action", at, "fill")
        if at is not None and state_memory(config).source(at) == "empty":
            yield Remedy("Re-fill the tables for the current registers", "refill")
    elif rule in ("table-oa-out-of-range", "leaf-oa-out-of-range"):
        ps = _ps_field(fault)
        if ps and cpu.pamax >= 52 and v.get("variant") in ("DS1", "LPA"):
            yield Remedy(f"Set {ps[0]}.{ps[1]} to 0b110 (52 bits)", "register", *ps, 0b110)
        if at is not None and ref is not None and ref.read.raw is not None:
            layout = display_layout(ref.read, ref.params)
            for high in ("NLTA_51_50", "OA_51_50", "NLTA_51_48", "OA_51_48"):
                if high in layout and layout.get(ref.read.raw, high):
                    bits = layout.field(high)
                    label = f"Clear desc[{bits.hi}:{bits.lo}] ({high})"
                    yield Remedy(label, "descriptor", at, high, 0)
            yield Remedy("Fill this entry", "action", at, "fill")
    elif rule == "af-zero":
        if at is not None:
            yield Remedy("Set AF (bit 10)", "descriptor", at, "AF", 1)
        if cpu.has_ha and "tcr" in v:
            yield Remedy(f"Set {v['tcr']}.HA (hardware Access flag)", "register", v["tcr"], "HA", 1)
    elif rule == "permission" and ref is not None and at is not None and ref.read.raw is not None:
        yield from _permission_remedies(fault, ref, at, str(v.get("access", "")))
    elif at is not None:
        yield Remedy("Fill this entry", "action", at, "fill")


def _permission_remedies(fault: Fault, ref: ReadRef, at: int, access: str) -> Iterator[Remedy]:
    layout = display_layout(ref.read, ref.params)
    raw = ref.read.raw or 0
    if fault.stage == 2:
        s2ap = layout.get(raw, "S2AP")
        if access == "read":
            yield Remedy("Allow reads: S2AP[0]=1", "descriptor", at, "S2AP", s2ap | 1)
        elif access == "write":
            yield Remedy("Allow writes: S2AP[1]=1", "descriptor", at, "S2AP", s2ap | 2)
        elif access == "exec":
            yield Remedy("Allow execution: XN=0", "descriptor", at, "XN", 0)
        return
    ap = layout.get(raw, "AP")
    if access == "read":
        yield Remedy("Allow EL0 access: AP[1]=1", "descriptor", at, "AP", ap | 1)
    elif access == "write":
        yield Remedy("Allow writes: AP[2]=0", "descriptor", at, "AP", ap & 1)
    elif access == "exec":
        for field in ("PXN", "UXN"):
            if field in layout and layout.get(raw, field):
                yield Remedy(f"Allow execution: {field}=0", "descriptor", at, field, 0)


def apply_remedy(config: Configuration, remedy: Remedy) -> Configuration:
    """``config`` with ``remedy`` applied (a "focus" remedy changes nothing)."""
    if remedy.kind == "register":
        name = str(remedy.target)
        if name not in config.registers:
            raise ValueError(f"no register {name[:20]!r}")
        layout = _register_layout(config, name)
        if remedy.field not in layout:
            raise ValueError(f"{name} has no field {remedy.field[:20]!r}")
        value = layout.set(config.registers.get(name, 0), remedy.field, remedy.value)
        return config.with_registers(**{name: value})
    if remedy.kind == "descriptor":
        address = int(remedy.target)
        result = run(config)
        ref = next(
            (
                r
                for r in result.reads()
                if r.read.desc_address == address and r.read.raw is not None
            ),
            None,
        )
        if ref is None:
            raise ValueError(f"the walk reads no descriptor at {address:#x}")
        layout = display_layout(ref.read, ref.params)
        return config.with_memory(
            {address: layout.set(ref.read.raw or 0, remedy.field, remedy.value)}
        )
    if remedy.kind == "action":
        return apply_action(config, run(config), int(remedy.target), remedy.field)
    if remedy.kind == "refill":
        return config.refilled()
    return config


def _register_layout(config: Configuration, name: str) -> Layout:
    return register_layout(name, config.regime, dict(run(config).params))


def _outcome(result: WalkResult) -> tuple:
    f = result.fault
    return (result.output_address, None if f is None else (f.rule, f.level, f.stage, f.fsc))


def remedies(config: Configuration, result: WalkResult | None = None) -> tuple[Remedy, ...]:
    """The one-click changes that avoid the fault of ``config``'s walk: each one applied and
    kept only if the walk's outcome changes (focus remedies are always kept)."""
    result = result if result is not None else run(config)
    out = []
    before = _outcome(result)
    seen = set()
    for remedy in _candidates(config, result):
        if remedy in seen:
            continue
        seen.add(remedy)
        if remedy.kind == "focus":
            out.append(remedy)
            continue
        try:
            after = run(apply_remedy(config, remedy))
        except (ValueError, KeyError):
            continue
        if _outcome(after) != before:
            out.append(remedy)
    return tuple(out)
