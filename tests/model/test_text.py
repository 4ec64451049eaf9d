"""The plain-text walk: 72 columns, safe to quote, readable, pure."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.explore.configs import CONFIG_PRESETS, run
from model.explore.text import WIDTH, render_text, text_link

SHORT = "https://lpa2.example.org/s/R2XxuxQ"
LONG = "https://lpa2.example.org/?v=2&preset=4k-52-lpa2&" + "&".join(
    f"mem={0x1000 + 8 * i:#x}:0x3" for i in range(12)
)


def five_level_two_stage():
    """4KB, DS=1, T0SZ=12 stage 1 (levels -1..3) over a stage 2 starting at level -1 (SL2)."""
    stage1 = CONFIG_PRESETS["4k-52-lpa2"]
    stage2 = CONFIG_PRESETS["s2-l-1-sl2"]
    regs = {name: stage2.registers[name] for name in ("VTCR_EL2", "VTTBR_EL2", "HCR_EL2")}
    two_stage = replace(stage1.with_registers(**regs), slug="4k-52-lpa2", regime="el10_s12")
    return two_stage.refilled()


CASES = {**CONFIG_PRESETS, "two-stage-5x5": five_level_two_stage()}


def check_mail_safe(text: str, link: str) -> None:
    assert text.endswith("\n")
    lines = text.splitlines()
    assert text_link(text) == link
    for number, line in enumerate(lines, 1):
        assert len(line) <= WIDTH, f"line {number} is {len(line)} columns: {line!r}"
        assert "\t" not in line
        assert line == line.rstrip(), f"trailing space on line {number}"
        assert not line.startswith((">", "From ")), line
        assert line.isascii(), line
    quoted = "\n".join("> " + line if line else ">" for line in lines)
    assert max(len(q) for q in quoted.splitlines()) <= WIDTH + 2


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_line_fits_72_columns(name):
    config = CASES[name]
    check_mail_safe(render_text(config, link=SHORT), SHORT)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_long_link_is_wrapped_in_angle_brackets(name):
    """RFC 3986 appendix C: the link in <>, over lines a reader rejoins by dropping the white
    space; each line but the first starts with one of the link's parameters."""
    text = render_text(CASES[name], link=LONG)
    check_mail_safe(text, LONG)
    lines = text.splitlines()
    block = lines[next(i for i, line in enumerate(lines) if line.startswith("Link: <")) :]
    assert len(block) > 1 and block[-1].endswith(">")
    assert all(line.startswith("  &") for line in block[1:])
    assert "".join(line.strip() for line in block) == f"Link: <{LONG}>"


def test_a_link_without_places_to_break_is_cut_and_rejoins():
    link = "https://" + "x" * 150 + ".example.org/?v=2"
    text = render_text(CONFIG_PRESETS["4k-48"], link=link)
    check_mail_safe(text, link)


def test_five_level_two_stage_walk_is_shown_in_full():
    config = five_level_two_stage()
    result = run(config)
    assert result.fault is None
    assert [read.level for read in result.levels] == [-1, 0, 1, 2, 3]
    assert all([r.level for r in read.s2.levels] == [-1, 0, 1, 2, 3] for read in result.levels)
    text = render_text(config, result=result, link=SHORT)
    lines = text.splitlines()
    final = lines.index("Stage 1 output IPA 0x000f123456789abc, its stage-2 walk:")
    # Every read is a row of one aligned table; stage-2 rows say "s2". The nested walks (one
    # under each stage-1 table read) come before the stage-2 walk of the output IPA.
    assert sum(line.startswith("  s2 L") for line in lines[:final]) == 25
    assert sum(line.startswith("  s2 L") for line in lines[final:]) == 5
    assert sum("its stage-2 walk:" in line for line in lines[:final]) == 5
    for read in result.levels:
        assert f"{read.desc_address:#018x}" in text
        assert f"{read.raw:#018x}" in text
    assert "OA[51:50] = 0x3               <- S2 L3 desc[9:8]" in text


def test_the_4k_lpa2_walk_reads_like_this():
    config = CONFIG_PRESETS["4k-52-lpa2"]
    result = run(config)
    text = render_text(config, result=result, link=SHORT)
    assert text.startswith("LPA2 Explorer walk: 4KB granule, 52-bit VA with FEAT_LPA2")
    assert "Stage 1: TCR_EL1 4KB granule, DS=1, T0SZ=12 (52-bit VA), 52-bit OA" in text
    assert "Input VA 0x000f123456789abc" in text
    assert "  L-1   [51:48]=0xf   0x0008000041234078" in text
    assert "Output PA 0x000f123456789abc  (4KB page at level 3)" in text
    assert "OA[51:50] = 0x3               <- L3 desc[9:8]" in text
    assert "OA[11:0]  = 0xabc             <- VA[11:0]" in text


def test_a_fault_names_level_fsc_and_reason():
    text = render_text(CONFIG_PRESETS["fault-translation-l-1"], link=SHORT)
    assert "FAULT: translation fault at level -1, stage 1" in text
    assert "FSC 0x2b (0b101011): Translation fault, level -1 (FEAT_LPA2)" in text
    assert "why: Block descriptor at level -1" in text
    assert "Output PA" not in text


def test_pure_and_deterministic():
    config = CONFIG_PRESETS["s1-48-over-s2-52"]
    result = run(config)
    before = result.to_dict()
    first = render_text(config, result=result, link=SHORT)
    assert render_text(config, result=result, link=SHORT) == first
    assert render_text(config, link=SHORT) == first
    assert result.to_dict() == before


def test_from_a_bare_result_and_without_link():
    config = CONFIG_PRESETS["4k-52-lpa2"]
    text = render_text(run(config), registers=config.registers)
    assert "TCR_EL1   0x08000006b510350c" in text
    assert "Link:" not in text
    assert not text.endswith("\n\n")


def test_notes_come_first_and_wrap():
    note = "This link could not be read in full; " + "tcr_el1=0x -- truncated; " * 6
    text = render_text(CONFIG_PRESETS["4k-48"], link=SHORT, notes=[note])
    assert text.startswith("NOTE: This link")
    check_mail_safe(text, SHORT)


def test_lines_that_mail_would_mangle_are_shifted():
    from model.explore.text import _safe

    out = _safe(["From here", "> quoted", "fine"], None)
    assert out.splitlines() == [" From here", " > quoted", "fine"]


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(sorted(CONFIG_PRESETS)),
    st.sampled_from(["el10", "el2", "el20", "stage2", "el10_s12"]),
    st.dictionaries(
        st.sampled_from(["TCR_EL1", "TCR_EL2", "VTCR_EL2", "HCR_EL2", "TTBR0_EL1"]),
        st.integers(min_value=0, max_value=(1 << 64) - 1),
        max_size=3,
    ),
    st.integers(min_value=0, max_value=(1 << 64) - 1),
)
def test_any_state_renders_within_72_columns(slug, regime, registers, address):
    config = replace(
        CONFIG_PRESETS[slug].with_registers(**registers), regime=regime, address=address
    )
    check_mail_safe(render_text(config, link=SHORT), SHORT)
