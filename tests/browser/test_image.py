"""The explorer on a memory image in a real browser: ``lpa2-explorer serve --image`` starts at
the image, the banner names it, the mapping listing links each range to its walk."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser.conftest import free_port, screenshot
from tests.images.elfcore import Load, core_bytes, ranges_of, words_to_bytes
from tests.images.tables import Allocator, Tables
from tests.images.test_ptdump import stage1_regs

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def image_server(tmp_path_factory):
    work = tmp_path_factory.mktemp("served")
    t = Tables(1, 4, True, 52, Allocator(0x4000_0000, 0x4100_0000, random.Random(5)))
    t.map(0x000F_1234_5678_9000, 0x000C_0000_1234_5000, 3)
    t.map(0x0008_0000_0000_0000, 0x0004_0080_0000_0000, 0)
    image = work / "guest.elf"
    loads = [Load(b, words_to_bytes(b, s, t.words)) for b, s in ranges_of(t.words)]
    image.write_bytes(core_bytes(loads))
    regs = work / "regs.json"
    regs.write_text(json.dumps({k: hex(v) for k, v in stage1_regs(t, 52).items()}))
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LPA2_DATA_DIR": str(work)}
    script = Path(sys.executable).parent / "lpa2-explorer"
    process = subprocess.Popen(
        [str(script), "serve", "--image", str(image), "--regs", str(regs), "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("lpa2-explorer serve did not start") from None
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=10)


def test_listing_to_walk(page, image_server):
    page.goto(image_server)
    banner = page.locator(".image-banner")
    assert "guest.elf" in banner.inner_text()
    assert "image=" in page.url
    banner.get_by_role("link", name="Mappings").click()
    page.wait_for_url("**/ptdump?**")
    rows = page.locator(".ptdump-table tbody tr")
    assert rows.count() == 2
    screenshot(page, "ptdump-listing")
    rows.nth(1).locator("a").click()
    page.wait_for_url("**/?v=2**")
    assert "va=0xf123456789000" in page.url and "image=" in page.url
    assert "Output address 0xc000012345000" in page.locator("#walk").inner_text()
    screenshot(page, "ptdump-walk")
    assert page.js_errors == []
