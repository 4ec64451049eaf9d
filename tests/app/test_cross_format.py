"""One walk, the same facts in every format: for every preset (and states reached from some by
bit clicks), the explorer page, ``/walk.txt``, ``/walk.json``, the CLI and the compare page
state the descriptors read (stage, level, address, value), the output address and where each
of its bit ranges came from, the fault (kind, level, stage, FSC) and PAR_EL1, as the model's
``WalkResult`` has them. Each format is read back from its own text, not from the view."""

from __future__ import annotations

import html
import json
import re

import pytest

from app.cli import main as cli_main
from app.state import encode
from model.arch.descriptors import BitSource, source_label
from model.explore.configs import CONFIG_PRESETS, Configuration, run
from model.explore.text import text_link
from tests.app.html_regions import Html
from tests.app.test_click_views import random_states


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LPA2_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LPA2_PUBLIC_URL", raising=False)


def n(text: str) -> int:
    return int(text, 16)


def model_facts(config: Configuration, nested: bool = True) -> dict:
    result = run(config)
    fault = result.fault
    return {
        "reads": [
            (r.read.stage, r.read.level, r.read.desc_address, r.read.raw)
            for r in result.reads(nested)
            if r.read.desc_address is not None and r.read.raw is not None
        ],
        "oa": result.output_address,
        "oa_labels": [(s.oa_hi, s.oa_lo, result.source_label(s)) for s in result.oa_sources]
        if result.output_address is not None
        else [],
        "fault": None if fault is None else (fault.kind.value, fault.level, fault.stage, fault.fsc),
        "par": result.par,
    }


# -- each format, read back ------------------------------------------------------------------

FAULT_TITLE = re.compile(r"^(.+) fault, level (-?\d+), stage (\d)")
RANGE = re.compile(r"\[(\d+)(?::(\d+))?\]")


def _range(text: str) -> tuple[int, int]:
    hi, lo = RANGE.fullmatch(text).groups()
    return int(hi), int(lo if lo is not None else hi)


def page_facts(page: str) -> dict:
    doc = Html(page)
    reads: list[tuple] = []
    parent = 0  # where the last card of the walk proper sits in ``reads``
    cards = re.finditer(
        r'<article id="card-(n-?\d+-)?(\d)-(-?\d+)-[^"]*"[^>]*?'
        r'data-address="(0x[0-9a-f]+)" data-value="(0x[0-9a-f]+)"',
        page,
    )
    for card in cards:
        read = (int(card[2]), int(card[3]), n(card[4]), n(card[5]))
        if card[1]:  # a stage-2 read of a table address: the walk made it before that read
            reads.insert(parent, read)
            parent += 1
        else:
            parent = len(reads)
            reads.append(read)
    oa = re.search(r'<h3 id="oa-title">Output address <code>(0x[0-9a-f]+)</code>', page)
    labels = [
        (*_range(rng), html.unescape(label))
        for rng, label in re.findall(r'aria-label="OA(\[[0-9:]+\]) from ([^"=]+?) = ', page)
    ]
    fault = None
    if "fault-title" in doc.spans:
        title = re.sub(r"<[^>]+>", "", doc.inner("fault-title")).replace("✗ ", "")
        kind, level, stage = FAULT_TITLE.match(title).groups()
        fsc = re.search(r"<dt>FSC</dt><dd><code>(0x[0-9a-f]+)</code>", page)[1]
        fault = (kind.lower().replace(" ", "_"), int(level), int(stage), n(fsc))
    pars = set(re.findall(r"PAR_EL1(?: |</dt><dd>)<code>(0x[0-9a-f]+)</code>", page))
    assert len(pars) == 1, pars
    return {
        "reads": reads,
        "oa": n(oa[1]) if oa else None,
        "oa_labels": labels,
        "fault": fault,
        "par": n(pars.pop()),
    }


def text_facts(text: str, stage2_alone: bool) -> dict:
    reads = []
    for row in re.finditer(
        r"^ *(s2 )?L(-?\d+) +\[[0-9:]+\]=0x[0-9a-f]+ +(0x[0-9a-f]{16}) (0x[0-9a-f]{16}) ",
        text,
        re.M,
    ):
        stage = 2 if row.group(1) or stage2_alone else 1
        reads.append((stage, int(row.group(2)), n(row.group(3)), n(row.group(4))))
    oa = re.search(r"^Output PA (0x[0-9a-f]+)", text, re.M)
    labels = [
        (*_range(rng), label)
        for rng, label in re.findall(r"^  OA(\[[0-9:]+\]) +=.*<- (.+)$", text, re.M)
    ]
    fault = None
    found = re.search(r"^FAULT: (.+) fault at level (-?\d+), stage (\d)", text, re.M)
    if found:
        fsc = re.search(r"^  FSC (0x[0-9a-f]+) ", text, re.M)[1]
        kind = found[1].replace(" ", "_")
        fault = (kind, int(found[2]), int(found[3]), n(fsc))
    par = re.search(r"PAR_EL1 +(0x[0-9a-f]{16})", text)[1]
    return {
        "reads": reads,
        "oa": n(oa[1]) if oa else None,
        "oa_labels": labels,
        "fault": fault,
        "par": n(par),
    }


def u64(value: str | None) -> int | None:
    """A 64-bit value of a JSON answer: a "0x…" string (app.jsonform), or null."""
    if value is None:
        return None
    assert isinstance(value, str) and re.fullmatch(r"0x[0-9a-f]+", value), value
    return int(value, 16)


def without_link(text: str) -> str:
    return text[: text.rindex("\nLink: ")]


def json_facts(document: dict) -> dict:
    walk = document["walk"]
    reads = []
    for level in walk["levels"]:
        nested = (level.get("s2") or {}).get("levels", [])
        reads += [(r["stage"], r["level"], u64(r["desc_address"]), u64(r["raw"])) for r in nested]
        reads.append(
            (level["stage"], level["level"], u64(level["desc_address"]), u64(level["raw"]))
        )
    for r in (walk["s2_final"] or {}).get("levels", []):
        reads.append((r["stage"], r["level"], u64(r["desc_address"]), u64(r["raw"])))
    reads = [r for r in reads if r[2] is not None and r[3] is not None]
    two_stage = walk["s2_final"] is not None
    input_name = "IPA" if walk["regime"] == "stage2" else "VA"
    oa = u64(walk["output_address"])
    labels = []
    if oa is not None:
        labels = [
            (
                s["oa_hi"],
                s["oa_lo"],
                source_label(BitSource(**s), two_stage=two_stage, input_name=input_name),
            )
            for s in walk["oa_sources"]
        ]
    f = walk["fault"]
    return {
        "reads": reads,
        "oa": oa,
        "oa_labels": labels,
        "fault": None if f is None else (f["kind"], f["level"], f["stage"], f["fsc"]),
        "par": u64(walk["par"]),
    }


def compare_facts(page: str) -> dict:
    """Walk A's table and outcome on /compare (main and final reads; no PAR or labels)."""
    section = re.search(r'<h2 id="wa-title">(.*?)</section>', page, re.S)[1]
    reads = [
        (2 if s2 else 1, int(level), n(address), n(raw))
        for s2, level, address, raw in re.findall(
            r'<tr class="[^"]*">\s*<th scope="row">(S2 )?L(-?\d+).*?</th>\s*'
            r"<td><code>[^<]*</code> = \d+</td>\s*<td><code>(0x[0-9a-f]+)</code><br>"
            r"<code>(0x[0-9a-f]+)</code></td>",
            section,
            re.S,
        )
    ]
    ok = re.search(r'<span class="badge ok">✓ translates</span> <code>0x[0-9a-f]+</code> → '
                   r"<code>(0x[0-9a-f]+)</code>", section)  # fmt: skip
    bad = re.search(r"FSC <code>(0x[0-9a-f]+)</code>, stage (\d), level (-?\d+)", section)
    return {
        "reads": reads,
        "oa": n(ok[1]) if ok else None,
        "fault": None if bad is None else (int(bad[3]), int(bad[2]), n(bad[1])),
    }


# -- the test -----------------------------------------------------------------------------------


def states() -> list[tuple[str, Configuration]]:
    out = list(CONFIG_PRESETS.items())
    for slug in ("s1-48-over-s2-52", "s2-52-concat16", "fault-permission"):
        out += [(f"{slug}+{i}", c) for i, c in enumerate(random_states(slug, 6, seed=3)[1:])]
    return out


STATES = states()


@pytest.mark.parametrize(("name", "config"), STATES, ids=[name for name, _ in STATES])
def test_every_format_states_the_same_facts(client, capsys, name, config):
    query = encode(config)
    facts = model_facts(config)
    assert facts["reads"], "every state reads a descriptor"
    stage2_alone = config.regime == "stage2"

    page = client.get(f"/?{query}")
    assert page.status_code == 200
    assert page_facts(page.text) == facts

    text = client.get(f"/walk.txt?{query}").text
    assert text_facts(text, stage2_alone) == facts

    document = client.get(f"/walk.json?{query}").json()
    assert json_facts(document) == facts

    assert cli_main(["walk", query]) == 0
    cli_text = capsys.readouterr().out
    assert text_facts(cli_text, stage2_alone) == facts
    # The same text, the link's host aside (the CLI prints its default base).
    assert without_link(cli_text) == without_link(text)
    assert text_link(cli_text).replace("127.0.0.1:8000", "testserver") == text_link(text)
    assert cli_main(["walk", query, "--json"]) == 0
    assert json_facts(json.loads(capsys.readouterr().out)) == facts

    compared = client.get("/compare", params={"a": query, "b": query}).text
    main = model_facts(config, nested=False)
    fault = None if facts["fault"] is None else facts["fault"][1:]
    assert compare_facts(compared) == {"reads": main["reads"], "oa": facts["oa"], "fault": fault}
