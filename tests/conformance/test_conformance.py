"""QEMU conformance: generated scenarios + hand-written edge cases, model vs QEMU.

Environment: LPA2_CONFORMANCE_SCENARIOS (default 3000), LPA2_CONFORMANCE_SEED (default
20250101). One summary line is printed at the end of the session (conftest.py hook):

    conformance: N scenarios, M bit-exact, deviations: rule=a ..., unclassified: 0
"""

from __future__ import annotations

import os
import time

import compare
import controls
import deviations as dev
import edge_cases
import edge_cases_hyp
import generator
import pytest
import qemu_runner as q

pytestmark = pytest.mark.usefixtures("qemu_tools")

N = int(os.environ.get("LPA2_CONFORMANCE_SCENARIOS", "3000"))
SEED = int(os.environ.get("LPA2_CONFORMANCE_SEED", "20250101"))
SHOW = 10

STATE: dict = {}  # read by conftest.pytest_terminal_summary


def _run(scenarios):
    t0 = time.monotonic()
    res = q.run_many(scenarios, batch_size=1000, workers=2)
    return res, time.monotonic() - t0


@pytest.fixture(scope="session")
def conformance_run(qemu_tools):
    gens = generator.generate(SEED, N)
    edges = edge_cases.build() + edge_cases_hyp.build()
    sweep = controls.attribute_sweep()
    scenarios = [e.scenario for e in edges] + sweep + [g.scenario for g in gens]
    res, t_qemu = _run(scenarios)
    version = q.qemu_version()
    t0 = time.monotonic()
    rep = compare.classify(scenarios, res.pars, version)
    t_model = time.monotonic() - t0
    STATE.update(
        report=rep, version=version, t_qemu=t_qemu, t_model=t_model, gens=gens, edges=edges
    )
    return {"report": rep, "res": res, "edges": edges, "gens": gens}


def _fail_text(outs) -> str:
    return "\n".join(compare.describe(o) for o in outs[:SHOW])


def test_id_registers_match_model_preset(conformance_run):
    problems = compare.check_id_regs(conformance_run["res"].id_regs)
    assert not problems, problems


def test_edge_cases_model_matches_fact_sheet(conformance_run):
    """The model's architectural answers for the edge cases are the fact sheet's."""
    bad = []
    for e in conformance_run["edges"] + edge_cases.fact_sheet_model_only():
        s = e.scenario
        par = dev.model_walk(s).par
        if e.arch_pa is not None and (par & 1 or (par & 0x000F_FFFF_FFFF_F000) != e.arch_pa):
            bad.append(f"{s.name}: model {compare.decode_par(par)}, fact sheet PA {e.arch_pa:#x}")
        if e.arch_fst is not None and (not par & 1 or (par >> 1) & 0x3F != e.arch_fst):
            bad.append(
                f"{s.name}: model {compare.decode_par(par)}, fact sheet FST {e.arch_fst:#04x}"
            )
    assert not bad, "\n".join(bad)


def test_hypervisor_edge_cases_attributes(conformance_run):
    """PAR.ATTR of the HCR_EL2.DC/FWB/CD edge cases is the architecture's."""
    want = edge_cases_hyp.attr_expectations()
    got = {
        e.scenario.name: dev.model_walk(e.scenario).par >> 56
        for e in conformance_run["edges"]
        if e.scenario.name in want
    }
    assert got == want


def test_edge_cases_qemu(conformance_run):
    rep = conformance_run["report"]
    n = len(conformance_run["edges"])
    unc = [o for o in rep.outcomes[:n] if o.status == "unclassified"]
    assert not unc, f"{len(unc)} unclassified edge cases:\n{_fail_text(unc)}"


def test_each_rule_has_a_working_example(conformance_run):
    """Every deviation rule active for this QEMU is exercised by its minimal example."""
    rep = conformance_run["report"]
    by_name = {o.scenario.name: o for o in rep.outcomes}
    missing = []
    for r in dev.active_rules(rep.version):
        o = by_name.get(r.example)
        if o is None or o.status != "deviation" or r.name not in o.rules:
            missing.append(
                f"{r.name}: example {r.example} -> "
                f"{o.status if o else 'absent'} {o.rules if o else ''}"
            )
    assert not missing, "\n".join(missing)


def test_generated_scenarios(conformance_run):
    rep = conformance_run["report"]
    unc = rep.unclassified
    assert not unc, (
        f"{rep.summary_line()}\nfirst {min(SHOW, len(unc))} unclassified "
        f"mismatches:\n{_fail_text(unc)}"
    )


def test_generator_covers_the_hypervisor_controls(conformance_run):
    """Every control and hardware-update feature appears in the generated scenarios, DC with
    each AT operation it affects, and the sweep has every attribute pair once."""
    gens = conformance_run["gens"]
    tags = set().union(*(g.tags for g in gens))
    wanted = {f"dc-vm{vm}-m{m}" for vm in (0, 1) for m in (0, 1)} | {
        "hcr-fwb",
        "hcr-cd",
        "hcr-ptw",
        "hcr-dc-over-s1-tables",
        "s1-ha",
        "s1-ha-hd",
        "s1-dbm",
        "s1-af0-ha",
        "s2-ha",
        "s2-ha-hd",
        "s2-dbm",
        "s2-table-page-ro",
        "s2-table-page-af0",
        "s2-table-page-dbm",
        "s2-table-page-device",
    }
    assert wanted <= tags, sorted(wanted - tags)
    dc_ops = {t for g in gens if "regime-dc" in g.tags for t in g.tags if t.startswith("op-")}
    assert dc_ops == {f"op-{op}" for op in generator._DC_OPS}
    names = [s.name for s in controls.attribute_sweep()]
    n_fwb0 = len(controls.NOFWB_MEMATTRS) * (len(controls.MAIR_BYTES) + 1)
    n_fwb1 = len(controls.FWB_MEMATTRS) * (len(controls.MAIR_BYTES) + 1)
    assert len(set(names)) == len(names) == 2 * (n_fwb0 + n_fwb1)
