"""Compare QEMU's PAR_EL1 with the model's, classify every difference.

``classify(scenarios, qemu_results, version)`` returns a ``Report``: per scenario either
"bit-exact", a set of credited deviation rules (deviations.py), or "unclassified" with a
readable explanation. Nothing is skipped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import deviations as dev
import qemu_runner as q
from qemu_runner import Marker, Scenario


@dataclass
class Outcome:
    scenario: Scenario
    qemu: object
    model_par: int | None
    status: str  # "exact" | "deviation" | "unclassified"
    rules: list[str] = field(default_factory=list)
    detail: str = ""


@dataclass
class Report:
    version: tuple
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def exact(self) -> int:
        return sum(o.status == "exact" for o in self.outcomes)

    @property
    def unclassified(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "unclassified"]

    def rule_counts(self) -> Counter:
        c = Counter()
        for o in self.outcomes:
            if o.status == "deviation":
                c.update(o.rules)
        return c

    def summary_line(self) -> str:
        rc = self.rule_counts()
        devs = " ".join(f"{r.name}={rc.get(r.name, 0)}" for r in dev.active_rules(self.version))
        return (
            f"conformance: {len(self.outcomes)} scenarios, {self.exact} bit-exact, "
            f"deviations: {devs or 'none'}, unclassified: {len(self.unclassified)}"
        )


def decode_par(par) -> str:
    if isinstance(par, Marker):
        return repr(par)
    if par & 1:
        from model import fsc_name

        fst = (par >> 1) & 0x3F
        return (
            f"{par:#018x} F=1 FST={fst:#04x} ({fsc_name(fst)}) PTW={(par >> 8) & 1} "
            f"S={(par >> 9) & 1} [63:48]={par >> 48:#x}"
        )
    return (
        f"{par:#018x} F=0 PA={par & 0x000F_FFFF_FFFF_F000:#x} SH={(par >> 7) & 3:#04b} "
        f"NS={(par >> 9) & 1} b10={(par >> 10) & 1} b11={(par >> 11) & 1} "
        f"ATTR={par >> 56:#04x}"
    )


def walk_summary(s: Scenario) -> str:
    try:
        res = dev.model_walk(s)
    except Exception as e:  # noqa: BLE001
        return f"model raised {e!r}"
    lines = []
    for k, p in res.params.items():
        if p is not None:
            lines.append(
                f"  {k}: {p.granule_kb}KB ds={int(p.ds)} iasize={p.iasize} "
                f"start={p.start_level} oa_bits={p.oa_bits} base={p.table_base:#x}"
            )
    for lr in res.levels:
        if lr.s2 is not None:
            for s2 in lr.s2.levels:
                lines.append(
                    f"    s2 L{s2.level} @{(s2.desc_address or 0):#x} "
                    f"= {(s2.raw or 0):#018x} {s2.kind}"
                )
        lines.append(
            f"  s{lr.stage} L{lr.level} @{(lr.desc_address or 0):#x} "
            f"= {(lr.raw or 0):#018x} {lr.kind}"
        )
    if res.s2_final is not None:
        for s2 in res.s2_final.levels:
            lines.append(
                f"  final s2 L{s2.level} @{(s2.desc_address or 0):#x} "
                f"= {(s2.raw or 0):#018x} {s2.kind}"
            )
    f = res.fault
    if f:
        lines.append(
            f"  fault: {f.kind.value} stage {f.stage} level {f.level} "
            f"s1ptw={f.s1ptw} rule={f.rule}: {f.message}"
        )
    else:
        lines.append(
            f"  ok: OA={res.output_address:#x} attrs attr={res.attrs.attr} sh={res.attrs.sh}"
        )
    return "\n".join(lines)


def describe(o: Outcome) -> str:
    s = o.scenario
    regs = ", ".join(f"{k}={v:#x}" for k, v in sorted(s.regs.items()))
    mem = ", ".join(f"{a:#x}: {v:#x}" for a, v in sorted(s.memory.items()))
    mp = decode_par(o.model_par) if o.model_par is not None else "(model raised)"
    return (
        f"--- {s.name} {s.op} va={s.va:#x}\n  regs: {regs}\n  memory: {{{mem}}}\n"
        f"  qemu : {decode_par(o.qemu)}\n  model: {mp}\n  {o.detail}\n"
        f"{walk_summary(s)}"
    )


def classify(scenarios: list[Scenario], results: list, version: tuple) -> Report:
    rep = Report(version=version)
    for s, got in zip(scenarios, results, strict=True):
        try:
            mpar = dev.model_walk(s).par
        except Exception as e:  # noqa: BLE001
            rep.outcomes.append(Outcome(s, got, None, "unclassified", detail=f"model raised {e!r}"))
            continue
        if isinstance(got, int) and dev.pars_equal(got, mpar):
            try:
                exp = dev.expected_qemu(s, version)
            except Exception as e:  # noqa: BLE001
                exp = mpar
                _ = e
            if dev.matches(exp, got):
                rep.outcomes.append(Outcome(s, got, mpar, "exact"))
            else:
                rep.outcomes.append(
                    Outcome(
                        s,
                        got,
                        mpar,
                        "unclassified",
                        detail=f"QEMU gave the architectural answer but the deviation rules "
                        f"predicted {exp!r} ({', '.join(dev.credit(s, version, exp))}): "
                        f"a rule predicate is too broad",
                    )
                )
            continue
        try:
            exp = dev.expected_qemu(s, version)
        except Exception as e:  # noqa: BLE001
            rep.outcomes.append(
                Outcome(s, got, mpar, "unclassified", detail=f"expectation raised {e!r}")
            )
            continue
        if dev.matches(exp, got):
            rules = dev.credit(s, version, exp)
            rep.outcomes.append(Outcome(s, got, mpar, "deviation", rules=rules))
        else:
            exp_txt = decode_par(exp) if isinstance(exp, int) else repr(exp)
            rep.outcomes.append(
                Outcome(
                    s,
                    got,
                    mpar,
                    "unclassified",
                    detail=f"expected QEMU answer under the rules: {exp_txt}",
                )
            )
    return rep


def check_id_regs(id_regs: dict) -> list[str]:
    """Differences between the guest's ID_AA64MMFR0/1/2_EL1 and the model's -cpu max preset
    for translation-relevant fields."""
    from model import CPU, CPU_PRESETS

    mine = CPU_PRESETS["max"]
    got = CPU.from_id_regs(
        id_regs["ID_AA64MMFR0_EL1"], id_regs["ID_AA64MMFR1_EL1"], id_regs["ID_AA64MMFR2_EL1"]
    )
    problems = []
    # exact field values (raw encodings the walker interprets)
    for f in (
        "parange",
        "tgran4",
        "tgran16",
        "tgran64",
        "tgran4_2",
        "tgran16_2",
        "tgran64_2",
        "varange",
        "st",
        "hafdbs",
        "xnx",
    ):
        if getattr(got, f) != getattr(mine, f):
            problems.append(f"{f}: guest {getattr(got, f)} model {getattr(mine, f)}")
    # HPDS: 1 = FEAT_HPDS, 2 = FEAT_HPDS2 (PBHA bits, not modelled); QEMU 10.0 reads 2.
    # The model only asks "HPD supported", so compare that.
    if got.has_hpds != mine.has_hpds:
        problems.append(f"hpds: guest {got.hpds} model {mine.hpds}")
    # VH (ID_AA64MMFR1_EL1[11:8]): E2H is used by the scenarios
    if (id_regs["ID_AA64MMFR1_EL1"] >> 8) & 0xF != (mine.id_aa64mmfr1 >> 8) & 0xF:
        problems.append("VH differs")
    return problems


__all__ = ["Report", "Outcome", "classify", "describe", "check_id_regs", "q"]
