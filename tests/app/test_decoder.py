"""The decoder finishes the job: only the options a register uses, the assembled address of
every descriptor format (checked against the walker's own reads), TxSZ/TG/SL0 as sizes and
levels, no sentence said twice, and "Open in the explorer" to a state that uses the value."""

from __future__ import annotations

import html
import random
import re

import pytest

from app.state import decode
from model.arch import geometry as geo
from model.arch.result import NESTED
from model.explore.configs import CONFIG_PRESETS, run
from model.teach import decode as dec
from tests.app.test_click_views import random_states


def fieldsets(page: str) -> dict[str, bool]:
    """Each option fieldset of the form, and whether it is shown (not hidden and disabled)."""
    return {
        name: "hidden disabled" not in rest
        for name, rest in re.findall(r'<fieldset data-option="(\w+)"([^>]*)>', page)
    }


@pytest.mark.parametrize("reg", list(dec.REGISTERS))
def test_only_the_options_a_register_uses(client, reg):
    page = client.get("/decode", params={"reg": reg, "value": "0x3"}).text
    needs = dec.REGISTERS[reg].needs
    assert fieldsets(page) == {"fmt": "fmt" in needs, "variant": "variant" in needs}
    option = re.search(rf'<option value="{reg}" data-needs="([^"]*)"', page)[1]
    assert option.split() == list(needs)


def descriptor_targets(config):
    """(target, raw, walker's read) of every descriptor a walk read and decoded."""
    for ref in run(config).reads():
        read, params = ref.read, ref.params
        if ref.role == NESTED or read.raw is None or not read.fields:
            continue
        target = dec.Target(
            "S1_DESC" if read.stage == 1 else "S2_DESC",
            variant=params.desc_variant,
            granule=params.granule_kb,
            level=read.level,
        )
        yield target, read.raw, read


def walked_states():
    states = list(CONFIG_PRESETS.values())
    for slug in ("4k-52-lpa2", "64k-52-lpa", "16k-52-lpa2", "s1-48-over-s2-52", "4k-48"):
        states += random_states(slug, 10, seed=7)[1:]
    return states


def test_the_assembled_address_is_the_walkers():
    """For every descriptor the walker read and followed, the decoder's assembled address is
    the next table's address, or the output address without the input's offset bits."""
    checked = set()
    for config in walked_states():
        for target, raw, read in descriptor_targets(config):
            d = dec.decode(target, raw)
            if read.next_address is not None and read.kind == "table":
                assert d.address is not None and d.address.value == read.next_address
                assert d.address.label == "Next-level table address"
            elif read.output_address is not None and read.kind in ("block", "page"):
                size = 1 << geo.block_size_bits(read.level, target.granule)
                assert d.address is not None, (target, hex(raw))
                assert d.address.value == read.output_address & ~(size - 1), (target, hex(raw))
                assert d.address.label == "Output address"
            else:
                continue
            checked.add((target.variant, target.granule, d.descriptor_kind))
    # Every descriptor format the explorer walks: DS=0, DS=1 (4KB, 16KB) and 64KB with LPA.
    assert {(v, g) for v, g, _ in checked} >= {("DS0", 4), ("DS1", 4), ("DS1", 16), ("LPA", 64)}
    assert {k for _, _, k in checked} >= {"table", "block", "page"}


def test_the_address_names_where_each_piece_comes_from(client):
    page = client.get(
        "/decode",
        params={"reg": "S1_DESC", "value": "0x0042DCBA98765F47", "variant": "DS1", "level": "3"},
    ).text
    block = re.search(r'<div class="onb-address".*?</div>', page, re.S)[0]
    text = html.unescape(re.sub(r"<[^>]+>", "", block))
    assert "Output address 0x000edcba98765000 (4KB page)" in " ".join(text.split())
    assert "[51:50] from descriptor bits [9:8]" in text
    assert "[49:12] from descriptor bits [49:12]" in text
    assert "[11:0] from the input address" in text
    lpa = dec.decode(dec.Target("S1_DESC", variant="LPA", granule=64, level=3), 0xF003)
    assert lpa.address.pieces[0] == ("[51:48]", "descriptor bits [15:12]")
    assert lpa.address.value == 0xF << 48
    assert dec.decode(dec.Target("S1_DESC", level=3), 0x2).address is None  # invalid


@pytest.mark.parametrize(
    ("reg", "value", "field", "meaning"),
    [
        ("TCR_EL1", 25, "T0SZ", "39-bit VA (TTBR0 range), starts at level 1 (3 levels"),
        ("TCR_EL1", 12 | 1 << 59, "T0SZ", "52-bit VA (TTBR0 range), starts at level -1"),
        ("TCR_EL1", 12, "T0SZ", "below 16 needs DS=1 (FEAT_LPA2): out of range with DS=0"),
        (
            "TCR_EL1",
            25 << 16 | 1 << 30,
            "T1SZ",
            "39-bit VA (TTBR1 range), starts at level 1 (3 levels, 8 ",
        ),
        ("TCR_EL1", 1 << 30, "TG1", "16KB granule: 14 page-offset bits, 11 index bits a level"),
        ("TCR_EL2", 16 | 1 << 14, "T0SZ", "48-bit VA (TTBR0_EL2 range), starts at level 1"),
        ("VTCR_EL2", 12 | 2 << 6 | 1 << 32, "SL0", "starts at level 0 (4 levels, 8192 entries"),
        ("VTCR_EL2", 12 | 2 << 6 | 1 << 32, "SL0", ", 16 concatenated tables"),
        ("VTCR_EL2", 12 | 1 << 32 | 1 << 33, "SL2", "level -1"),
        ("VTCR_EL2", 24 | 0 << 6, "SL0", "inconsistent with T0SZ, the walk takes a Translation"),
        ("VTCR_EL2", 24, "T0SZ", "40-bit IPA"),
    ],
)
def test_sizes_and_levels_in_words(reg, value, field, meaning):
    rows = {r.name: r for r in dec.decode(dec.Target(reg), value).rows}
    assert meaning in rows[field].meaning


def test_sizes_follow_the_geometry_rules():
    """T0SZ of every legal size and granule: the start level the walker's geometry gives."""
    for granule, tg0 in ((4, 0b00), (16, 0b10), (64, 0b01)):
        for txsz in range(12, 40):
            d = dec.decode(dec.Target("TCR_EL1"), txsz | tg0 << 14 | 1 << 59)
            meaning = {r.name: r.meaning for r in d.rows}["T0SZ"]
            if granule == 64 and txsz < 16 or "out of range" in meaning:
                continue
            level = geo.s1_start_level(64 - txsz, granule)
            assert f"{64 - txsz}-bit VA" in meaning and f"starts at level {level} " in meaning


def sentences(text: str) -> list[str]:
    return [s.strip().lower() for s in re.split(r"(?<=[.;:])\s+", text) if s.strip()]


@pytest.mark.parametrize("reg", list(dec.REGISTERS))
def test_no_sentence_is_said_twice(client, reg):
    rng = random.Random(reg)
    for value in (0, (1 << 64) - 1, rng.getrandbits(64), rng.getrandbits(64) | 3):
        page = client.get("/decode", params={"reg": reg, "value": hex(value)}).text
        for cell in re.findall(r"<tr class=\"k-[^\"]*\">.*?</tr>", page, re.S):
            help_cell = html.unescape(re.sub(r"<[^>]+>", "", cell.rsplit("<td>", 1)[1]))
            said = sentences(help_cell)
            assert len(said) == len(set(said)), (reg, help_cell)
    assert "Ignored. Ignored." not in page


@pytest.mark.parametrize(
    ("params", "check"),
    [
        ({"reg": "TCR_EL1", "value": "0x80000060080300c"}, ("TCR_EL1", 0x80000060080300C)),
        ({"reg": "VTCR_EL2", "value": "0x180022598"}, ("VTCR_EL2", 0x180022598)),
        ({"reg": "TTBR", "value": "0x41234000", "fmt": "48"}, ("TTBR0_EL1", 0x41234000)),
        ({"reg": "MAIR", "value": "0xff04"}, ("MAIR_EL1", 0xFF04)),
    ],
)
def test_open_a_register_in_the_explorer(client, params, check):
    page = client.get("/decode", params=params).text
    href = html.unescape(re.search(r'<a id="open-explorer" href="([^"]+)"', page)[1])
    decoded = decode(href.removeprefix("/?"))
    assert decoded.ok, decoded.problems
    register, value = check
    assert decoded.config.registers[register] == value
    assert client.get(href).status_code == 200


def test_open_a_descriptor_in_the_explorer(client):
    raw = 0x0040000012200741  # DS=1 4KB level-2 block
    page = client.get(
        "/decode", params={"reg": "S1_DESC", "value": hex(raw), "variant": "DS1", "level": "2"}
    ).text
    href = html.unescape(re.search(r'<a id="open-explorer" href="([^"]+)"', page)[1])
    config = decode(href.removeprefix("/?")).config
    reads = [r.read for r in run(config).reads(nested=False)]
    assert any(r.level == 2 and r.raw == raw and r.kind == "block" for r in reads)
    # Results are not inputs: nothing to open.
    for reg, value in (("PAR_EL1", "0x857"), ("ESR_ELx", "0x9600002b")):
        page = client.get("/decode", params={"reg": reg, "value": value}).text
        assert 'id="open-explorer"' not in page
