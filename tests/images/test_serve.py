"""The explorer on a memory image (``lpa2-explorer serve --image``): it starts at the image,
every page names it, links carry its sha256, a link to another image is refused with what it
needs, edits lie over the image, and the mapping listing links each range to its walk."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from app import images
from app.main import create_app
from model.explore.image import open_image
from tests.servers import free_port

from .elfcore import core_of
from .tables import Allocator, Tables, merged
from .test_ptdump import stage1_regs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def guest(tmp_path_factory):
    """An ELF image with 4KB LPA2 tables, and the registers that walk them."""
    t = Tables(1, 4, True, 52, Allocator(0x4000_0000, 0x4100_0000, random.Random(4)))
    for i in range(3):
        t.map(0x000F_1234_5678_9000 + i * 0x1000, 0x000C_0000_1234_5000 + i * 0x1000, 3)
    t.map(0x0008_0000_0000_0000, 0x0004_0080_0000_0000, 0)
    path = tmp_path_factory.mktemp("image") / "guest.elf"
    path.write_bytes(core_of(t.words))
    return path, t, stage1_regs(t, 52)


@pytest.fixture
def served(guest, monkeypatch):
    path, t, regs = guest
    monkeypatch.setenv(images.IMAGES_ENV, images.environment([str(path)], regs, None))
    monkeypatch.setattr(images, "_SERVED", None)
    client = TestClient(create_app())
    yield client, t, open_image([str(path)]).sha256
    monkeypatch.setattr(images, "_SERVED", None)  # no other test's page names this image


def test_start_page_is_the_image_with_its_registers(served):
    client, t, sha = served
    start = client.get("/", follow_redirects=False)
    assert start.status_code == 303
    query = urlsplit(start.headers["location"]).query
    assert f"image={sha}" in query and f"ttbr0_el1={t.ttbr():#x}" in query
    page = client.get(f"/?{query}")
    assert page.status_code == 200
    assert "guest.elf" in page.text and sha in page.text  # every page names the image
    assert f'href="/ptdump?{query}"'.replace("&", "&amp;") in page.text  # its mappings
    assert sha in client.get("/glossary").text
    walk = client.get(f"/walk.json?{query}&va=0xf123456789abc").json()
    reads = walk["walk"]["levels"]
    assert {r["source"] for r in reads} == {"image"}
    assert walk["walk"]["output_address"] == 0x000C_0000_1234_5ABC
    assert walk["link"].endswith(f"image={sha}")  # a link made here carries the image


def test_edits_lie_over_the_image(served):
    client, t, sha = served
    query = urlsplit(client.get("/", follow_redirects=False).headers["location"]).query
    before = client.get(f"/walk.json?{query}&va=0xf123456789abc").json()["walk"]
    leaf = before["levels"][-1]
    edited = client.get(
        f"/walk.json?{query}&va=0xf123456789abc&mem={leaf['desc_address']:#x}:0x0"
    ).json()["walk"]
    assert edited["fault"]["kind"] == "translation"
    assert edited["levels"][-1]["source"] == "set"
    again = client.get(f"/walk.json?{query}&va=0xf123456789abc").json()["walk"]
    assert again["output_address"] == before["output_address"]  # the image is read-only


def test_ptdump_page_links_each_range_to_its_walk(served):
    client, t, sha = served
    listing = client.get("/ptdump", follow_redirects=True)
    assert listing.status_code == 200 and sha in listing.text
    links = [unescape(h) for h in re.findall(r'<td><a href="(/\?[^"]+)"', listing.text)]
    expected = merged(t.mappings)
    assert len(links) == len(expected)
    for link, (start, _end, oa, _level, _kind) in zip(links, expected, strict=True):
        walk = client.get(link.replace("/?", "/walk.json?", 1)).json()["walk"]
        assert walk["input_address"] == start and walk["output_address"] == oa
    query = urlsplit(str(listing.url)).query
    text = client.get(f"/ptdump.txt?{query}")
    assert text.status_code == 200 and "DS1 (FEAT_LPA2" in text.text
    data = client.get(f"/ptdump.json?{query}").json()
    assert [m["start"] for m in data["roots"][0]["mappings"]] == [hex(r[0]) for r in expected]


def _refused(client, other: str, where: str) -> None:
    page = client.get(f"/?v=2&image={other}", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert other in page.text and where in page.text
    data = client.get(f"/walk.json?v=2&image={other}").json()
    assert data["image_sha256"] == other and where in data["detail"]


def test_a_link_to_another_image_says_what_it_needs(served):
    client, _t, sha = served
    _refused(client, "ab" * 32, sha)


def test_a_server_without_images_refuses_image_links(client):
    assert images.served_image() is None
    _refused(client, "cd" * 32, "reads no memory image")
    bad = client.get("/ptdump?v=2")
    assert bad.status_code == 400 and "serve --image" in bad.text


def test_the_serve_command(guest, tmp_path):
    path, _t, regs = guest
    script = Path(sys.executable).parent / "lpa2-explorer"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LPA2_DATA_DIR": str(tmp_path)}
    broken = tmp_path / "broken.elf"
    broken.write_bytes(path.read_bytes()[:200])
    refused = subprocess.run(
        [str(script), "serve", "--image", str(broken)], capture_output=True, text=True, env=env
    )
    assert refused.returncode == 2 and str(broken) in refused.stderr
    regs_file = tmp_path / "regs.json"
    regs_file.write_text(json.dumps({k: hex(v) for k, v in regs.items()}))
    port = free_port()
    server = subprocess.Popen(
        [str(script), "serve", "--image", str(path), "--regs", str(regs_file), "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        body = _get_when_up(f"http://127.0.0.1:{port}/")
        assert "guest.elf" in body and "Memory image" in body
    finally:
        server.terminate()
        server.wait(timeout=10)


def _get_when_up(url: str) -> str:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return answer.read().decode()
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
