"""Onboarding data: tour, compare, geometry reference, decoder, Linux names, matrix, glossary."""

import random
import re

import pytest

from model.arch.fields import LAYOUTS, TCR_EL1, VTCR_EL2
from model.explore.compare import compare, config_changes, flip_ds, meaning_changes, other_granule
from model.explore.configs import CONFIG_PRESETS, run
from model.teach import decode as dec
from model.teach import glossary, linux, matrix, reference, tour

# -- tour ---------------------------------------------------------------------------------------


def test_tour_has_at_least_ten_distinct_steps():
    steps = tour.steps()
    assert len(steps) >= 10
    assert len({s.slug for s in steps}) == len(steps)
    for n in range(2, len(steps) + 1):
        assert tour.changes(n), f"step {n} changes nothing"


def test_tour_covers_the_lpa2_story():
    results = [tour.result(n) for n in range(1, len(tour.steps()) + 1)]
    first = results[0].params["s1"]
    assert (first.granule_kb, first.iasize, first.ds) == (4, 48, False)
    assert any(r.params.get("s1") and r.params["s1"].start_level == -1 for r in results)
    assert any(r.params.get("s1") and r.params["s1"].start_table_entries == 16 for r in results)
    assert any(r.params.get("s2") and r.params["s2"].sl2 == 1 for r in results)
    assert any(r.params.get("s2") and r.params["s2"].concatenated_tables == 16 for r in results)
    fscs = {r.fault.fsc for r in results if r.fault}
    assert {0x2B, 0x29} <= fscs  # the level -1 codes
    leaves = {
        (r.params["s1"].granule_kb, lr.level)
        for r in results
        if "s1" in r.params
        for lr in r.levels
        if lr.kind == "block"
    }
    assert {(4, 0), (16, 1)} <= leaves
    variants = {p.desc_variant for r in results for p in r.params.values()}
    assert {"DS0", "DS1", "LPA"} <= variants


def test_tour_step_two_changes_exactly_ds():
    labels = [c.label for c in tour.changes(2)]
    assert labels == ["TCR_EL1.DS"]


def test_tour_oa_bits_from_descriptor_bits_9_8():
    n = next(i for i, s in enumerate(tour.steps(), 1) if s.slug == "oa-51-50")
    r = tour.result(n)
    assert r.output_address >> 50 == 0b11
    leaf = r.levels[-1]
    assert LAYOUTS[leaf.layout].get(leaf.raw, "OA_51_50") == 0b11


# -- compare ------------------------------------------------------------------------------------


def test_flip_ds_changes_only_ds_and_the_meaning_of_bits_9_8():
    a = CONFIG_PRESETS["4k-48"]
    cmp = compare(a, flip_ds(a))
    assert [c.label for c in cmp.changes] == ["TCR_EL1.DS"]
    assert not cmp.levels_added and not cmp.levels_removed and not cmp.index_moved
    for d in cmp.levels:
        ranges = {(m.hi, m.lo) for m in d.meaning}
        assert ranges == {(9, 8), (49, 48)}, (d.level, ranges)
    leaf = cmp.levels[-1]
    assert {(m.a, m.b) for m in leaf.meaning if m.hi == 9} == {("SH", "OA_51_50")}


def test_flip_ds_on_a_52_bit_walk_removes_every_level():
    a = CONFIG_PRESETS["4k-52-lpa2"]
    cmp = compare(a, flip_ds(a))
    assert cmp.outcome_differs and cmp.rb.fault is not None
    assert len(cmp.levels_removed) == 5


def test_other_granule_moves_every_index_and_drops_level_minus_1():
    a = CONFIG_PRESETS["4k-52-lpa2"]
    b = other_granule(a)
    assert TCR_EL1.get(b.registers["TCR_EL1"], "TG0") == 0b10
    assert TCR_EL1.get(b.registers["TCR_EL1"], "TG1") == 0b01
    cmp = compare(a, b)
    assert [(d.stage, d.level) for d in cmp.levels_removed] == [(1, -1)]
    assert all(d.index_moved for d in cmp.levels if d.status == "both")
    # The variant at the other granule comes with tables re-filled for it.
    assert {c.label for c in cmp.changes} == {"TCR_EL1.TG0", "TCR_EL1.TG1", "background tables"}
    assert cmp.rb.ok


def test_other_granule_keeps_stage2_consistent():
    for slug in ("s2-52-concat16", "s2-l-1-sl2", "s1-48-over-s2-52"):
        b = other_granule(CONFIG_PRESETS[slug])
        assert run(b).ok, slug
        assert VTCR_EL2.get(b.registers["VTCR_EL2"], "TG0") == 0b10


def test_meaning_changes_between_formats():
    got = {
        (m.hi, m.lo, m.a, m.b) for m in meaning_changes(LAYOUTS["S1_PAGE"], LAYOUTS["S1_PAGE_DS1"])
    }
    assert got == {(9, 8, "SH", "OA_51_50"), (49, 48, "RES0_49_48", "OA")}
    assert meaning_changes(LAYOUTS["S1_PAGE"], LAYOUTS["S1_PAGE"]) == []


def test_config_changes_reports_a_descriptor_edit_exactly():
    a = CONFIG_PRESETS["4k-48"]
    b = CONFIG_PRESETS["fault-access-flag"]
    changes = config_changes(a, b)
    assert [(c.where, c.field, c.old, c.new) for c in changes] == [
        ("stage-1 L3 descriptor", "AF", 1, 0)
    ]


# -- geometry reference -------------------------------------------------------------------------


@pytest.mark.parametrize("row", reference.stage1_rows(), ids=lambda r: f"{r.mode.slug}-{r.iasize}")
def test_stage1_row_agrees_with_the_walker(row):
    result = run(row.config)
    p = result.params["s1"]
    assert result.ok, result.fault
    assert p.start_level == row.start_level
    assert p.start_table_entries == row.entries
    assert len(result.levels) == row.levels_read
    assert {lr.level: (lr.index_hi, lr.index_lo) for lr in result.levels} == row.index
    assert p.start_table_align == row.align


def _s2_id(r):
    return f"{r.mode.slug}-sl0{r.sl0}-sl2{r.sl2}-{r.iasize}"


@pytest.mark.parametrize("row", reference.stage2_rows(), ids=_s2_id)
def test_stage2_row_agrees_with_the_walker(row):
    if row.config is None:
        assert row.invalid
        return
    result = run(row.config)
    p = result.params["s2"]
    assert result.ok, result.fault
    assert (p.start_level, p.concatenated_tables) == (row.start_level, row.concatenated)
    assert len(result.levels) == 3 - row.start_level + 1
    assert {lr.level: (lr.index_hi, lr.index_lo) for lr in result.levels} == row.index
    assert row.t0sz_range[0] <= row.t0sz <= row.t0sz_range[1]


def test_geometry_covers_every_start_level():
    starts = {(r.mode.slug, r.start_level) for r in reference.stage1_rows()}
    assert ("4k-ds1", -1) in starts and ("16k-ds1", 0) in starts and ("64k-lpa", 1) in starts
    assert ("4k-ds0", -1) not in starts


# -- decoder ------------------------------------------------------------------------------------


def _targets():
    out = [dec.Target(k) for k, r in dec.REGISTERS.items() if not r.needs]
    for key in ("TTBR", "TTBR0_EL2", "VTTBR_EL2"):
        out += [dec.Target(key, fmt="48"), dec.Target(key, fmt="52")]
    for key in ("S1_DESC", "S2_DESC"):
        for variant, granules in (("DS0", (4, 16, 64)), ("DS1", (4, 16)), ("LPA", (64,))):
            for g in granules:
                for level in dec.LEVELS:
                    t = dec.Target(key, variant=variant, granule=g, level=level)
                    try:
                        t.validate()
                    except ValueError:
                        continue
                    out.append(t)
    return out


def _fixed_bits(target):
    """Bits the decoder uses to choose a layout, with the values that select each layout."""
    if target.key == "PAR_EL1":
        return [0, 1]
    if target.key == "ESR_ELx":
        return [0x24 << 26, 0x21 << 26, 0x16 << 26]
    if target.key.endswith("_DESC"):
        return [0b11, 0b01, 0b00]
    return [0]


@pytest.mark.parametrize(
    "target", _targets(), ids=lambda t: f"{t.key}-{t.fmt}-{t.variant}-{t.granule}-{t.level}"
)
def test_decoder_round_trip(target):
    rng = random.Random(hash((target.key, target.variant, target.level, target.fmt)) & 0xFFFF)
    for selector in _fixed_bits(target):
        for _ in range(20):
            layouts = dec.layouts_for(target, selector)
            value = 0
            expected = {}
            for lay in layouts:
                fields = {}
                for f in lay.fields:
                    if f.kind == "res0":
                        continue
                    fields[f.name] = rng.getrandbits(f.width)
                part = lay.encode(**fields) if lay.name != "ESR_ELx" else 0
                if lay.name == "ESR_ELx":
                    for name, v in fields.items():
                        part = lay.set(part, name, v)
                expected[lay.name] = fields
                if lay.width == 25:  # an ISS inside ESR
                    value = (value & ~((1 << 25) - 1)) | part
                else:
                    value |= part
            # keep the selector bits so that the same layouts are chosen
            if target.key == "PAR_EL1":
                value = (value & ~1) | selector
            elif target.key == "ESR_ELx":
                value = (value & ~(0x3F << 26)) | selector
            elif target.key.endswith("_DESC"):
                value = (value & ~3) | selector
            d = dec.decode(target, value)
            assert [lay.name for lay in dec.layouts_for(target, value)] == d.layouts
            by_section: dict = {}
            for r in d.rows:
                by_section.setdefault(r.section, {})[r.name] = r.value
            for lay in dec.layouts_for(target, value):
                got = by_section[
                    "ISS" if lay.width == 25 else ("ESR" if lay.name == "ESR_ELx" else "")
                ]
                for f in lay.fields:
                    assert got[f.name] == f.extract(value if lay.width != 25 else value & 0x1FFFFFF)
                    if (
                        f.name in expected.get(lay.name, {})
                        and lay.name != "ESR_ELx"
                        and selector_bits_untouched(target, f)
                    ):
                        assert got[f.name] == expected[lay.name][f.name]


def selector_bits_untouched(target, f):
    if target.key == "PAR_EL1":
        return f.lo > 0
    if target.key.endswith("_DESC"):
        return f.lo > 1
    return True


def test_decoder_descriptor_kinds():
    t = dec.Target("S1_DESC", variant="DS1", granule=4, level=0)
    assert dec.decode(t, 0x1).descriptor_kind == "block"
    assert dec.decode(dec.Target("S1_DESC", variant="DS0", level=0), 0x1).descriptor_kind == (
        "block-not-allowed"
    )
    assert dec.decode(dec.Target("S1_DESC", variant="DS1", level=-1), 0x1).descriptor_kind == (
        "block-not-allowed"
    )
    assert dec.decode(dec.Target("S1_DESC", level=3), 0x3).descriptor_kind == "page"
    assert dec.decode(dec.Target("S1_DESC", level=3), 0x1).descriptor_kind == "reserved"
    assert dec.decode(dec.Target("S1_DESC", level=2), 0x2).descriptor_kind == "invalid"


def test_decoder_fault_codes_and_par():
    d = dec.decode(dec.Target("ESR_ELx"), 0x9600002B)
    dfsc = next(r for r in d.rows if r.name == "DFSC")
    assert "level -1" in dfsc.meaning
    par = dec.decode(dec.Target("PAR_EL1"), (0x29 << 1) | 1)
    assert par.layouts == ["PAR_EL1_FAULT"]
    assert "level -1" in next(r for r in par.rows if r.name == "FST").meaning


def test_decoder_rejects_impossible_targets():
    with pytest.raises(ValueError):
        dec.Target("S1_DESC", variant="DS0", level=-1).validate()
    with pytest.raises(ValueError):
        dec.Target("S1_DESC", variant="DS1", granule=64).validate()
    with pytest.raises(ValueError):
        dec.Target("NOPE").validate()


# -- Linux names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "levels,names",
    [
        (5, ("pgd", "p4d", "pud", "pmd", "pte")),
        (4, ("pgd", "pud", "pmd", "pte")),
        (3, ("pgd", "pmd", "pte")),
        (2, ("pgd", "pte")),
    ],
)
def test_table_name_folding(levels, names):
    assert linux.table_names(levels) == names


def test_kvm_stage2_uses_concatenation_not_level_minus_1():
    kvm = linux.kvm_stage2(52, 4)
    assert (kvm["start_level"], kvm["concatenated"], kvm["sl0"]) == (0, 16, 2)
    assert linux.kvm_stage2(40, 4)["start_level"] == 1
    assert linux.kvm_stage2(40, 4)["concatenated"] == 2
    assert linux.kvm_stage2(52, 64)["start_level"] == 1


def test_linux_view_states_sources():
    view = linux.linux_view(CONFIG_PRESETS["s1-48-over-s2-52"])
    assert view["stage1_statements"] and view["stage2_statements"]
    for s in view["stage1_statements"] + view["stage2_statements"]:
        assert s["fact"]["file"].startswith("arch/arm64/")
        assert s["fact"]["file_url"].startswith("https://elixir.bootlin.com/linux/v")
    text = " ".join(s["text"] for s in view["stage2_statements"])
    assert "KVM_PGTABLE_MIN_BLOCK_LEVEL" in text and "SL2" in text


# -- matrix -------------------------------------------------------------------------------------


def test_matrix_shape_and_reasons():
    rows = matrix.rows("v6.13")
    assert len(rows) == 5 * 2 * 3 * 3 * 2 * 2
    bad = next(r for r in rows if r.key == "lpa-va52-nvhe-4k-pa52-va48")
    assert not bad.valid and "ARM64_PA_BITS_52" in bad.invalid.text
    good = next(r for r in rows if r.key == "lpa2-va52-protected-4k-pa52-va52")
    keys = [g.key for g in good.regimes]
    assert keys == ["host-s1", "hyp-s1", "guest-s2", "host-s2"]
    assert all(g.ds for g in good.regimes)
    s2 = good.regimes[2]
    assert (s2.start_level, s2.concatenated) == (0, 16)
    hyp = good.regimes[1]
    assert hyp.start_level == -1
    vhe = next(r for r in rows if r.key == "lpa2-va52-vhe-16k-pa52-va52")
    assert [g.key for g in vhe.regimes] == ["host-s1", "guest-s2"]


@pytest.mark.parametrize("kernel", [v.tag for v in matrix.versions()])
def test_every_matrix_walk_agrees_with_the_walker(kernel):
    fmt = {"LPA2 (DS=1)": "DS1", "64KB + FEAT_LPA": "LPA", "48-bit (DS=0)": "DS0"}
    for row in matrix.rows(kernel):
        for g in row.regimes:
            result = run(g.config)
            if g.broken:
                # KVM's own register value is out of range: the walk must fault at set-up.
                assert not result.ok and result.fault.level == 0, (row.key, g.key)
                continue
            p = result.params.get("s1") or result.params.get("s2")
            assert result.ok, (row.key, g.key, result.fault)
            assert (p.start_level, p.concatenated_tables, p.iasize, p.oa_bits, p.ds) == (
                g.start_level,
                g.concatenated,
                g.input_bits,
                g.output_bits,
                g.ds,
            ), (row.key, g.key)
            if not row.cpu_note:
                assert p.desc_variant == fmt[g.format], (row.key, g.key)


# -- glossary -----------------------------------------------------------------------------------


def test_every_term_has_a_definition_and_valid_links():
    slugs = set(glossary.TERMS_BY_SLUG)
    assert len(slugs) == len(glossary.TERMS)
    for t in glossary.TERMS:
        assert len(t.definition) > 40, t.slug
        assert re.fullmatch(r"[a-z0-9-]+", t.slug)
        assert set(t.see) <= slugs, t.slug


def test_required_terms_exist():
    for name in (
        "DS",
        "LPA2",
        "LPA",
        "LVA",
        "TxSZ",
        "IPS",
        "granule",
        "stride",
        "start level",
        "level -1",
        "concatenation",
        "SL0",
        "52-bit TTBR format",
        "OA",
        "IPA",
        "PA",
        "VA",
        "descriptor",
        "block",
        "page",
        "table",
        "AF",
        "AP",
        "APTable",
        "HPD",
        "PXN",
        "UXN",
        "XNX",
        "S1PTW",
        "FSC",
        "PAR",
        "ESR",
        "nVHE",
        "VHE",
        "stage 1",
        "stage 2",
        "TBI",
        "EPD",
        "E0PD",
    ):
        assert glossary.lookup(name) is not None, name


def test_find_terms_respects_case_for_acronyms():
    spans = glossary.find_terms("the pa of a page with DS=1 at level -1")
    slugs = [t.slug for _, _, t in spans]
    assert slugs == ["ds", "level-minus-1"]
