"""Links come from one place (``app.links``): every absolute link starts with the configured
public URL when there is one, else with the request's base; same-site links are relative; and
no cache grows with the Host header."""

from __future__ import annotations

import html

import pytest

from app import cache
from app.state import encode
from model.explore.configs import CONFIG_PRESETS, run

PUBLIC = "https://lpa2.example.org"
HX = {"HX-Request": "true"}
QUERY = encode(CONFIG_PRESETS["4k-52-lpa2"])


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LPA2_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LPA2_PUBLIC_URL", raising=False)
    return tmp_path


def share_link(page: str) -> str:
    """The value of the share panel's link box (page or fragment)."""
    start = page.index('id="share-link"')
    value = page.index('value="', start) + len('value="')
    return html.unescape(page[value : page.index('"', value)])


def click(client, query: str = QUERY, **headers):
    leaf = run(CONFIG_PRESETS["4k-52-lpa2"]).levels[-1]
    params = [("flip", f"m.{leaf.desc_address:#x}:56"), ("from", query)]
    return client.get("/", params=params, headers={**HX, **headers})


def test_every_absolute_link_uses_the_public_url(client, monkeypatch):
    monkeypatch.setenv("LPA2_PUBLIC_URL", PUBLIC + "/")
    expected = f"{PUBLIC}/?{QUERY}"
    page = client.get(f"/?{QUERY}").text
    assert share_link(page) == expected
    assert "http://testserver" not in page

    answer = click(client)
    new_query = answer.headers["HX-Push-Url"][2:]
    assert answer.headers["HX-Push-Url"] == f"/?{new_query}"  # same site: relative
    assert share_link(answer.text) == f"{PUBLIC}/?{new_query}"
    assert "http://testserver" not in answer.text

    loaded = client.get("/", params=[("load", "4k-48"), ("from", QUERY)], headers=HX)
    assert share_link(loaded.text).startswith(f"{PUBLIC}/?")

    assert client.get(f"/walk.txt?{QUERY}").text.splitlines()[-1] == f"Link: {expected}"
    document = client.get(f"/walk.json?{QUERY}").json()
    assert document["link"] == expected
    assert document["txt_url"] == f"{PUBLIC}/walk.txt?{QUERY}"
    api = client.post("/api/walk", json={"preset": "4k-52-lpa2"}).json()
    assert api["link"] == expected and api["txt_url"] == f"{PUBLIC}/walk.txt?{QUERY}"

    made = client.post("/s", data={"query": QUERY}, follow_redirects=False)
    assert made.headers["location"].startswith("/s/")  # same site: relative
    link_id = made.headers["location"].split("/")[2]
    short = f"{PUBLIC}/s/{link_id}"
    opened = client.get(f"/s/{link_id}", follow_redirects=False)
    assert opened.headers["location"] == expected
    assert short in client.get(made.headers["location"]).text
    slot = client.post("/s", data={"query": QUERY}, headers=HX).text
    assert f'value="{short}"' in slot
    assert f'value="{short}"' in client.get(f"/?{QUERY}").text
    assert client.get(f"/walk.txt?{QUERY}").text.splitlines()[-1] == f"Link: {short}"
    assert client.get(f"/walk.json?{QUERY}").json()["short_link"] == short
    assert client.post("/api/walk", json={"preset": "4k-52-lpa2"}).json()["short_link"] == short


def test_without_a_public_url_links_follow_the_request(client):
    page = client.get(f"/?{QUERY}", headers={"Host": "mirror.example:8080"}).text
    assert share_link(page) == f"http://mirror.example:8080/?{QUERY}"
    answer = click(client, Host="other.example")
    assert share_link(answer.text).startswith("http://other.example/?")
    text = client.get(f"/walk.txt?{QUERY}", headers={"Host": "mirror.example"}).text
    assert text.splitlines()[-1] == f"Link: http://mirror.example/?{QUERY}"


def test_page_and_fragment_print_the_same_link_for_a_state(client):
    answer = click(client)
    new_query = answer.headers["HX-Push-Url"][2:]
    page = client.get(answer.headers["HX-Push-Url"]).text
    assert share_link(page) == share_link(answer.text) == f"http://testserver/?{new_query}"


def test_no_cache_grows_with_the_host_header(client):
    """Forty requests of each kind with forty Host headers leave the caches as forty with one
    Host header does (only what is keyed by identity, the configuration objects a click
    builds, grows in both)."""

    def entries() -> dict[str, int]:
        return {name: count for name, (_, _, count) in cache.stats().items()}

    def requests(host_of) -> dict[str, int]:
        before = entries()
        for n in range(40):
            host = {"Host": host_of(n)}
            assert client.get(f"/?{QUERY}", headers=host).status_code == 200
            assert click(client, **host).status_code == 200
            assert client.get(f"/walk.txt?{QUERY}", headers=host).status_code == 200
        after = entries()
        return {name: after[name] - before.get(name, 0) for name in after}

    cache.clear()
    client.get(f"/?{QUERY}")
    click(client)
    one_host = requests(lambda n: "one.example")
    many_hosts = requests(lambda n: f"h{n}.example")
    assert many_hosts == one_host
    assert all(growth == 0 for name, growth in one_host.items() if name != "config_queries")
