"""Frozen links (see README.md): every link ever printed keeps showing the same walk.

Never edit a fixture; the manifest check below fails if one is edited, removed or unlisted.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from app.state import LINK_VERSION, MIGRATIONS, decode, encode
from tests.links.facts import walk_facts
from tests.links.freeze import expectation

HERE = Path(__file__).resolve().parent
FIXTURES = sorted((HERE / "fixtures").glob("*.json"))
MANIFEST = HERE / "frozen.sha256"
SUPERSEDED = HERE / "superseded.txt"


def _superseded() -> dict[str, str]:
    """fixtures/NAME.json -> why its walk was wrong (README.md rule 3)."""
    entries = {}
    for line in SUPERSEDED.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, reason = line.partition(":")
            entries[name.strip()] = reason.strip()
    return entries


def _manifest() -> dict[str, str]:
    entries = {}
    for line in MANIFEST.read_text().splitlines():
        digest, name = line.split()
        entries[name] = digest
    return entries


def test_fixtures_are_frozen():
    """A fixture may be added (with its hash) but never edited, renamed or removed."""
    listed = _manifest()
    present = {f"fixtures/{p.name}": p for p in FIXTURES}
    assert sorted(listed) == sorted(present), "fixtures and frozen.sha256 disagree (README.md)"
    for name, path in present.items():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest == listed[name], f"{name} was edited; fixtures are never edited"


def test_there_are_fixtures_for_every_version():
    versions = {int(json.loads(p.read_text())["query"].split("&")[0][2:]) for p in FIXTURES}
    assert versions == set(range(1, LINK_VERSION + 1))
    assert set(MIGRATIONS) == set(range(1, LINK_VERSION))


@pytest.fixture(params=FIXTURES, ids=lambda p: p.stem)
def fixture(request) -> dict:
    return {**json.loads(request.param.read_text()), "name": request.param.name}


def _walk_now(fixture: dict) -> dict:
    """What the link shows today, in the fixture's ``expect`` shape (the freezer's own code)."""
    decoded = decode(fixture["query"])
    assert decoded.ok, decoded.problems
    return expectation(fixture["query"], fixture["link"])


# What a fixture freezes (README.md): compared as they are, except the text, whose walk facts
# (tests/links/facts.py) are compared.
_EXACT = ("output_address", "fault", "descriptor_addresses", "descriptors")


def _differences(fixture: dict) -> list[str]:
    seen, expect = _walk_now(fixture), fixture["expect"]
    out = [key for key in _EXACT if key in expect and seen[key] != expect[key]]
    if walk_facts(seen["txt"]) != walk_facts(expect["txt"]):
        out.append("txt")
    return out


def _walk_matches(fixture: dict) -> bool:
    return not _differences(fixture)


def test_superseded_fixtures_differ_and_have_a_successor():
    # The comparison itself: a current fixture matches, the same fixture with a changed
    # expectation does not.
    samples = [json.loads(p.read_text()) for p in FIXTURES]
    sample = next(s for s in samples if walk_facts(s["expect"]["txt"])["rows"])
    assert _walk_matches(sample)
    assert not _walk_matches({**sample, "expect": {**sample["expect"], "txt": ""}})
    # A single changed descriptor value in the frozen text is a different walk.
    row = next(r for r in sample["expect"]["txt"].splitlines() if " 0x" in r and "[" in r)
    value = row.split()[3]
    changed = row.replace(value, value[:-1] + ("0" if value[-1] != "0" else "1"))
    altered = sample["expect"]["txt"].replace(row, changed)
    assert not _walk_matches({**sample, "expect": {**sample["expect"], "txt": altered}})
    superseded = _superseded()
    current = [
        json.loads(p.read_text()) for p in FIXTURES if f"fixtures/{p.name}" not in superseded
    ]
    for name, reason in superseded.items():
        assert reason, f"{name}: say why its walk was wrong"
        old = json.loads((HERE / name).read_text())
        assert not _walk_matches(old), f"{name} is listed as superseded but still reproduces"
        assert any(c["query"] == old["query"] for c in current), f"{name} has no successor"


def test_link_reproduces_its_walk(fixture):
    if f"fixtures/{fixture['name']}" in _superseded():
        assert not _walk_matches(fixture)
        return
    expect = fixture["expect"]
    assert set(expect) <= set(_walk_now(fixture)), "the fixture freezes something unknown"
    assert walk_facts(expect["txt"])["rows"] or expect["fault"], "the frozen text states no walk"
    assert _differences(fixture) == [], "the link no longer shows the walk it froze"


def test_link_is_still_canonical_in_its_own_version(fixture):
    version = int(fixture["query"].split("&")[0][2:])
    if version == LINK_VERSION:
        assert encode(decode(fixture["query"]).config) == fixture["query"]


def test_txt_route_serves_the_frozen_text(fixture, client, monkeypatch, tmp_path):
    monkeypatch.setenv("LPA2_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LPA2_PUBLIC_URL", fixture["link"].split("/?")[0])
    response = client.get("/walk.txt?" + fixture["query"])
    assert response.status_code == 200
    assert walk_facts(response.text) == walk_facts(fixture["expect"]["txt"])


def test_json_route_agrees(fixture, client, monkeypatch, tmp_path):
    monkeypatch.setenv("LPA2_DATA_DIR", str(tmp_path))
    data = client.get("/walk.json?" + fixture["query"]).json()
    out = data["walk"]["output_address"]  # a "0x…" string (app.jsonform), or null
    expected = fixture["expect"]["output_address"]
    assert (None if out is None else f"{int(out, 16):#x}") == expected
