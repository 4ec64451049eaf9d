"""The console script `lpa2-explorer`, run for real in a subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from app.linkstore import SQLiteLinkStore
from app.state import encode
from model.explore.configs import CONFIG_PRESETS
from model.explore.text import text_link
from tests.servers import free_port, start_server

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).parent / "lpa2-explorer"
QUERY = "v=2"  # the default preset, 4k-52-lpa2


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("LPA2_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LPA2_PUBLIC_URL", raising=False)
    return tmp_path


def cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    if not SCRIPT.exists():
        pytest.fail(f"{SCRIPT} is missing: run make setup-test (pip install -e .)")
    env = {k: v for k, v in os.environ.items() if k != "LPA2_PUBLIC_URL"}
    env["LPA2_DATA_DIR"] = str(data_dir)
    # the source tree first, so a venv installed before a package existed still finds it
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )


@pytest.mark.parametrize("slug", ["4k-52-lpa2", "s1-48-over-s2-52", "fault-address-size-desc98"])
def test_cli_reproduces_the_txt_of_a_link(client, data_dir, slug):
    query = "v=2" if slug == "4k-52-lpa2" else f"v=2&preset={slug}"
    expected = client.get(f"/walk.txt?{query}")
    assert expected.status_code == 200
    run = cli("walk", f"http://testserver/?{query}", data_dir=data_dir)
    assert run.returncode == 0, run.stderr
    assert run.stdout == expected.text


def test_cli_json_equals_the_json_twin(client, data_dir):
    expected = client.get(f"/walk.json?{QUERY}").json()
    run = cli("walk", "--json", f"http://testserver/?{QUERY}", data_dir=data_dir)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == expected


def test_query_string_and_flags(data_dir):
    by_query = cli("walk", "?v=2&preset=4k-52-lpa2&access=el0w", data_dir=data_dir)
    by_flags = cli("walk", "--preset", "4k-52-lpa2", "--access", "el0w", data_dir=data_dir)
    assert by_query.returncode == by_flags.returncode == 0
    assert by_query.stdout == by_flags.stdout
    assert by_flags.stdout.splitlines()[-1] == ("Link: http://127.0.0.1:8000/?v=2&access=el0w")


def test_every_register_and_mem_and_choice_flag(data_dir):
    run = cli(
        "walk",
        "--preset", "4k-48",
        "--va", "0x0000_1234_5678_9abc",
        "--tcr-el1", "0x5b5103510",
        "--vtcr-el2", "0x1",
        "--hcr-el2", "0x80000001",
        "--mem", "0x41234120=0",
        "--mem", "0x2000:0x3",
        "--choice", "ds_validity=feat_lpa2",
        "--public-url", "https://lpa2.example.org",
        data_dir=data_dir,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "FAULT: translation fault at level 0, stage 2" in run.stdout
    assert text_link(run.stdout) == (
        "https://lpa2.example.org/?v=2&preset=4k-48&vtcr_el2=0x1&hcr_el2=0x80000001"
        "&mem=0x2000:0x3&mem=0x41234120:0x0&c.ds_validity=feat_lpa2"
    )
    assert max(len(line) for line in run.stdout.splitlines()) <= 72


def test_short_link_from_a_local_database(data_dir, tmp_path):
    link_id = SQLiteLinkStore(data_dir / "links.sqlite3").put(QUERY)
    for given in (f"https://lpa2.example.org/s/{link_id}", link_id, f"/s/{link_id}"):
        run = cli("walk", given, "--data-dir", str(data_dir), data_dir=data_dir)
        assert run.returncode == 0, run.stderr
        assert "Output PA 0x000f123456789abc" in run.stdout
    run = cli(
        "walk", f"https://lpa2.example.org/s/{link_id}", "--data-dir", str(data_dir),
        data_dir=data_dir,
    )  # fmt: skip
    assert run.stdout.splitlines()[-1] == f"Link: https://lpa2.example.org/s/{link_id}"
    run = cli("walk", link_id, data_dir=data_dir)  # a bare id: $LPA2_DATA_DIR
    assert run.returncode == 0 and run.stdout.splitlines()[-1].endswith(f"/s/{link_id}")
    empty = tmp_path / "elsewhere"
    missing = cli("walk", link_id, "--data-dir", str(empty), data_dir=data_dir)
    assert missing.returncode == 3
    assert missing.stderr.startswith(f"lpa2-explorer: unknown short link '{link_id}'")
    assert not empty.exists()


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    """A real server with its own database, which the CLI never sees."""
    server = start_server(tmp_path_factory.mktemp("instance"))
    yield server
    server.stop()


def make_short_link(server, query: str) -> str:
    body = urllib.parse.urlencode({"query": query}).encode()
    request = urllib.request.Request(f"{server.url}/s", data=body, headers={"HX-Request": "true"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        page = answer.read().decode()
    return re.search(r'value="http://127\.0\.0\.1:\d+/s/(\w+)"', page)[1]


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.read().decode()


@pytest.mark.parametrize("slug", ["4k-52-lpa2", "s1-48-over-s2-52", "fault-permission"])
def test_a_short_link_opens_from_its_instance(instance, tmp_path, slug):
    """Over HTTP, with no database here: the text is exactly the instance's .txt of the same
    walk (its Link: the short link), and the JSON its .json."""
    query = encode(CONFIG_PRESETS[slug].with_registers(MAIR_EL1=0x44FF))
    link_id = make_short_link(instance, query)
    short = f"{instance.url}/s/{link_id}"
    nowhere = tmp_path / "no-database"
    run = cli("walk", short, data_dir=nowhere)
    assert run.returncode == 0, run.stderr
    assert run.stdout == fetch(f"{instance.url}/walk.txt?{query}")
    assert run.stdout.splitlines()[-1] == f"Link: {short}"
    run = cli("walk", "--json", short, data_dir=nowhere)
    assert json.loads(run.stdout) == json.loads(fetch(f"{instance.url}/walk.json?{query}"))
    assert not nowhere.exists()


def test_a_short_link_its_instance_does_not_know_or_cannot_answer(instance, tmp_path):
    run = cli("walk", f"{instance.url}/s/Zz9Zz9Zz", data_dir=tmp_path)
    assert run.returncode == 3
    assert "unknown short link 'Zz9Zz9Zz'" in run.stderr
    closed = f"http://127.0.0.1:{free_port()}/s/Zz9Zz9Zz"
    run = cli("walk", closed, data_dir=tmp_path)
    assert run.returncode == 4
    assert run.stderr.startswith("lpa2-explorer: cannot reach http://127.0.0.1:")
    assert len(run.stderr.splitlines()) == 1


def test_a_link_pasted_as_a_mail_client_wraps_it(client, data_dir):
    config = CONFIG_PRESETS["4k-48"].with_registers(TCR_EL1=0x5B5103510, MAIR_EL1=0x44FF)
    config = config.with_memory({0x41234120: 0xF067972F4003, 0x41234128: 0x3})
    text = client.get(f"/walk.txt?{encode(config)}").text
    start = text.index("Link: <")
    wrapped = text[start + len("Link: ") :]
    assert wrapped.count("\n") > 1
    run = cli("walk", wrapped, data_dir=data_dir)
    assert run.returncode == 0, run.stderr
    assert run.stdout.replace("127.0.0.1:8000", "testserver") == text


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["walk", "v=2&tcr_el1=0x"], "tcr_el1=0x"),
        (["walk", "v=9"], "unknown link version"),
        (["walk", "--tcr-el1", "0xzz"], "TCR_EL1: '0xzz' is not a number"),
        (["walk", "--mem", "0x1000"], "expected ADDR=VALUE"),
        (["walk", "--mem", "0x1001=1"], "not 8-byte aligned"),
        (["walk", "--choice", "colour=red"], "unknown choice"),
        (["walk", "--access", "el7r"], "bad access"),
        (["walk", "--preset", "nope"], "invalid choice"),
        (["walk", "https://lpa2.example.org/"], "has no query string"),
        (["fly"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(data_dir, args, words):
    run = cli(*args, data_dir=data_dir)
    assert run.returncode == 2
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert words in run.stderr


def test_presets(data_dir):
    run = cli("presets", data_dir=data_dir)
    assert run.returncode == 0
    listed = [line.split()[0] for line in run.stdout.splitlines()]
    assert listed == list(CONFIG_PRESETS)


def test_help_works(data_dir):
    run = cli("walk", "--help", data_dir=data_dir)
    assert run.returncode == 0
    assert "--tcr-el1" in run.stdout and "--data-dir" in run.stdout


def test_in_process_main_matches(capsys, data_dir):
    from app.cli import main

    assert main(["walk", QUERY]) == 0
    out = capsys.readouterr().out
    assert out.endswith(f"Link: http://127.0.0.1:8000/?{QUERY}\n")
