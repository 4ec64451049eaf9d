"""The onboarding pages' view of a walk (tour, compare): one row per descriptor read of the
walk proper and of the final stage 2, the stage parameters and the outcome."""

from __future__ import annotations

from app.views.common import hexv, stage_input
from model.arch.result import WalkResult
from model.explore.configs import Configuration, run
from model.teach.linux import linux_view


def _hex(value: int | None) -> str:
    return hexv(value, "")


def walk_summary(
    config: Configuration, result: WalkResult | None = None, kernel: str | None = None
) -> dict:
    """Compact, template-ready walk: one row per level, then the outcome."""
    result = result or run(config)
    linux = linux_view(config, result, kernel)
    names = {n["level"]: n["name"] for n in linux["levels"]}
    rows = []
    s1_stage = 1 if "s1" in result.params else 2
    for lr in (ref.read for ref in result.reads(nested=False)):
        rows.append(
            {
                "stage": lr.stage,
                "level": lr.level,
                "linux": names.get(lr.level, "") if lr.stage == s1_stage else "",
                "index": f"{stage_input(lr.stage)}[{lr.index_hi}:{lr.index_lo}]",
                "index_value": lr.index,
                "table_base": _hex(lr.table_base),
                "desc_address": _hex(lr.desc_address) or "(stage-2 fault)",
                "raw": _hex(lr.raw),
                "kind": lr.kind,
                "next": _hex(lr.next_address or lr.output_address),
                "synthetic": lr.synthetic,
            }
        )
    fault = result.fault
    params = []
    for key, p in result.params.items():
        facts = (f for f in p.facts() if f.key != "table_base")
        params.append({"stage": key, "text": ", ".join(f"{f.name} {f.text}" for f in facts)})
    return {
        "rows": rows,
        "params": params,
        "ok": result.ok,
        "input": _hex(result.input_address),
        "oa": _hex(result.output_address) if result.ok else "",
        "fault": None
        if fault is None
        else {
            "name": fault.fsc_name,
            "fsc": f"{fault.fsc:#04x}",
            "level": fault.level,
            "stage": fault.stage,
            "message": fault.message,
        },
        "linux": linux,
    }
