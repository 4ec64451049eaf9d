"""The onboarding pages' view of a walk (tour, compare): one row per descriptor read of the
walk proper and of the final stage 2, the stage parameters and the outcome."""

from __future__ import annotations

from app.views.common import hexv, stage_input
from model.arch.result import WalkResult
from model.explore.configs import CONFIG_PRESETS, Configuration, run
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


def state_title(config: Configuration) -> str:
    """A state as a person names it: its preset's title, "edited" when it is not the preset."""
    preset = CONFIG_PRESETS.get(config.slug)
    if preset is None:
        return config.title
    return preset.title if preset == config else f"{preset.title} (edited)"


# What a compare row shows of a read: a row differs from its counterpart when one of these does.
_SHOWN = ("index", "index_value", "desc_address", "raw", "kind", "next")


def mark_differing_rows(a: dict, b: dict) -> None:
    """Mark (``changed``) the rows of two walk summaries that differ from the row of the same
    stage and level in the other walk (or have none), so only those are tinted."""
    rows_a = {(r["stage"], r["level"]): r for r in a["rows"]}
    rows_b = {(r["stage"], r["level"]): r for r in b["rows"]}
    for mine, theirs in ((rows_a, rows_b), (rows_b, rows_a)):
        for key, row in mine.items():
            other = theirs.get(key)
            row["changed"] = other is None or any(row[k] != other[k] for k in _SHOWN)
