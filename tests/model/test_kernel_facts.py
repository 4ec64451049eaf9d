"""Linux/KVM facts by kernel release: each fact's rule and range, the matrix rows issue 14
names, the series' own test matrix row by row, and the sourcing of every statement."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from model.arch.cpu import CPU_PRESETS
from model.arch.fields import TCR_EL2_E2H
from model.explore.configs import CONFIG_PRESETS, run
from model.teach import kernel_facts as kf
from model.teach import linux, matrix, tour
from model.teach.kvm_setup import Hardware, Host, decide

V = kf.VERSIONS_BY_TAG
ALL = kf.VERSIONS


def setup(tag, hw_pa="lpa2", hw_va=52, page=4, pa=48, va=48, mode="vhe"):
    return decide(V[tag], Hardware(hw_pa, hw_va), Host(page, pa, va, mode))


def regime(s, key):
    return next(r for r in s.regimes if r.key == key)


def in_range(key):
    return [v.tag for v in ALL if kf.fact(key).holds(v)]


def cites(statements, key):
    return any(st.fact == key for st in statements)


# -- the table itself ---------------------------------------------------------------------


def test_every_fact_cites_a_file_a_range_and_a_commit():
    assert len({f.key for f in kf.FACTS}) == len(kf.FACTS)
    for f in kf.FACTS:
        assert f.file.startswith("arch/arm64/"), f.key
        assert f.range_text and in_range(f.key), f.key
        assert re.fullmatch(r"[0-9a-f]{12}", f.commit), f.key
        assert f.commit_title and f.text.endswith("."), f.key
        tag = in_range(f.key)[0]
        url = f.file_url(V[tag])
        assert url.startswith(f"https://elixir.bootlin.com/linux/{tag}/source/arch/arm64/")
        if f.function:
            assert f.function_url(V[tag]).endswith(f"/{tag}/A/ident/{f.function}")
        assert f.commit_url.endswith(f.commit)


def test_links_point_at_the_selected_release_when_the_fact_holds_for_it():
    f = kf.fact("hyp-tcr-host")
    assert "/v6.14/" in f.file_url(V["v6.14"]) and "/v7.2/" in f.file_url(V["v7.2"])
    # Outside its range a fact links to the first release it holds for.
    assert "/v6.14/" in f.file_url(V["v6.8"])
    moved = kf.fact("hvhe-opt-in")
    assert moved.file_url(V["v6.8"]).endswith("/v6.8/source/arch/arm64/kernel/idreg-override.c")
    assert moved.file_url(V["v6.9"]).endswith("/v6.9/source/arch/arm64/kernel/pi/idreg-override.c")


def test_versions_and_selector_values():
    tags = [v.tag for v in ALL]
    assert tags[0] == "v6.8" and "v6.14" in tags and ALL[-1] == kf.DEFAULT_VERSION
    assert kf.version("6.14") == kf.version("v6.14") == V["v6.14"]
    assert kf.version(None) == kf.version("") == kf.DEFAULT_VERSION
    with pytest.raises(ValueError, match="v6.8"):
        kf.version("v9.9")


# The recorded range of every fact; a fact added or re-dated without a look at the sources
# fails here first.
RANGES = {
    "kvm-lpa2": "6.8+",
    "kvm-lpa2-64k": "6.8+",
    "kvm-vtcr-ds": "6.8+",
    "kvm-pte-format": "6.8+",
    "kvm-ipa-limit": "6.8+",
    "kvm-parange-max": "6.8–6.13",
    "kvm-parange-max-any": "6.14+",
    "kvm-s2-levels": "6.8+",
    "kvm-min-block": "6.8+",
    "pkvm-host-s2": "6.8+",
    "host-lpa2-stub": "6.8 only",
    "host-lpa2": "6.9+",
    "kconfig-va52-64k-only": "6.8 only",
    "kconfig-va52": "6.9+",
    "kconfig-pa-64k-only": "6.8 only",
    "kconfig-pa-bits": "6.9–6.13",
    "kconfig-pa-removed": "6.14+",
    "host-ips": "6.8–6.13",
    "host-ips-lpa2": "6.14+",
    "pgtable-levels": "6.8+",
    "pgtable-levels-52": "6.9+",
    "pgtable-folding": "6.8+",
    "host-lpa2-descriptors": "6.9+",
    "phys-to-ttbr": "6.8+",
    "no-live-ds-flip": "6.9+",
    "image-below-2-48": "6.9+",
    "lpa2-implies-lva": "6.9+",
    "nolva-parange": "6.14+",
    "hyp-va-bits-idmap": "6.8 only",
    "hyp-va-bits": "6.9+",
    "hyp-pgtable": "6.8+",
    "hyp-tcr-kvm": "6.8–6.13",
    "hyp-tcr-host": "6.14+",
    "hvhe-opt-in": "6.8–6.9",
    "hvhe-protected": "6.10+",
    "hvhe-tcr-e2h0-bits": "6.8–6.13",
    "hvhe-tcr": "6.14+",
    "esr-addrsz-nl-0x25": "6.9–7.1",
    "esr-addrsz-nl": "7.2+",
    "esr-level-minus-1": "6.9+",
}


def test_every_fact_has_a_recorded_range_and_a_behaviour_test():
    assert set(RANGES) == {f.key for f in kf.FACTS}
    tested = {name[len("test_fact_") :].replace("_", "-") for name in globals()}
    missing = {k for k in RANGES if k not in tested}
    assert not missing, f"facts without a test_fact_<key>: {sorted(missing)}"


@pytest.mark.parametrize("key", sorted(RANGES))
def test_fact_range(key):
    assert kf.fact(key).range_text == RANGES[key]


# -- one test per fact: the model follows the rule in its range ----------------------------


def test_fact_kvm_lpa2():
    for tag in in_range("kvm-lpa2"):
        # Both stages needed; the host's VA/PA sizes play no part.
        assert setup(tag, "lpa2").kvm_lpa2
        if tag != "v6.8":  # no 4K 52-bit kernel in 6.8
            assert setup(tag, "lpa2", pa=52, va=52).kvm_lpa2
        assert not setup(tag, "lpa2-s1").kvm_lpa2 and not setup(tag, "lpa2-s2").kvm_lpa2
        assert not setup(tag, "lpa").kvm_lpa2
    # From the CPU presets: TGran4_2 must be 0b0011, "0 (see TGran4)" does not count.
    assert Hardware.from_cpu(CPU_PRESETS["max"], 4).pa == "lpa2"
    assert Hardware.from_cpu(CPU_PRESETS["lpa2-s1-only"], 4).pa == "lpa2-s1"
    assert Hardware.from_cpu(CPU_PRESETS["lpa2-s2-only"], 16).pa == "lpa2-s2"
    assert Hardware.from_cpu(CPU_PRESETS["max"].replace(tgran4_2=0), 4).pa == "lpa2-s1"


def test_fact_kvm_lpa2_64k():
    for tag in in_range("kvm-lpa2-64k"):
        s = setup(tag, "lpa2", page=64, pa=52, va=52)
        assert not s.kvm_lpa2 and not regime(s, "guest-s2").ds
        assert cites(s.facts, "kvm-lpa2-64k")


def test_fact_kvm_vtcr_ds():
    for tag in in_range("kvm-vtcr-ds"):
        for hw in ("lpa2", "lpa2-s1", "lpa"):
            s = setup(tag, hw, mode="protected")
            for key in ("guest-s2", "host-s2"):
                r = regime(s, key)
                assert r.ds == s.kvm_lpa2 == bool(r.fields["DS"])


def test_fact_kvm_pte_format():
    # The descriptor format follows kvm_lpa2_is_enabled(); since 6.14 the hyp TCR does not,
    # and the product says so where they differ.
    hyp = regime(setup("v6.14", "lpa2", mode="nvhe"), "hyp-s1")
    assert not hyp.ds and cites(hyp.warnings, "kvm-pte-format")
    assert not regime(setup("v6.13", "lpa2", mode="nvhe"), "hyp-s1").warnings
    view = linux.linux_view(CONFIG_PRESETS["nvhe-hyp-lpa2"], kernel="v7.2")
    assert "kvm-pte-format" in linux.statement_facts(view)


def test_fact_kvm_ipa_limit():
    for tag in in_range("kvm-ipa-limit"):
        # 64K: never capped, whatever PA size the host is built for (48 only before 6.14).
        host_pa = 48 if V[tag].number < (6, 14) else 52
        assert setup(tag, "lpa", page=64, pa=host_pa).ipa_limit == 52
        assert setup(tag, "lpa", page=4).ipa_limit == 48  # no LPA2: capped
        assert setup(tag, "lpa2", page=4).ipa_limit == 52  # LPA2 under a 48/48 host
        assert setup(tag, "48", hw_va=48, page=64, pa=52).ipa_limit == 48  # PARange


def test_fact_kvm_parange_max():
    for tag in in_range("kvm-parange-max"):
        # 64K, FEAT_LPA, built for 48-bit PAs: PS 48 although the IPA limit is 52.
        g = regime(setup(tag, "lpa", page=64, pa=48, va=48), "guest-s2")
        assert (g.input_bits, g.output_bits) == (52, 48)
        assert regime(setup(tag, "lpa", page=64, pa=52, va=48), "guest-s2").output_bits == 52


def test_fact_kvm_parange_max_any():
    for tag in in_range("kvm-parange-max-any"):
        g = regime(setup(tag, "lpa", page=64, pa=52, va=48), "guest-s2")
        assert (g.input_bits, g.output_bits) == (52, 52)
        assert cites(g.statements, "kvm-parange-max-any")
        assert regime(setup(tag, "lpa", page=4), "guest-s2").output_bits == 48


def test_fact_kvm_s2_levels():
    for ipa, page, start, concat in ((52, 4, 0, 16), (48, 4, 0, 1), (40, 4, 1, 2), (52, 64, 1, 1)):
        kvm = linux.kvm_stage2(ipa, page)
        assert (kvm["start_level"], kvm["concatenated"]) == (start, concat)
    for tag in in_range("kvm-s2-levels"):
        g = regime(setup(tag, "lpa2"), "guest-s2")
        assert (g.start_level, g.concatenated, g.fields["SL0"]) == (0, 16, 0b10)
        assert "SL2" not in g.fields  # never level -1


def test_fact_kvm_min_block():
    assert {g: linux.kvm_stage2(48, g)["min_block_level"] for g in (4, 16, 64)} == {
        4: 1,
        16: 2,
        64: 2,
    }
    view = linux.linux_view(CONFIG_PRESETS["s2-52-concat16"])
    assert "kvm-min-block" in linux.statement_facts(view)


def test_fact_pkvm_host_s2():
    for tag in in_range("pkvm-host-s2"):
        s = setup(tag, "lpa2", pa=52, va=52, mode="protected") if tag != "v6.8" else None
        s = s or setup(tag, "lpa2", page=64, pa=52, va=52, mode="protected")
        h = regime(s, "host-s2")
        assert h.input_bits == h.output_bits == 52 and h.ds == s.kvm_lpa2
        assert "host-s2" not in [r.key for r in setup(tag, mode="nvhe").regimes]


def test_fact_host_lpa2_stub():
    s = setup("v6.8", "lpa2")
    assert not s.host_ds and cites(s.facts, "host-lpa2-stub")
    view = linux.linux_view(CONFIG_PRESETS["4k-52-lpa2"], kernel="v6.8")
    assert "host-lpa2-stub" in linux.statement_facts(view)


def test_fact_host_lpa2():
    for tag in in_range("host-lpa2"):
        assert setup(tag, "lpa2", pa=52, va=52).host_ds
        assert setup(tag, "lpa2-s1", pa=52, va=52).host_ds  # stage 1 is enough for the host
        assert not setup(tag, "lpa2-s2", pa=52, va=52).host_ds
        assert not setup(tag, "lpa2", pa=48, va=48).host_ds  # not built for 52-bit VAs


def test_fact_kconfig_va52_64k_only():
    s = setup("v6.8", "lpa2", pa=52, va=52)
    assert not s.valid and s.problem.fact == "kconfig-va52-64k-only"
    assert setup("v6.8", "lpa", hw_va=52, page=64, pa=52, va=52).vabits_actual == 52
    assert setup("v6.9", "lpa2", pa=52, va=52).valid


def test_fact_kconfig_va52():
    for tag in in_range("kconfig-va52"):
        assert setup(tag, "lpa2", pa=52, va=52).vabits_actual == 52
        assert setup(tag, "lpa", pa=52, va=52).vabits_actual == 48
        assert setup(tag, "lpa", page=16, pa=52, va=52).vabits_actual == 47
        assert setup(tag, "lpa", hw_va=48, page=64, pa=52, va=52).vabits_actual == 48


def test_fact_kconfig_pa_64k_only():
    s = setup("v6.8", "lpa", pa=52, va=48)
    assert not s.valid and s.problem.fact == "kconfig-pa-64k-only"


def test_fact_kconfig_pa_bits():
    for tag in in_range("kconfig-pa-bits"):
        s = setup(tag, "lpa", pa=52, va=48)
        assert not s.valid and s.problem.fact == "kconfig-pa-bits"
        assert setup(tag, "lpa", page=64, pa=48, va=52).valid


def test_fact_kconfig_pa_removed():
    for tag in in_range("kconfig-pa-removed"):
        s = setup(tag, "lpa", page=64, pa=48, va=48)
        assert not s.valid and s.problem.fact == "kconfig-pa-removed"
        assert setup(tag, "lpa", page=64, pa=52, va=48).valid
        view = linux.linux_view(CONFIG_PRESETS["4k-48"], kernel=tag)
        assert "kconfig-pa-removed" in linux.statement_facts(view)


def test_fact_host_ips():
    # Before the fix a 4K PA_BITS_52 kernel without LPA2 still set IPS to 52 bits.
    for tag in in_range("host-ips"):
        if tag != "v6.8":
            assert setup(tag, "lpa", pa=52, va=52).host_pa_bits == 52


def test_fact_host_ips_lpa2():
    for tag in in_range("host-ips-lpa2"):
        assert setup(tag, "lpa", pa=52, va=52).host_pa_bits == 48
        assert setup(tag, "lpa2", pa=52, va=52).host_pa_bits == 52
        assert setup(tag, "lpa", page=64, pa=52, va=48).host_pa_bits == 52


def test_fact_pgtable_levels():
    from model.arch import geometry as geo

    for g, sizes in linux.VA_OPTIONS.items():
        for va in sizes:
            walk_levels = 3 - geo.s1_start_level(va, g) + 1
            assert linux.pgtable_levels(g, va) == walk_levels == linux.hw_pgtable_levels(va, g)


def test_fact_pgtable_levels_52():
    assert (linux.pgtable_levels(4, 52), linux.pgtable_levels(16, 52)) == (5, 4)
    view = linux.linux_view(CONFIG_PRESETS["4k-52-lpa2"], kernel="v6.9")
    assert "pgtable-levels-52" in linux.statement_facts(view)


def test_fact_pgtable_folding():
    assert linux.table_names(5) == ("pgd", "p4d", "pud", "pmd", "pte")
    assert linux.table_names(3) == ("pgd", "pmd", "pte")
    assert [n["name"] for n in linux.level_names(-1)][0:2] == ["pgd", "p4d"]


def test_fact_host_lpa2_descriptors():
    for tag, expect in (("v6.8", False), ("v6.9", True)):
        view = linux.linux_view(CONFIG_PRESETS["4k-52-lpa2"], kernel=tag)
        assert ("host-lpa2-descriptors" in linux.statement_facts(view)) is expect


def test_fact_phys_to_ttbr():
    # The tour's 52-bit TTBR step cites it; the walk has base[51:48] in TTBR[5:2].
    n = next(i for i, s in enumerate(tour.steps(), 1) if s.slug == "ttbr-52")
    assert [f.key for f in tour.linux_facts(n)] == ["phys-to-ttbr"]
    assert (tour.step(n).config.registers["TTBR0_EL1"] >> 2) & 0xF


def test_fact_no_live_ds_flip():
    n = next(i for i, s in enumerate(tour.steps(), 1) if s.slug == "ds-on")
    assert "no-live-ds-flip" in [f.key for f in tour.linux_facts(n, "v6.9")]
    assert "no-live-ds-flip" not in [f.key for f in tour.linux_facts(n, "v6.8")]


def test_fact_image_below_2_48():
    row = matrix.row("lpa2-va52-nvhe-4k-pa52-va52", "v6.13")
    high = [p for p in row.placements if p.host_load == "high"]
    assert high and not any(p.ok for p in high) and high[0].why.fact == "image-below-2-48"
    row64 = matrix.row("lpa2-va52-nvhe-64k-pa52-va52", "v6.13")
    assert all(p.ok for p in row64.placements if p.host_load == "high")


def test_fact_lpa2_implies_lva():
    for tag in in_range("lpa2-implies-lva"):
        r = matrix.row("lpa2-va48-vhe-4k-pa48-va48", tag)
        assert not r.valid and r.invalid.fact == "lpa2-implies-lva"
    r = matrix.row("lpa2-va48-vhe-4k-pa48-va48", "v6.8")
    assert not r.valid and r.invalid.fact == ""  # not a Linux rule before v6.9


def test_fact_nolva_parange():
    assert kf.fact("nolva-parange").function == "mmfr2_varange_filter"
    assert kf.fact("nolva-parange").commit == kf.fact("host-ips-lpa2").commit


def test_fact_hyp_va_bits_idmap():
    s = decide(V["v6.8"], Hardware("lpa", 52), Host(64, 52, 52, "nvhe"))
    assert regime(s, "hyp-s1").input_bits == 52 and cites(
        regime(s, "hyp-s1").statements, "hyp-va-bits-idmap"
    )


def test_fact_hyp_va_bits():
    for tag in in_range("hyp-va-bits"):
        assert regime(setup(tag, mode="nvhe"), "hyp-s1").input_bits == 48
        assert regime(setup(tag, pa=52, va=52, mode="nvhe"), "hyp-s1").input_bits == 52
    # A 39-bit host's hypervisor still walks 48 bits from level 0.
    config = CONFIG_PRESETS["nvhe-hyp-lpa2"]
    view = linux.linux_view(config, kernel="v7.2")
    assert "hyp-va-bits" in linux.statement_facts(view)


def test_fact_hyp_pgtable():
    for tag in in_range("hyp-pgtable"):
        for pa, va, start in ((48, 48, 0),) + (((52, 52, -1),) if tag != "v6.8" else ()):
            assert regime(setup(tag, pa=pa, va=va, mode="nvhe"), "hyp-s1").start_level == start
    view = linux.linux_view(CONFIG_PRESETS["nvhe-hyp-lpa2"])
    assert {n["name"] for n in view["levels"]} == {"hyp"}


def test_fact_hyp_tcr_kvm():
    for tag in in_range("hyp-tcr-kvm"):
        hyp = regime(setup(tag, "lpa2", mode="nvhe"), "hyp-s1")
        assert hyp.ds and hyp.fields["DS"] == 1 and cites(hyp.statements, "hyp-tcr-kvm")


def test_fact_hyp_tcr_host():
    for tag in in_range("hyp-tcr-host"):
        hyp = regime(setup(tag, "lpa2", mode="nvhe"), "hyp-s1")
        assert not hyp.ds and cites(hyp.statements, "hyp-tcr-host")


def test_fact_hvhe_opt_in():
    for tag in in_range("hvhe-opt-in"):
        hyp = regime(setup(tag, "lpa2", mode="protected"), "hyp-s1")
        assert not hyp.e2h and hyp.regime == "el2"


def test_fact_hvhe_protected():
    for tag in in_range("hvhe-protected"):
        hyp = regime(setup(tag, "lpa2", mode="protected"), "hyp-s1")
        assert hyp.e2h and hyp.regime == "el20"
        assert not regime(setup(tag, "lpa2", mode="nvhe"), "hyp-s1").e2h


def test_fact_hvhe_tcr_e2h0_bits():
    # 6.10-6.13 with hVHE: PS lands in T1SZ[2:0] and DS (from kvm_lpa2) in IPS[0].
    hyp = regime(setup("v6.13", "lpa2", pa=52, va=52, mode="protected"), "hyp-s1")
    assert hyp.fields["IPS"] == 0b111 and hyp.fields["T1SZ"] & 0b111 == 0b110
    assert hyp.ds and hyp.fields["DS"] == 1  # bit 59, copied from the host


def test_fact_hvhe_tcr():
    for tag in in_range("hvhe-tcr"):
        hyp = regime(setup(tag, "lpa2", pa=52, va=52, mode="protected"), "hyp-s1")
        assert hyp.fields["IPS"] == 0b110 and hyp.fields["A1"] == 0 and hyp.fields["EPD1"] == 1
        tcr = TCR_EL2_E2H.encode(**hyp.fields)
        assert TCR_EL2_E2H.get(tcr, "DS") == 1 and TCR_EL2_E2H.get(tcr, "T0SZ") == 12
        # The explorer's panel tells the hVHE hypervisor (TGE=0) from a VHE host (TGE=1).
        config = matrix.row("lpa2-va52-protected-4k-pa52-va52", tag).regime("hyp-s1").config
        view = linux.linux_view(config, kernel=tag)
        assert "hVHE" in view["stage1"] and "hvhe-tcr" in linux.statement_facts(view)
        host = matrix.row("lpa2-va52-vhe-4k-pa52-va52", tag).regime("host-s1").config
        assert "VHE host" in linux.linux_view(host, kernel=tag)["stage1"]


ADDRSZ_FAULT = "fault-l-1-addrsize"


def _addrsz_view(tag):
    n = next(i for i, s in enumerate(tour.steps(), 1) if s.slug == ADDRSZ_FAULT)
    result = tour.result(n)
    assert result.fault.fsc == 0x29
    return linux.linux_view(tour.step(n).config, result, tag)


def test_fact_esr_addrsz_nl_0x25():
    for tag in in_range("esr-addrsz-nl-0x25"):
        assert linux.statement_facts(_addrsz_view(tag))[-1:] == ["esr-addrsz-nl-0x25"]
        assert "0x25" in linux.fsc_statements(0x29, tag)[0].text
    assert linux.fsc_statements(0x29, "v6.8") == []  # no such macro yet


def test_fact_esr_addrsz_nl():
    for tag in in_range("esr-addrsz-nl"):
        assert linux.statement_facts(_addrsz_view(tag))[-1:] == ["esr-addrsz-nl"]
    assert linux.fsc_statements(0x25, "v7.2") == []


def test_fact_esr_level_minus_1():
    from model.arch.faults import FaultKind, fsc_for

    # The codes the fact says Linux's macros give are the architecture's.
    assert fsc_for(FaultKind.TRANSLATION, -1) == 0x2B and fsc_for(FaultKind.SEA_WALK, -1) == 0x13
    assert fsc_for(FaultKind.ADDRESS_SIZE, -1) == 0x29


# -- the matrix rows issue 14 names -------------------------------------------------------


def test_guest_stage2_on_lpa2_hardware_under_a_48_48_4k_host():
    for tag in ("v6.8", "v6.13", "v7.2"):
        r = matrix.row("lpa2-va52-vhe-4k-pa48-va48", tag)
        host, guest = r.regime("host-s1"), r.regime("guest-s2")
        assert (host.ds, host.input_bits) == (False, 48)
        assert (guest.ds, guest.input_bits, guest.start_level, guest.concatenated) == (
            True,
            52,
            0,
            16,
        )


def test_64k_guest_ipa_on_a_48_bit_host():
    old = matrix.row("lpa-va52-vhe-64k-pa48-va48", "v6.13").regime("guest-s2")
    assert (old.input_bits, old.output_bits) == (52, 48)  # IPA uncapped, PS capped
    new = matrix.row("lpa-va52-vhe-64k-pa52-va48", "v7.2").regime("guest-s2")
    assert (new.input_bits, new.output_bits) == (52, 52)
    assert not matrix.row("lpa-va52-vhe-64k-pa48-va48", "v7.2").valid


def test_hyp_stage1_before_and_after_the_6_14_change():
    before = matrix.row("lpa2-va52-nvhe-4k-pa48-va48", "v6.13").regime("hyp-s1")
    after = matrix.row("lpa2-va52-nvhe-4k-pa48-va48", "v6.14").regime("hyp-s1")
    assert (before.ds, before.input_bits, before.start_level) == (True, 48, 0)
    assert (after.ds, after.input_bits, after.start_level) == (False, 48, 0)
    assert before.fields["PS"] == 0b110 and after.fields["PS"] == 0b101
    assert run(before.config).params["s1"].ds and not run(after.config).params["s1"].ds


def test_lpa2_stage1_only_hardware():
    for tag in ("v6.13", "v6.14"):
        r = matrix.row("lpa2-s1-va52-nvhe-4k-pa52-va52", tag)
        assert r.regime("host-s1").ds and not r.regime("guest-s2").ds
        assert r.regime("guest-s2").input_bits == 48  # no LPA2 for KVM: IPA capped
    # 6.9-6.13: the hyp's T0SZ=12 with DS=0 faults - the bug the 6.14 change fixed.
    before = matrix.row("lpa2-s1-va52-nvhe-4k-pa52-va52", "v6.13").regime("hyp-s1")
    assert before.broken and not run(before.config).ok
    after = matrix.row("lpa2-s1-va52-nvhe-4k-pa52-va52", "v6.14").regime("hyp-s1")
    assert not after.broken and run(after.config).ok and after.warnings


# -- the series' own test matrix, row by row ----------------------------------------------


def _seed_rows():
    text = (Path(__file__).parent / "seed_matrix.txt").read_text()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            hw, hw_va, mode, page, va, pa, hl, gl, ok = line.split("|")
            key = f"{hw}-va{hw_va}-{mode}-{page}-pa{pa}-va{va}"
            yield key, hl, gl, ok == "True"


SEED = list(_seed_rows())


@pytest.mark.parametrize("kernel", ["v6.9", "v6.10", "v6.13"])
def test_seed_matrix_row_by_row(kernel):
    assert len(SEED) == 180
    seed_rows = {key for key, *_ in SEED}
    for key, hl, gl, ok in SEED:
        r = matrix.row(key, kernel)
        assert r.valid, (key, r.invalid)
        place = {(p.host_load, p.guest_load): p.ok for p in r.placements}
        assert place.get((hl, gl)) is ok, (key, hl, gl)
    # ...and nothing else: the seed's other combinations are not possible here, and every
    # load case offered is one of the seed's.
    seed_cases = {(key, hl, gl) for key, hl, gl, _ in SEED}
    for r in matrix.rows(kernel):
        if not r.in_seed_domain:
            continue
        assert r.valid == (r.key in seed_rows), r.key
        for p in r.placements:
            assert (r.key, p.host_load, p.guest_load) in seed_cases, (r.key, p)


def test_seed_rows_in_later_releases():
    # Since 6.14 there is no PA option: the seed's 64K rows built for 48-bit PAs have no kernel.
    gone = [k for k, *_ in SEED if "-64k-pa48-" in k]
    assert gone and all(not matrix.row(k, "v6.14").valid for k in gone)
    kept = [k for k, *_ in SEED if "-64k-pa48-" not in k]
    assert all(matrix.row(k, "v6.14").valid for k in kept)


# -- every statement is sourced, for the release it is made about -------------------------


@pytest.mark.parametrize("kernel", [v.tag for v in ALL])
def test_every_matrix_statement_cites_a_fact_that_holds(kernel):
    v = V[kernel]
    for r in matrix.rows(kernel):
        statements = [r.invalid] if not r.valid else list(r.setup.facts)
        for g in r.regimes:
            statements += g.statements + g.warnings
        statements += [p.why for p in r.placements if p.why]
        for st in statements:
            if st.fact:
                assert kf.fact(st.fact).holds(v), (r.key, st)
            else:
                assert "Linux" not in st.text and "KVM" not in st.text, st


@pytest.mark.parametrize("kernel", [v.tag for v in ALL])
def test_every_panel_statement_cites_a_fact_that_holds(kernel):
    v = V[kernel]
    for config in CONFIG_PRESETS.values():
        for cpu in CPU_PRESETS:
            c = replace(config, cpu=cpu)
            view = linux.linux_view(c, run(c), kernel)
            keys = linux.statement_facts(view)
            assert keys or not (view["stage1_statements"] or view["stage2_statements"])
            for key in keys:
                assert kf.fact(key).holds(v), (config.slug, cpu, key)


def test_tour_and_glossary_cite_only_known_facts():
    from model.teach import glossary

    for n in range(1, len(tour.steps()) + 1):
        for entry in tour.step(n).linux:
            assert all(k in kf.FACTS_BY_KEY for k in entry.split("|"))
        for v in ALL:
            assert all(f.holds(v) for f in tour.linux_facts(n, v.tag))
    for t in glossary.TERMS:
        assert all(k in kf.FACTS_BY_KEY for k in t.linux), t.slug


def test_panel_says_where_a_walk_and_kvm_differ():
    # The walk's DS is not KVM's: an LPA2 stage 2 on a CPU without stage-2 LPA2.
    c = replace(CONFIG_PRESETS["s2-52-concat16"], cpu="lpa2-s1-only")
    view = linux.linux_view(c, run(c))
    first = view["stage2_statements"][0]["text"]
    assert "VTCR_EL2.DS=0" in first
