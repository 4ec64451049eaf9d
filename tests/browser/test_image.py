"""The explorer on a memory image in a real browser: ``lpa2-explorer serve --image`` starts at
the image, the banner names it, the mapping listing links each range to its walk."""

from __future__ import annotations

import os
import random

import pytest

from app import images
from tests.browser.conftest import screenshot
from tests.images.elfcore import core_of
from tests.images.tables import Allocator, Tables
from tests.images.test_ptdump import stage1_regs
from tests.servers import start_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def image_server(tmp_path_factory):
    work = tmp_path_factory.mktemp("served")
    t = Tables(1, 4, True, 52, Allocator(0x4000_0000, 0x4100_0000, random.Random(5)))
    t.map(0x000F_1234_5678_9000, 0x000C_0000_1234_5000, 3)
    t.map(0x0008_0000_0000_0000, 0x0004_0080_0000_0000, 0)
    image = work / "guest.elf"
    image.write_bytes(core_of(t.words))
    registers = stage1_regs(t, 52)
    # what lpa2-explorer serve hands the server (tests/images/test_serve.py runs the command)
    os.environ[images.IMAGES_ENV] = images.environment([str(image)], registers, None)
    try:
        server = start_server(work)
    finally:
        del os.environ[images.IMAGES_ENV]
    yield server.url
    server.stop()


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
    walk = page.locator("#walk").inner_text()
    assert "Output address 0xc000012345000" in walk
    assert "from the memory image" in walk and "synthetic" not in walk
    screenshot(page, "ptdump-walk")
    assert page.js_errors == []
