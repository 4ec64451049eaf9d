"""Freeze a link: ``python -m tests.links.freeze NAME 'v=2&preset=...'``.

Writes ``fixtures/NAME.json`` from what the codec, the model and the text renderer produce
today, and appends its hash to ``frozen.sha256``. Refuses to overwrite (see README.md).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from app.links import explorer_url
from app.state import decode, encode
from model.arch.walker import WalkResult
from model.explore.configs import run
from model.explore.text import render_text

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
MANIFEST = HERE / "frozen.sha256"
BASE = "http://127.0.0.1:8000"


def descriptor_addresses(result: WalkResult) -> list[str]:
    out = []
    for read in result.levels:
        if read.s2 is not None:
            out += [f"{r.desc_address:#x}" for r in read.s2.levels if r.desc_address is not None]
        if read.desc_address is not None:
            out.append(f"{read.desc_address:#x}")
    if result.s2_final is not None:
        out += [
            f"{r.desc_address:#x}" for r in result.s2_final.levels if r.desc_address is not None
        ]
    return out


def descriptors(result: WalkResult) -> list[list[str]]:
    """Every descriptor read, in walk order: [address, value]."""
    out = []
    for read in result.levels:
        if read.s2 is not None:
            out += [
                [f"{r.desc_address:#x}", f"{r.raw:#x}"] for r in read.s2.levels if r.raw is not None
            ]
        if read.raw is not None:
            out.append([f"{read.desc_address:#x}", f"{read.raw:#x}"])
    if result.s2_final is not None:
        out += [
            [f"{r.desc_address:#x}", f"{r.raw:#x}"]
            for r in result.s2_final.levels
            if r.raw is not None
        ]
    return out


def expectation(query: str, link: str) -> dict:
    decoded = decode(query)
    if decoded.problems:
        raise SystemExit(f"not a clean link: {decoded.problems}")
    result = run(decoded.config)
    fault = result.fault
    return {
        "output_address": None if result.output_address is None else f"{result.output_address:#x}",
        "fault": None
        if fault is None
        else {
            "kind": fault.kind.value,
            "level": fault.level,
            "stage": fault.stage,
            "fsc": f"{fault.fsc:#04x}",
        },
        "descriptor_addresses": descriptor_addresses(result),
        "descriptors": descriptors(result),
        "txt": render_text(decoded.config, result=result, link=link),
    }


def freeze(name: str, query: str) -> Path:
    query = query.lstrip("?")
    if encode(decode(query).config) != query:
        raise SystemExit(f"not canonical; the canonical form is {encode(decode(query).config)}")
    path = FIXTURES / f"{name}.json"
    if path.exists():
        raise SystemExit(f"{path} exists: fixtures are never edited (README.md)")
    link = explorer_url(BASE, query)
    data = {"name": name, "link": link, "query": query, "expect": expectation(query, link)}
    FIXTURES.mkdir(exist_ok=True)
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    path.write_text(text)
    digest = hashlib.sha256(text.encode()).hexdigest()
    with MANIFEST.open("a") as manifest:
        manifest.write(f"{digest}  fixtures/{path.name}\n")
    return path


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    print(freeze(sys.argv[1], sys.argv[2]))
