"""Memory stays put: an edit to a register or to the address never changes what memory holds.

For every preset and each register edit a user makes to explore LPA2 (flip DS, IPS/PS down
to 48 bits (40 for a 48-bit walk), T0SZ one up and one down, the other granule, another TTBR
base), every address that both the walk before and the walk after read holds the same value
in both, as the plain-text walk and the JSON walk report them.
"""

from __future__ import annotations

import re

import pytest

from app.state import encode
from model.arch.fields import TCR_EL1, TCR_EL2, TCR_EL2_E2H, VTCR_EL2
from model.explore.configs import CONFIG_PRESETS, Configuration, run

_TG0 = {0b00: 0b10, 0b10: 0b00, 0b01: 0b00}  # 4KB <-> 16KB, 64KB -> 4KB (TG0 encoding)
_TG1 = {0b10: 0b01, 0b01: 0b10, 0b11: 0b10}  # the same in TG1's own encoding


def _control(config: Configuration) -> tuple[str, object, str, str, str]:
    """The register that controls the walk's (first) stage, its layout, and the names of its
    TxSZ, granule and output-size fields for the range the address is in."""
    upper = (config.address >> 55) & 1
    if config.regime == "stage2":
        return "VTCR_EL2", VTCR_EL2, "T0SZ", "TG0", "PS"
    if config.regime == "el2":
        return "TCR_EL2", TCR_EL2, "T0SZ", "TG0", "PS"
    layout = TCR_EL2_E2H if config.regime == "el20" else TCR_EL1
    name = "TCR_EL2" if config.regime == "el20" else "TCR_EL1"
    return name, layout, f"T{upper}SZ", f"TG{upper}", "IPS"


def _ttbr(config: Configuration) -> str:
    result = run(config)
    params = result.params.get("s1") or result.params.get("s2")
    return params.ttbr_name


def register_edits(config: Configuration) -> dict[str, Configuration]:
    name, layout, txsz, tg, ps = _control(config)
    value = config.registers[name]
    tg_map = _TG1 if tg == "TG1" else _TG0
    ttbr = _ttbr(config)

    def with_field(field: str, new: int) -> Configuration:
        return config.with_registers(**{name: layout.set(value, field, new)})

    return {
        "flip DS": with_field("DS", 1 - layout.get(value, "DS")),
        # 48 bits, or 40 bits for a walk already at 48.
        "PA size 48 bits": with_field(ps, 0b010 if layout.get(value, ps) == 0b101 else 0b101),
        "TxSZ + 1": with_field(txsz, min(layout.get(value, txsz) + 1, 63)),
        "TxSZ - 1": with_field(txsz, max(layout.get(value, txsz) - 1, 0)),
        "other granule": with_field(tg, tg_map.get(layout.get(value, tg), 0)),
        "TTBR base + 64KB": config.with_registers(**{ttbr: config.registers[ttbr] + 0x1_0000}),
    }


_ROW = re.compile(r"^\s+(?:s2 )?L-?\d\s+\S+\s+(0x[0-9a-f]{16}) (0x[0-9a-f]{16})\b", re.M)


def txt_reads(client, config: Configuration) -> dict[int, int]:
    response = client.get("/walk.txt?" + encode(config))
    assert response.status_code == 200
    return {int(a, 16): int(v, 16) for a, v in _ROW.findall(response.text)}


def json_reads(client, config: Configuration) -> dict[int, int]:
    response = client.get("/walk.json?" + encode(config))
    assert response.status_code == 200
    walk = response.json()["walk"]
    reads: dict[int, int] = {}

    def take(levels: list[dict]) -> None:
        for level in levels:
            if level.get("s2"):
                take(level["s2"]["levels"])
            if level["desc_address"] is not None and level["raw"] is not None:
                reads[_int(level["desc_address"])] = _int(level["raw"])

    take(walk["levels"])
    if walk.get("s2_final"):
        take(walk["s2_final"]["levels"])
    return reads


def _int(value: int | str) -> int:
    return int(value, 16) if isinstance(value, str) else value


CASES = [(slug, edit) for slug, config in CONFIG_PRESETS.items() for edit in register_edits(config)]


@pytest.mark.parametrize(("slug", "edit"), CASES, ids=[f"{s}-{e}" for s, e in CASES])
def test_register_edits_never_change_memory(client, slug, edit):
    before = CONFIG_PRESETS[slug]
    after = register_edits(before)[edit]
    assert after.registers != before.registers
    for reads_of in (txt_reads, json_reads):
        old, new = reads_of(client, before), reads_of(client, after)
        assert old, f"{reads_of.__name__}: the walk before reads nothing"
        common = old.keys() & new.keys()
        assert {a: old[a] for a in common} == {a: new[a] for a in common}, reads_of.__name__


def test_the_edits_do_reach_other_addresses_and_outcomes():
    """The check above is not vacuous: the edits move the walk to addresses the walk before
    did not read, and change outcomes."""
    moved = changed = 0
    for config in CONFIG_PRESETS.values():
        before = run(config)
        before_reads = {r.desc_address for r in before.levels}
        for after_config in register_edits(config).values():
            after = run(after_config)
            moved += bool({r.desc_address for r in after.levels} - before_reads)
            changed += (after.output_address, after.fault and after.fault.fsc) != (
                before.output_address,
                before.fault and before.fault.fsc,
            )
    assert moved > 30 and changed > 30


def test_ds_flip_on_a_48_bit_walk_shows_the_lpa2_lesson():
    """4k-48 with DS=1: the same descriptors, but the page descriptor's SH bits [9:8] are now
    OA[51:50]; with a 48-bit PA size that is an Address size fault at level 3."""
    config = CONFIG_PRESETS["4k-48"]
    before = run(config)
    after = run(register_edits(config)["flip DS"])
    assert before.fault is None and after.fault is not None
    assert [(r.desc_address, r.raw) for r in after.levels] == [
        (r.desc_address, r.raw) for r in before.levels
    ]
    page = after.levels[-1]
    assert (page.raw >> 8) & 3 == 0b11  # written as SH=Inner Shareable under DS=0
    assert (after.fault.kind.value, after.fault.level, after.fault.fsc) == ("address_size", 3, 0x03)


def test_lpa2_walk_with_a_48_bit_pa_size_faults():
    config = CONFIG_PRESETS["4k-52-lpa2"]
    after = run(register_edits(config)["PA size 48 bits"])
    assert after.fault is not None and after.fault.kind.value == "address_size"
    # TTBR0_EL1[5:2] hold base[51:48] = 0x8: the start table itself is out of range.
    assert after.fault.level == 0 and after.fault.fsc == 0x00
    cleared = register_edits(config)["PA size 48 bits"].with_registers(
        TTBR0_EL1=config.registers["TTBR0_EL1"] & ~0x3C
    )
    result = run(cleared)
    # Below 2^48 nothing was ever stored for this walk: the start table entry reads 0.
    assert result.fault is not None and result.fault.kind.value == "translation"
    assert result.fault.level == -1 and result.levels[0].raw == 0


def test_refill_builds_tables_for_the_registers_given(client, tmp_path):
    """The API and the CLI keep memory unless asked to re-fill: a 39-bit walk over the 48-bit
    preset's tables reads each table one level too low, a walk through whatever the tables
    hold; re-filled, it maps the address to itself."""
    va = "0x0000_0012_3456_789a"
    request = {"preset": "4k-48", "registers": {"TCR_EL1": "0x5b5103519"}, "address": va}
    kept = client.post("/api/walk", json=request).json()
    refilled = client.post("/api/walk", json={**request, "refill": True}).json()
    assert "fill=" not in kept["query"] and "&fill=tcr_el1:0x5b5103519" in refilled["query"]
    assert int(refilled["walk"]["output_address"], 16) == int(va, 16)
    assert kept["walk"]["output_address"] != refilled["walk"]["output_address"]
    # The link of the re-filled state shows the same walk.
    again = client.get("/walk.json?" + refilled["query"]).json()["walk"]
    assert int(again["output_address"], 16) == int(va, 16)


def test_text_and_json_say_where_each_descriptor_came_from(client):
    """Set by the link (S / "set"), background tables (B / "background"), or nothing stored
    (E / "empty"), on the same reads in both renderings."""
    queries = {
        "background": "v=2&preset=4k-48",
        "set": "v=2&preset=fault-permission",
        "empty": "v=2&tcr_el1=0x8000005b510350c&ttbr0_el1=0x41234000",
    }
    letters = {"set": "S", "background": "B", "empty": "E"}
    for source, query in queries.items():
        walk = client.get("/walk.json?" + query).json()["walk"]
        sources = [level["source"] for level in walk["levels"]]
        assert source in sources
        text = client.get("/walk.txt?" + query).text
        rows = [line for line in text.splitlines() if _ROW.match(line)]
        assert [row.split()[4] for row in rows] == [letters[s] for s in sources]
        assert all(len(line) <= 72 for line in text.splitlines()[:-1])


def test_a_stage2_fault_on_a_stage1_table_read_is_reported_in_full(client):
    """S1PTW=1, the IPA of the table read, WnR, and the whole ESR decoded with FAR and
    HPFAR_EL2, in the JSON and the plain text."""
    config = CONFIG_PRESETS["s1-48-over-s2-52"]
    result = run(config)
    table_read = result.levels[1]
    nested_leaf = table_read.s2.levels[-1]
    from model.arch.fields import descriptor_layout

    no_access = descriptor_layout(2, "page", "DS1").set(nested_leaf.raw, "S2AP", 0)
    query = encode(config.with_memory({nested_leaf.desc_address: no_access}))
    data = client.get("/walk.json?" + query).json()["walk"]
    fault, syndrome = data["fault"], data["syndrome"]
    assert (fault["kind"], fault["stage"], fault["s1ptw"]) == ("permission", 2, True)
    assert int(fault["ipa"], 16) == table_read.desc_address  # the stage-1 table entry's IPA
    assert fault["wnr"] is False
    assert syndrome["target_el"] == 2 and syndrome["ec"] == 0x24
    assert syndrome["iss_fields"]["S1PTW"] == 1 and syndrome["iss_fields"]["DFSC"] == 0x0F
    assert int(syndrome["fipa"], 16) == table_read.desc_address >> 12
    assert int(syndrome["far"], 16) == config.address
    text = client.get("/walk.txt?" + query).text
    assert f"IPA {table_read.desc_address:#018x}" in text
    assert f"ESR_EL2   {int(syndrome['esr'], 16):#018x}" in text
    assert "S1PTW=1" in text and "HPFAR_EL2" in text and "FAR_EL2" in text
