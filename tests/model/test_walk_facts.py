"""The facts a walk states once for every renderer: its reads across both stages, where each
output bit came from (with its stage and one label), the parameters with their reasons, the
fault rules, and the syndrome registers of a fault."""

from __future__ import annotations

import pytest

from model import FAULT_RULES, LAYOUTS, Access, FaultKind, Regime, at_walk, walk
from model.arch import syndromes
from model.arch.descriptors import BitSource, source_label
from model.arch.faults import Fault, fsc_for
from model.explore.configs import CONFIG_PRESETS, run
from model.explore.text import render_text
from model.teach import decode as dec

from .test_two_stage_at import S1_TABLES_IPA, VA, VTTBR, _idx, scenario

ESR = LAYOUTS["ESR_ELx"]
DA = LAYOUTS["ESR_ISS_DA"]
IA = LAYOUTS["ESR_ISS_IA"]
HPFAR = LAYOUTS["HPFAR_EL2"]


# -- the reads of both stages -----------------------------------------------------------------


def test_reads_list_both_stages_in_walk_order_with_roles_and_parameters():
    result = run(CONFIG_PRESETS["s1-48-over-s2-52"])
    refs = result.reads()
    roles = [ref.role for ref in refs]
    # Four stage-1 levels, each preceded by the stage-2 walk of its table address (4 levels),
    # then the four levels of the final stage 2.
    assert roles == (["nested-s2"] * 4 + ["main"]) * 4 + ["final-s2"] * 4
    assert len(refs) == result.descriptor_reads
    for ref in refs:
        assert ref.params.stage == ref.read.stage
        if ref.role == "nested-s2":
            assert ref.serves is not None and ref.serves.s2 is not None
            assert ref.read in ref.serves.s2.levels
            # The nested walk translated the stage-1 read's table address.
            assert ref.params.input_address == ref.serves.desc_ipa
        else:
            assert ref.serves is None
    assert [r.params.input_address for r in refs if r.role == "final-s2"] == [result.ipa] * 4
    assert [r.read for r in result.reads(nested=False)] == [
        *result.levels,
        *result.s2_final.levels,
    ]


def test_reads_of_stage2_alone_carry_the_ipa():
    config = CONFIG_PRESETS["s2-52-concat16"]
    result = run(config)
    assert {ref.role for ref in result.reads()} == {"main"}
    assert all(ref.params.input_address == config.address for ref in result.reads())


# -- bit provenance ---------------------------------------------------------------------------


def test_every_bit_source_knows_its_stage():
    result = run(CONFIG_PRESETS["s1-48-over-s2-52"])
    stages = {(s.source, s.stage) for s in result.oa_sources}
    # Stage-2 descriptor bits above the stage-2 page offset, then the IPA bits stage 1
    # supplied: here all of them come from the VA's page offset.
    assert stages == {("desc", 2), ("ia", 1)}
    alone = run(CONFIG_PRESETS["s2-52-concat16"])
    assert {s.stage for s in alone.oa_sources} == {2}


def test_source_label_names_the_stage_only_when_two_stages_supply_bits():
    desc2 = BitSource(51, 50, "desc", 9, 8, 3, 2)
    desc1 = BitSource(47, 12, "desc", 47, 12, 3, 1)
    offset = BitSource(11, 0, "ia", 11, 0, 3, 1)
    assert source_label(desc2, two_stage=True, input_name="VA") == "S2 L3 desc[9:8]"
    assert source_label(desc1, two_stage=True, input_name="VA") == "S1 L3 desc[47:12]"
    assert source_label(desc2, two_stage=False, input_name="IPA") == "L3 desc[9:8]"
    assert source_label(offset, two_stage=True, input_name="VA") == "VA[11:0]"
    assert source_label(offset, two_stage=False, input_name="IPA") == "IPA[11:0]"


@pytest.mark.parametrize("slug", ["s2-52-concat16", "s2-l-1-sl2", "s1-48-over-s2-52", "4k-52-lpa2"])
def test_plain_text_names_output_bits_with_the_one_label(slug):
    result = run(CONFIG_PRESETS[slug])
    text = render_text(CONFIG_PRESETS[slug], result=result)
    for src in result.oa_sources:
        assert f"<- {result.source_label(src)}\n" in text


# -- parameter facts --------------------------------------------------------------------------


def test_parameter_facts_state_each_value_with_its_reason():
    p = run(CONFIG_PRESETS["s2-l-1-sl2"]).params["s2"]
    facts = {f.key: f for f in p.facts()}
    assert facts["granule"].value == 4 and "VTCR_EL2.TG0=0b00" in facts["granule"].why
    assert facts["ds"].value is True and facts["ds"].why == p.ds_why
    assert facts["start_level"].value == -1 and facts["start_level"].why == "SL0=0 SL2=1"
    assert facts["iasize"].text == "52 bits" and facts["iasize"].why == "VTCR_EL2.T0SZ=12"
    assert facts["desc_variant"].why == "OA[51:50] in desc[9:8]"
    assert facts["table_base"].value == p.table_base
    assert len(facts) == len(p.facts())  # keys are unique


# -- the fault rule catalogue -----------------------------------------------------------------


def test_each_rule_writes_its_sentences_with_level_and_stage_filled_in():
    for rule in FAULT_RULES.values():
        assert rule.id and rule.kind in FaultKind
    # A walk's fault carries its rule; level and stage come from where it was raised.
    result = run(CONFIG_PRESETS["fault-access-flag"])
    f = result.fault
    assert f.rule == "af-zero" and FAULT_RULES["af-zero"] is f.explained_by
    assert f.message == "The level 3 page descriptor has AF=0 (bit 10) and TCR_EL1.HA=0."
    assert f.fsc == fsc_for(FaultKind.ACCESS_FLAG, 3)


# -- syndromes --------------------------------------------------------------------------------


def test_stage1_data_abort_from_el1_is_taken_at_el1():
    result = run(CONFIG_PRESETS["fault-permission"])  # EL1 write to a read-only page
    s = result.syndrome
    assert s.target_el == 1 and s.ec == 0x25  # Data Abort, same EL
    assert ESR.get(s.esr, "IL") == 1 and s.iss == result.esr_iss
    assert DA.get(s.iss, "WnR") == 1 and DA.get(s.iss, "S1PTW") == 0
    assert DA.get(s.iss, "DFSC") == result.fault.fsc
    assert s.far == result.input_address and s.hpfar is None
    assert result.fault.wnr and result.fault.ipa is None


def test_el0_access_and_instruction_fetch_pick_their_exception_class():
    config = CONFIG_PRESETS["fault-translation-l-1"]
    regs, mem = config.registers, config.memory
    el0 = walk(Regime.EL10, regs, mem, config.address, "el0r")
    assert el0.syndrome.ec == 0x24 and el0.syndrome.target_el == 1  # lower EL
    fetch = walk(Regime.EL10, regs, mem, config.address, "el1x")
    assert fetch.syndrome.ec == 0x21  # Instruction Abort, same EL
    assert IA.get(fetch.syndrome.iss, "IFSC") == 0x2B
    el2 = walk(Regime.EL2, {}, {}, 1 << 60, "el2r")  # EL2 regime: taken to EL2
    assert el2.fault is not None and el2.syndrome.ec == 0x25 and el2.syndrome.target_el == 2
    tge = walk(Regime.EL10, {**regs, "HCR_EL2": 1 << 27}, mem, config.address, "el0r")
    assert tge.syndrome.target_el == 2 and tge.syndrome.ec == 0x24


def test_stage2_fault_on_a_table_read_reports_the_table_ipa():
    regs, mem = scenario(s2_ok=False)
    result = walk(Regime.EL10_S12, regs, mem, VA, Access(0, "write"))
    f = result.fault
    table_ipa = S1_TABLES_IPA + _idx(VA, 30)
    assert f.stage == 2 and f.s1ptw and f.ipa == table_ipa
    assert not f.wnr  # the access that faulted is the walk's read of the table
    s = result.syndrome
    assert s.target_el == 2 and s.ec == 0x24  # from EL0, taken to EL2
    assert DA.get(s.iss, "S1PTW") == 1 and DA.get(s.iss, "WnR") == 0
    assert s.far == VA
    assert HPFAR.get(s.hpfar, "FIPA") == table_ipa >> 12


def test_stage2_fault_on_the_final_ipa_reports_it():
    regs, mem = scenario()
    mem[VTTBR] &= ~(1 << 7)  # stage 2 read-only
    result = walk(Regime.EL10_S12, regs, mem, VA, Access(1, "write"))
    f = result.fault
    assert f.stage == 2 and not f.s1ptw and f.wnr and f.ipa == result.ipa
    s = result.syndrome
    assert s.ec == 0x24 and DA.get(s.iss, "WnR") == 1
    assert HPFAR.get(s.hpfar, "FIPA") == result.ipa >> 12


def test_stage2_alone_has_no_virtual_address():
    result = walk(Regime.STAGE2, {}, {}, 0x1234_5000, "el1r")
    assert result.fault is not None and result.fault.ipa == 0x1234_5000
    assert result.syndrome.far is None
    assert HPFAR.get(result.syndrome.hpfar, "FIPA") == 0x12345


def test_esr_decodes_with_the_same_tables():
    result = run(CONFIG_PRESETS["fault-translation-l-1"])
    decoded = dec.decode(dec.Target("ESR_ELx"), result.syndrome.esr)
    rows = {(row.section, row.name): row for row in decoded.rows}
    assert decoded.layouts == ["ESR_ELx", "ESR_ISS_DA"]
    assert rows[("ESR", "EC")].meaning == "Data Abort, same EL"
    assert rows[("ISS", "DFSC")].value == result.fault.fsc == 0x2B
    assert dec.ESR_TOP is ESR


def test_par_encodes_success_and_fault():
    f = Fault(FaultKind.TRANSLATION, 2, 2, True, fsc_for(FaultKind.TRANSLATION, 2), None)  # type: ignore[arg-type]
    par = syndromes.par_fault(f)
    parf = LAYOUTS["PAR_EL1_FAULT"]
    assert parf.get(par, "F") == 1 and parf.get(par, "FST") == 0x06
    assert parf.get(par, "PTW") == 1 and parf.get(par, "S") == 1
    ok = syndromes.par_success(0x0008_1234_5678_9000, 0x44, 0b11)
    par_ok = LAYOUTS["PAR_EL1"]
    assert par_ok.get(ok, "PA") << 12 == 0x0008_1234_5678_9000
    assert par_ok.get(ok, "ATTR") == 0x44 and par_ok.get(ok, "SH") == 0b10  # Normal NC


def test_at_flat_fault_has_a_syndrome():
    regs = {"HCR_EL2": 1 << 31}  # SCTLR_EL1.M=0: flat
    result = at_walk("s1e1w", 1 << 56, regs, {})
    assert result.fault.rule == "flat-oa-out-of-range" and result.fault.wnr
    assert result.syndrome.ec == 0x25


# -- plans ------------------------------------------------------------------------------------


def test_plans_are_shared_by_walks_of_one_register_set_and_change_nothing():
    from model.arch import plans

    configs = list(CONFIG_PRESETS.values())
    plans.clear_plans()
    fresh = []
    for config in configs:
        plans.clear_plans()  # each walk derives its own plans
        fresh.append(run(config).to_dict())
    plans.clear_plans()
    interleaved = [run(config).to_dict() for config in configs + configs]
    assert interleaved == fresh + fresh
    info = plans.stage1_plan.cache_info()
    assert info.hits >= len(configs)  # the second round reused the first round's plans
    # A plan is keyed by what it depends on: another TCR value is another plan.
    config = CONFIG_PRESETS["4k-48"]
    a = run(config)
    b = run(config.with_registers(TCR_EL1=config.registers["TCR_EL1"] ^ (1 << 14)))
    assert a.params["s1"].granule_kb != b.params["s1"].granule_kb
