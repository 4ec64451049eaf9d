"""A hardware update of the Access flag or dirty state (FEAT_HAFDBS) appears on the card of the
descriptor it updates, in the plain-text walk and in the JSON, each with the same old and new
values; HCR_EL2.FWB/CD show in the attribute explanation."""

from __future__ import annotations

import html

import pytest

from app.state import encode
from model.arch.fields import HCR_EL2, TCR_EL1
from model.explore.configs import CONFIG_PRESETS, Configuration, run
from tests.app.html_regions import Html

AF = 1 << 10


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LPA2_DATA_DIR", str(tmp_path))


def _af_update_state() -> tuple[Configuration, int, int]:
    """The 4k-48 preset with TCR_EL1.HA=1 and its page descriptor's AF cleared: the walk sets
    AF. Returns the state, the leaf's address and its value in memory."""
    base = CONFIG_PRESETS["4k-48"]
    leaf = run(base).levels[-1]
    assert leaf.kind == "page" and leaf.raw is not None and leaf.desc_address is not None
    config = base.with_registers(TCR_EL1=TCR_EL1.set(base.registers["TCR_EL1"], "HA", 1))
    config = config.with_memory({leaf.desc_address: leaf.raw & ~AF})
    return config, leaf.desc_address, leaf.raw & ~AF


def test_update_on_the_card_in_text_and_json(client):
    config, address, old = _af_update_state()
    new = f"0x{old | AF:016x}"
    query = encode(config)
    page = Html(client.get(f"/?{query}").text)
    card = f"card-1-3-{address:#x}"
    assert card in page.ids()
    card_text = html.unescape(page.outer(card))
    assert "Hardware update (AF (bit 10) 0 -> 1: accessed)" in card_text
    assert new in card_text and f"0x{old:016x}" in card_text
    # Only the updated descriptor's card carries it.
    others = [i for i in page.ids() if i.startswith("card-1-") and not i.startswith(card)]
    assert others and not any("Hardware update" in page.outer(i) for i in others)
    text = client.get(f"/walk.txt?{query}").text
    assert "hardware update:" in text and new[2:].lstrip("0") in text.replace("\n      ", " ")
    walk = client.get(f"/walk.json?{query}").json()["walk"]
    (update,) = walk["hardware_updates"]
    # 64-bit values as "0x…" strings (app.jsonform)
    assert update["address"] == f"{address:#x}" and update["old"] == f"{old:#x}"
    assert update["new"] == f"{old | AF:#x}"
    assert walk["levels"][-1]["update"]["new"] == f"{old | AF:#x}"


def test_fwb_and_cd_in_the_attribute_explanation(client):
    base = CONFIG_PRESETS["s1-48-over-s2-52"]
    hcr = HCR_EL2.set(HCR_EL2.set(base.registers["HCR_EL2"], "FWB", 1), "CD", 1)
    config = Configuration(**{**base.__dict__, "regime": "el10_s12"}).with_registers(HCR_EL2=hcr)
    page = html.unescape(client.get(f"/?{encode(config)}").text)
    assert "HCR_EL2.FWB=1, MemAttr[2:0]=" in page
    assert "HCR_EL2.CD=1: Normal memory is Non-cacheable for data accesses" in page
    assert "HCR_EL2.FWB=1: MemAttr[2:0]=" in page  # the stage-2 attributes' MemAttr row
    assert "FWB is not modelled" not in page
