"""No JSON answer carries a number a reader would round: every 64-bit value (address, register,
descriptor, syndrome, size) is a "0x…" string, and every number left is at most 2^53 (what a
double, and so JavaScript and jq, holds exactly). Checked on the real answers: /walk.json,
POST /api/walk, the CLI's --json, /ptdump.json (in tests/images/test_serve.py), the schema,
health and error answers."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from app.cli import main as cli_main
from app.jsonform import U64_KEYS
from app.state import encode
from model.explore.configs import CONFIG_PRESETS
from tests.app.test_click_views import random_states

EXACT = 1 << 53
HEX = re.compile(r"0x[0-9a-f]+")
# Every key whose value is a number in some answer, and why it may be one: small by nature.
SMALL_KEYS = frozenset(
    {
        "stage", "level", "leaf_level", "el", "target_el", "index", "index_hi", "index_lo",
        "oa_hi", "oa_lo", "src_hi", "src_lo", "fsc", "ec", "il", "iss", "esr_iss", "attr",
        "attr_index", "memattr", "sh", "af", "dbm", "gp", "ng", "descriptor_reads",
        "granule_kb", "granule_bits", "stride", "iasize", "oa_bits", "ps_bits", "ps_raw",
        "txsz", "txsz_raw", "txsz_min", "txsz_max", "sl0", "sl2", "ds_raw", "range_select",
        "start_level", "start_table_bits", "start_table_entries", "start_table_align",
        "concatenated_tables", "indexes", "APTable", "PXNTable", "UXNTable", "XNTable", "NSTable",
        # ISS fields of ESR_ELx (iss_fields), each a few bits
        "AR", "CM", "DFSC", "IFSC", "EA", "FnV", "ISV", "S1PTW", "SAS", "SET", "SF", "SRT",
        "SSE", "VNCR", "WnR", "FSC", "ISS2",
        # ptdump listings: counts and the time taken
        "entries", "descriptors", "contiguous_runs", "input_bits", "output_bits", "seconds",
    }
)  # fmt: skip


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LPA2_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LPA2_PUBLIC_URL", raising=False)


def numbers(data, path: str = "") -> list[tuple[str, int | float]]:
    """(path, value) of every number in a JSON document (booleans are not numbers)."""
    if isinstance(data, bool) or data is None or isinstance(data, str):
        return []
    if isinstance(data, int | float):
        return [(path, data)]
    if isinstance(data, dict):
        return [n for k, v in data.items() for n in numbers(v, f"{path}.{k}")]
    return [n for i, v in enumerate(data) for n in numbers(v, f"{path}[{i}]")]


def check_answer(document, classify: bool = True) -> None:
    """No number above 2^53; with ``classify`` (walks and listings), 64-bit keys as hex
    strings and every other numeric key known small (a new key fails here until it is
    classified, in U64_KEYS or SMALL_KEYS)."""
    for path, value in numbers(document):
        assert abs(value) <= EXACT, f"{path} = {value} is past 2^53"
        if not classify:
            continue
        key = re.sub(r"(\[\d+\])+$", "", path).rsplit(".", 1)[-1]
        if key in ("fields",):  # [name, hi, lo, value, meaning]: field values, at most 40 bits
            continue
        assert key not in U64_KEYS, f"{path} = {value}: a 64-bit value as a number"
        level_key = re.fullmatch(r"-?\d", key)  # tables read per level (ptdump)
        assert key in SMALL_KEYS or level_key, f"{path}: classify {key!r} (app.jsonform)"

    def strings(data, key=""):
        if isinstance(data, dict):
            for k, v in data.items():
                yield from strings(v, k)
        elif isinstance(data, list):
            for v in data:
                yield from strings(v, key)
        elif key in U64_KEYS and data is not None:
            yield key, data

    if classify:
        for key, value in strings(document):
            assert isinstance(value, str) and HEX.fullmatch(value), (key, value)


def states():
    out = list(CONFIG_PRESETS.values())
    # A hardware update of the Access flag and dirty state (TCR_EL1.HA and HD), in both stages.
    for slug in ("fault-access-flag", "s1-48-over-s2-52"):
        config = CONFIG_PRESETS[slug]
        tcr = config.registers["TCR_EL1"] | 1 << 39 | 1 << 40
        vtcr = config.registers["VTCR_EL2"] | 1 << 21 | 1 << 22
        out.append(replace(config.with_registers(TCR_EL1=tcr, VTCR_EL2=vtcr), access="el1w"))
    for slug in ("4k-52-lpa2", "s1-48-over-s2-52", "fault-permission", "s2-52-concat16"):
        out += random_states(slug, 8, seed=11)[1:]
    return out


def test_walk_json_and_the_cli(client, capsys):
    updates = 0
    for config in states():
        query = encode(config)
        document = client.get(f"/walk.json?{query}").json()
        check_answer(document)
        updates += len(document["walk"]["hardware_updates"])
        assert cli_main(["walk", query, "--json"]) == 0
        check_answer(json.loads(capsys.readouterr().out))
    assert updates  # hardware updates' addresses and values are among the answers


def test_api_walk(client):
    for slug in CONFIG_PRESETS:
        answer = client.post("/api/walk", json={"preset": slug, "address": "0xffff123456789abc"})
        assert answer.status_code == 200
        check_answer(answer.json())
    by_ids = client.post(
        "/api/walk", json={"cpu": {"id_aa64mmfr0_el1": "0x0000000000101125"}, "preset": "4k-48"}
    )
    check_answer(by_ids.json())
    # Where the PAR of a walk does not fit a double, the JSON keeps every bit of it.
    par = by_ids.json()["walk"]["par"]
    assert int(par, 16) > EXACT


def test_other_json_answers(client):
    for url in ("/openapi.json", "/healthz", "/readyz"):
        check_answer(client.get(url).json(), classify=False)
    check_answer(client.get("/walk.json?v=2&va=zz").json())
    for body in ({"address": "0xzz"}, {"address": 1 << 70}, {"registers": {"TCR_EL1": -1}}):
        bad = client.post("/api/walk", json=body)
        assert bad.status_code == 422
        check_answer(bad.json(), classify=False)


def test_the_schema_documents_hex_strings(client):
    schema = client.get("/openapi.json").json()
    walk = schema["components"]["schemas"]["WalkResponse"]["properties"]["walk"]
    for key in ("input_address", "par"):
        assert walk["properties"][key]["type"] == "string"
        assert walk["properties"][key]["pattern"] == "^0x[0-9a-f]+$"
    level = walk["properties"]["levels"]["items"]["properties"]
    assert level["raw"]["anyOf"][0]["type"] == "string"
    assert "'0x…' strings" in walk["description"]
