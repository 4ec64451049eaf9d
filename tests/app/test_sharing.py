"""The .txt/.json twins, short links and the link store."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from app.linkstore import (
    ID_LENGTH,
    LinkStore,
    MemoryLinkStore,
    SQLiteLinkStore,
    candidate_ids,
    existing_id,
)
from app.state import encode
from model.explore.configs import CONFIG_PRESETS

ROOT = Path(__file__).resolve().parents[2]
QUERY = "v=2"  # the default preset, 4k-52-lpa2


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch) -> Path:
    """Every test gets its own LPA2_DATA_DIR: nothing is written into the repository."""
    monkeypatch.setenv("LPA2_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LPA2_PUBLIC_URL", raising=False)
    return tmp_path


# -- the store ---------------------------------------------------------------------------------


def test_ids_are_short_stable_and_content_derived():
    [first, *rest] = candidate_ids(QUERY)
    assert len(first) == ID_LENGTH and first.isalnum()
    assert len(f"/s/{first}") <= 10
    assert candidate_ids(QUERY)[0] == first
    assert candidate_ids(QUERY + "&va=0x1")[0] != first
    assert [len(i) for i in rest[:3]] == [8, 9, 10]
    assert all(longer.startswith(first) for longer in rest)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_put_get(kind, tmp_path):
    store = MemoryLinkStore() if kind == "memory" else SQLiteLinkStore(tmp_path / "links.db")
    assert isinstance(store, LinkStore)
    link_id = store.put(QUERY)
    assert store.put(QUERY) == link_id == candidate_ids(QUERY)[0]
    assert store.get(link_id) == QUERY
    assert store.get("0000000") is None
    assert existing_id(store, QUERY) == link_id
    assert existing_id(store, QUERY + "&va=0x1") is None


def test_collision_lengthens_deterministically(tmp_path):
    path = tmp_path / "links.sqlite3"
    store = SQLiteLinkStore(path)
    store.put("v=2&preset=4k-48")  # creates the file
    taken = candidate_ids(QUERY)[0]
    with sqlite3.connect(path) as db:  # another state already holds the 7-character id
        db.execute("INSERT INTO links (id, query) VALUES (?, ?)", (taken, "v=2&va=0x42"))
    link_id = store.put(QUERY)
    assert link_id == candidate_ids(QUERY)[1] and len(link_id) == ID_LENGTH + 1
    assert store.put(QUERY) == link_id
    assert SQLiteLinkStore(path).get(link_id) == QUERY
    assert existing_id(SQLiteLinkStore(path), QUERY) == link_id
    assert store.get(taken) == "v=2&va=0x42"


def test_database_is_durable_and_survives_restarts(tmp_path):
    path = tmp_path / "data" / "links.sqlite3"
    store = SQLiteLinkStore(path)
    assert store.get(candidate_ids(QUERY)[0]) is None
    assert not path.exists(), "reading must not create the database"
    link_id = store.put(QUERY)
    assert path.exists()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()
    assert SQLiteLinkStore(path).get(link_id) == QUERY  # a new store object
    code = (
        "import sys; from app.linkstore import SQLiteLinkStore as S; "
        "s = S(sys.argv[1]); print(s.get(sys.argv[2]), s.put(sys.argv[3]))"
    )
    other = QUERY + "&access=el0w"
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), link_id, other],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.split()
    assert out == [QUERY, candidate_ids(other)[0]]  # a new process: same data, same ids
    assert SQLiteLinkStore(path).get(candidate_ids(other)[0]) == other


def test_store_is_thread_safe(tmp_path):
    store = SQLiteLinkStore(tmp_path / "links.sqlite3")
    queries = [f"v=2&va={i:#x}" for i in range(40)]
    results: dict[str, str] = {}
    errors = []

    def worker(chunk):
        try:
            for q in chunk:
                results[q] = store.put(q)
                assert store.get(results[q]) == q
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(queries[i::4] * 2,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(results[q] == candidate_ids(q)[0] for q in queries)


# -- routes ------------------------------------------------------------------------------------


def test_walk_txt(client):
    response = client.get("/walk.txt?" + QUERY)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert text.splitlines()[-1] == f"Link: http://testserver/?{QUERY}"
    assert "Output PA 0x000f123456789abc" in text


def test_walk_txt_canonicalises_and_uses_public_url(client, monkeypatch):
    monkeypatch.setenv("LPA2_PUBLIC_URL", "https://lpa2.example.org/")
    response = client.get("/walk.txt?preset=4k-52-lpa2&v=2&TCR_EL1=0x08000006B510350C")
    assert response.status_code == 200
    assert response.text.splitlines()[-1] == f"Link: https://lpa2.example.org/?{QUERY}"


def test_broken_link_txt_is_400_with_what_was_read(client):
    response = client.get("/walk.txt?v=2&preset=4k-52-lpa2&tcr_el1=0x&mem=0x1000:")
    assert response.status_code == 400
    text = response.text
    assert text.startswith("NOTE: This link could not be read in full")
    assert "tcr_el1=0x" in text and "mem=0x1000:" in text and "truncated" in text
    assert "Output PA 0x000f123456789abc" in text  # the rest of the state still walks


def test_walk_json(client):
    data = client.get("/walk.json?" + QUERY).json()
    assert data["query"] == QUERY
    assert data["link"] == f"http://testserver/?{QUERY}"
    assert data["config"]["preset"] == "4k-52-lpa2"
    assert data["config"]["registers"]["TCR_EL1"] == "0x8000006b510350c"
    assert data["walk"]["output_address"] == 0x000F123456789ABC
    assert len(data["walk"]["levels"]) == 5
    assert data["problems"] == []


def test_walk_json_problems(client):
    response = client.get("/walk.json?v=3")
    assert response.status_code == 400
    assert "unknown link version" in response.json()["problems"][0]


def test_short_link_form_post_then_redirect(client):
    response = client.post("/s", data={"query": QUERY}, follow_redirects=False)
    assert response.status_code == 303
    link_id = candidate_ids(QUERY)[0]
    assert response.headers["location"] == f"/s/{link_id}/info"
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    assert f"http://testserver/s/{link_id}" in page.text
    assert 'value="http://testserver/?v=2"' in page.text  # both printed
    opened = client.get(f"/s/{link_id}", follow_redirects=False)
    assert opened.status_code == 303
    assert opened.headers["location"] == f"http://testserver/?{QUERY}"
    # the .txt now prefers the short link
    assert client.get("/walk.txt?" + QUERY).text.splitlines()[-1] == (
        f"Link: http://testserver/s/{link_id}"
    )


def test_short_link_htmx_answers_the_panel_slot(client):
    response = client.post(
        "/s", data={"query": "preset=4k-52-lpa2&v=2"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    body = response.text
    assert "<!DOCTYPE" not in body
    assert 'id="share-short"' in body
    link_id = candidate_ids(QUERY)[0]  # stored canonical
    assert f'value="http://testserver/s/{link_id}"' in body
    assert 'data-copy-target="#share-short-link"' in body


def test_short_link_refuses_broken_state(client, data_dir):
    response = client.post("/s", data={"query": "v=2&tcr_el1=0x"}, follow_redirects=False)
    assert response.status_code == 400
    assert "tcr_el1=0x" in response.text
    htmx = client.post("/s", data={"query": "v=2&tcr_el1=0x"}, headers={"HX-Request": "true"})
    assert "No short link made" in htmx.text
    assert not (data_dir / "links.sqlite3").exists()


def test_unknown_short_link_is_a_clear_404(client):
    for path in ("/s/zzzzzzz", "/s/not-an-id!", "/s/zzzzzzz/info"):
        response = client.get(path)
        assert response.status_code == 404
        assert "There is no walk stored under the short link" in response.text


def test_short_ids_are_stable_across_app_restarts(data_dir):
    from fastapi.testclient import TestClient

    from app.main import create_app

    first = TestClient(create_app()).post("/s", data={"query": QUERY}, follow_redirects=False)
    second = TestClient(create_app()).post("/s", data={"query": QUERY}, follow_redirects=False)
    assert first.headers["location"] == second.headers["location"]


def test_share_panel_renders_standalone():
    from app.links import Links
    from app.render.share import share_panel

    html = share_panel(Links("http://x").share(QUERY, None))
    assert 'hx-post="/s"' in html and 'method="post" action="/s"' in html
    assert 'value="http://x/?v=2"' in html
    assert 'data-copy-url="/walk.txt?v=2"' in html
    assert 'aria-live="polite"' in html
    assert "style=" not in html and "onclick" not in html.lower()
    assert '<script src="/static/js/share.js?v=' in html


def test_share_js_has_no_htmx_specific_code():
    js = (ROOT / "static" / "js" / "share.js").read_text()
    assert "htmx:" not in js and "htmx." not in js  # no htmx events or API
    assert "[data-copy]" in js and "[data-copy-target]" in js
    assert "execCommand" in js  # the no-clipboard-API fallback


def test_every_preset_has_a_txt(client):
    for slug, config in CONFIG_PRESETS.items():
        response = client.get("/walk.txt?" + encode(config))
        assert response.status_code == 200, slug


def test_share_panel_shows_an_existing_short_link(client):
    """The page looks the short link up (templates do no I/O) and the panel shows it."""
    assert 'hx-post="/s"' in client.get(f"/?{QUERY}").text
    client.post("/s", data={"query": QUERY}, follow_redirects=False)
    html = client.get(f"/?{QUERY}").text
    assert f'value="http://testserver/s/{candidate_ids(QUERY)[0]}"' in html
    assert 'hx-post="/s"' not in html


def test_templates_do_no_io_and_walk_nothing():
    """No template reaches the link store, decodes a link or runs a walk: the routes hand
    them what they show."""
    from app.templating import templates

    names = set(templates.env.globals) | set(templates.env.filters)
    assert not names & {"short_link_for", "linux_for_query", "run", "decode"}
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        for call in ("short_link_for", "linux_for_query", "existing_id", "run(", "decode("):
            assert call not in text, (path.name, call)
