"""POST /api/walk: the model's full result for any state, validated."""

from __future__ import annotations

import pytest

from app.jsonform import hex_values
from app.state import MAX_MEMORY_ENTRIES, decode
from model import CPU_PRESETS
from model.explore.configs import CONFIG_PRESETS, run


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LPA2_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LPA2_PUBLIC_URL", raising=False)


def test_preset_only(client):
    response = client.post("/api/walk", json={"preset": "4k-52-lpa2"})
    assert response.status_code == 200
    data = response.json()
    assert data["query"] == "v=2"  # the default preset
    assert data["link"] == "http://testserver/?v=2"
    result = run(CONFIG_PRESETS["4k-52-lpa2"])
    assert data["walk"] == hex_values(result.to_dict())
    assert data["walk"]["par"] == f"{result.par:#x}" and result.par > 1 << 53


def test_everything_given_hex_strings_and_ints(client):
    body = {
        "preset": "4k-48",
        "regime": "el10",
        "cpu": "max",
        "access": "EL0W",
        "address": "0x0000_1234_5678_9abc",
        "registers": {"tcr_el1": 0x5B5103510, "TTBR0_EL1": "0x41234000"},
        "memory": {"0x41234120": "0x0", "1092829472": 0},
        "choices": {"ds_validity": "feat_lpa2"},
    }
    data = client.post("/api/walk", json=body).json()
    walk = data["walk"]
    assert walk["fault"]["kind"] == "translation"
    assert walk["fault"]["level"] == 0
    assert walk["fault"]["fsc_hex"] == "0x04"
    config = decode(data["query"]).config
    assert config.access == "el0w" and config.memory[0x41234120] == 0
    assert data["config"]["choices"]["ds_validity"] == "feat_lpa2"


def test_cpu_by_id_registers(client):
    ids = CPU_PRESETS["v8-48bit"].id_regs()
    body = {
        "preset": "4k-52-lpa2",
        "cpu": {
            "id_aa64mmfr0_el1": hex(ids[0]),
            "id_aa64mmfr1_el1": ids[1],
            "id_aa64mmfr2_el1": ids[2],
        },
    }
    data = client.post("/api/walk", json=body).json()
    assert data["config"]["cpu"] == "v8-48bit"  # matches a preset: linkable
    assert data["query"].endswith("&cpu=v8-48bit")
    custom = {"preset": "4k-52-lpa2", "cpu": {"id_aa64mmfr0_el1": "0x1"}}
    response = client.post("/api/walk", json=custom)
    assert response.status_code == 200
    assert response.json()["link"] is None  # a CPU no link can name
    assert response.json()["walk"]["regime"] == "el10"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"preset": "4k-99"}, "unknown preset"),
        ({"regime": "el3"}, "el10"),
        ({"access": "el1q"}, "pattern"),
        ({"address": "0x"}, "no digits after 0x"),
        ({"address": -1}, "does not fit in 64"),
        ({"address": 1 << 64}, "does not fit in 64"),
        ({"address": True}, "boolean"),
        ({"registers": {"TCR_EL3": 1}}, "unknown register"),
        ({"registers": {"TCR_EL1": "zz"}}, "is not a number"),
        ({"memory": {"0x1001": 1}}, "not 8-byte aligned"),
        ({"memory": {f"{8 * i:#x}": 0 for i in range(MAX_MEMORY_ENTRIES + 1)}}, "at most"),
        ({"choices": {"ds_validity": "maybe"}}, "expected one of"),
        ({"cpu": "m1"}, "unknown CPU preset"),
        ({"colour": "red"}, "Extra inputs"),
    ],
)
def test_validation_errors_are_422_with_clear_messages(client, body, words):
    response = client.post("/api/walk", json=body)
    assert response.status_code == 422
    assert words in response.text


def test_openapi_documents_the_api_with_examples(client):
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/api/walk"]["post"]
    assert "422" in operation["responses"]
    request = schema["components"]["schemas"]["WalkRequest"]
    assert request["examples"][0] == {"preset": "4k-52-lpa2"}
    assert "/walk.txt" in schema["paths"] and "/walk.json" in schema["paths"]
    assert "/s/{link_id}" in schema["paths"]
    assert client.get("/docs").status_code == 200
