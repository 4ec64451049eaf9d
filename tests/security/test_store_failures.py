"""A short-link store the server cannot write takes nothing else down.

For each broken store, a real server (``python -m app.server``) answers the explorer, ``.txt``
and ``.json`` with 200, opens short links that exist when the database can be read, answers
``POST /s`` with the documented 503 and its sentence (a page, or the share panel's slot for
htmx), and ``/readyz`` says why. The stores are broken for real, which needs root:

* read-only: an existing database on a read-only bind mount;
* root-owned: an existing database and folder of root's, the server running as ``nobody``;
* full: a 4 MB tmpfs, filled while the server runs (what a full disk does to SQLite; the log
  must name the real cause, "database or disk is full", not the rollback that followed);
* missing: a data directory that does not exist and cannot be created (under a read-only
  mount);
* file: a data directory that is a regular file.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest

from app.linkstore import (
    DISK_FULL,
    NO_DIRECTORY,
    NOT_A_DIRECTORY,
    NOT_OURS,
    READ_ONLY_FS,
    SQLiteLinkStore,
    StoreUnavailable,
)
from app.routes.health import STATUS_SECONDS
from app.state import encode
from model.explore.configs import CONFIG_PRESETS
from tests.servers import Server, start_server
from tests.tools import in_ci

STORED = encode(CONFIG_PRESETS["4k-52-lpa2"])  # a link made while the store worked
NEW = encode(CONFIG_PRESETS["16k-52-lpa2"])  # one made after it broke


def require_root() -> None:
    if os.getuid() == 0:
        return
    message = "these tests mount file systems and switch users: run them as root"
    if in_ci():
        pytest.fail(message + " (CI=true: tests may not skip)", pytrace=False)
    pytest.skip(message)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str


def request(server: Server, path: str, data: dict | None = None, htmx: bool = False) -> Answer:
    body = urlencode(data).encode() if data is not None else None
    headers = {"HX-Request": "true"} if htmx else {}
    req = urllib.request.Request(server.url + path, data=body, headers=headers)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=30) as response:
            text = response.read().decode()
            return Answer(response.status, dict(response.headers), html.unescape(text))
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers), html.unescape(error.read().decode()))


def make_link(directory: Path) -> str:
    store = SQLiteLinkStore(directory / "links.sqlite3")
    link_id = store.put(STORED)
    store.close()  # the last connection: SQLite folds the WAL back and removes -wal and -shm
    return link_id


@contextlib.contextmanager
def mounted(*args: str) -> Iterator[Path]:
    target = Path(tempfile.mkdtemp(prefix="lpa2-mnt-"))
    subprocess.run(["mount", *args, str(target)], check=True)
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)
        target.rmdir()


@contextlib.contextmanager
def read_only_copy(source: Path) -> Iterator[Path]:
    """``source`` seen through a read-only bind mount."""
    with mounted("--bind", str(source)) as target:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=True)
        yield target


@pytest.fixture
def world_readable_tmp() -> Iterator[Path]:
    """A temporary folder ``nobody`` can reach (pytest's own are private to root)."""
    path = Path(tempfile.mkdtemp(prefix="lpa2-store-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def check_degraded(
    server: Server, reason: str, link_id: str | None, log: Path, readable: bool = True
) -> None:
    """Everything but making links works; making one says ``reason``."""
    for path in (f"/?{NEW}", f"/walk.txt?{NEW}", f"/walk.json?{NEW}", f"/?{STORED}"):
        assert request(server, path).status == 200, path
    if link_id is not None:
        # the existing link is still found: in the .txt twin and through /s/<id>
        assert f"/s/{link_id}" in request(server, f"/walk.txt?{STORED}").text
        opened = request(server, f"/s/{link_id}")
        assert opened.status == 303 and opened.headers["location"].endswith(f"/?{STORED}")
    sentence = f"Short links are unavailable: {reason}."
    page = request(server, "/s", {"query": NEW})
    assert page.status == 503, (page.status, page.text[:300])
    assert sentence in page.text and "The full link works without it." in page.text
    slot = request(server, "/s", {"query": NEW}, htmx=True)
    assert slot.status == 503 and 'id="share-short"' in slot.text
    assert sentence in slot.text and 'role="alert"' in slot.text
    assert 'hx-post="/s"' in slot.text  # the button stays, to try again
    ready = request(server, "/readyz")
    assert ready.status == 503, ready.text
    state = json.loads(ready.text)
    assert state["status"] == "degraded" and state["reason"].startswith(sentence), state
    assert state["store"]["writable"] is False and state["store"]["reason"] == reason, state
    assert state["store"]["readable"] is readable, state
    assert request(server, "/healthz").status == 200
    text = log.read_text()
    assert "Traceback" not in text and "unhandled error" not in text, text[-3000:]
    assert "cannot rollback" not in text


def test_read_only_mount(tmp_path, world_readable_tmp):
    require_root()
    link_id = make_link(world_readable_tmp)
    log = tmp_path / "server.log"
    with read_only_copy(world_readable_tmp) as data:
        server = start_server(data, log=log, make_data_dir=False)
        try:
            check_degraded(server, READ_ONLY_FS, link_id, log)
        finally:
            server.stop()
    assert "cannot be written" in log.read_text()  # logged, once


def test_root_owned_store_and_server_as_nobody(tmp_path, world_readable_tmp):
    require_root()
    link_id = make_link(world_readable_tmp)  # root's file in root's folder (0755)
    log = tmp_path / "server.log"
    server = start_server(world_readable_tmp, log=log, user="nobody", make_data_dir=False)
    try:
        check_degraded(server, NOT_OURS, link_id, log)
    finally:
        server.stop()
    assert sorted(p.name for p in world_readable_tmp.iterdir()) == ["links.sqlite3"]


def test_full_disk_while_running(tmp_path):
    require_root()
    log = tmp_path / "server.log"
    with mounted("-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs") as data:
        server = start_server(data, log=log, make_data_dir=False)
        try:
            made = request(server, "/s", {"query": STORED})
            assert made.status == 303
            link_id = made.headers["location"].split("/")[2]
            with contextlib.suppress(OSError), (data / "filler").open("wb") as filler:
                while True:  # the disk fills up under the running server
                    filler.write(b"\0" * 65536)
                    filler.flush()
            check_degraded(server, DISK_FULL, link_id, log)
            assert "database or disk is full" in log.read_text()
            (data / "filler").unlink()  # space again: links work again, without a restart
            made = request(server, "/s", {"query": NEW})
            assert made.status == 303, made.text[:300]
            time.sleep(STATUS_SECONDS)  # /readyz looks again
            assert request(server, "/readyz").status == 200
        finally:
            server.stop()


def test_missing_data_directory_that_cannot_be_created(tmp_path, world_readable_tmp):
    require_root()
    log = tmp_path / "server.log"
    with read_only_copy(world_readable_tmp) as mount:
        server = start_server(mount / "var" / "lpa2", log=log, make_data_dir=False)
        try:
            check_degraded(server, NO_DIRECTORY, None, log)
        finally:
            server.stop()


def test_data_directory_is_a_file(tmp_path):
    data = tmp_path / "data"
    data.write_text("not a directory\n")
    log = tmp_path / "server.log"
    server = start_server(data, log=log, make_data_dir=False)
    try:
        check_degraded(server, NOT_A_DIRECTORY, None, log)
    finally:
        server.stop()
    assert data.read_text() == "not a directory\n"


def test_full_database_logs_the_real_cause(tmp_path, caplog):
    """SQLite ends a transaction itself when the disk is full; the store must not then roll
    back again (which fails with "no transaction is active") nor log that instead of the
    cause. The database is held at its current size with max_page_count, the way SQLite's
    own tests make it full."""
    store = SQLiteLinkStore(tmp_path / "links.sqlite3")
    store.put(STORED)
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages}")
    big = STORED + "&" + "&".join(f"mem={0x10000 + 8 * i:#x}:{i:#x}" for i in range(256))
    with (
        caplog.at_level("WARNING", logger="lpa2.linkstore"),
        pytest.raises(StoreUnavailable) as caught,
    ):
        store.put(big)
    assert caught.value.reason == DISK_FULL
    assert "database or disk is full" in caplog.text
    assert "no transaction is active" not in caplog.text
    assert not store._conn.in_transaction
    assert store.get(store.put(STORED)) == STORED  # the store still reads and finds links
