"""Bounded work: every request limit answers 413/422 with a message, and no input makes the
walker read more descriptors than the tables have levels."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.linkstore import MAX_QUERY_LENGTH
from app.main import create_app
from app.security import MAX_BODY_BYTES, MAX_QUERY_BYTES, MAX_QUERY_PARAMS
from app.state import MAX_MEMORY_ENTRIES, REGISTER_PARAMS
from model import CPU_PRESETS, Choices, tables_for, walk
from model.explore.configs import CONFIG_PRESETS, run
from tests.security.asgi import call

APP = create_app()
FORM = [(b"content-type", b"application/x-www-form-urlencoded")]
JSON = [(b"content-type", b"application/json")]


@pytest.fixture(scope="module", autouse=True)
def data_dir(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LPA2_DATA_DIR", str(tmp_path_factory.mktemp("limits-data")))
        yield


def test_query_string_length():
    query = b"v=2&va=0x" + b"0" * MAX_QUERY_BYTES
    for path in ("/", "/walk.txt", "/walk.json", "/compare", "/s/abcdefg"):
        answer = call(APP, "GET", path, query=query)
        assert answer.status == 413, path
        assert f"longer than {MAX_QUERY_BYTES} bytes" in answer.text
    ok = call(APP, "GET", "/walk.txt", query=b"v=2&va=0x" + b"0" * (MAX_QUERY_BYTES - 20))
    assert ok.status == 200


def test_query_parameter_count():
    for path in ("/", "/walk.txt", "/walk.json", "/decode"):
        answer = call(APP, "GET", path, query=b"&".join([b"v=2"] * (MAX_QUERY_PARAMS + 1)))
        assert answer.status == 422, path
        assert f"More than {MAX_QUERY_PARAMS} query parameters" in answer.text
    assert call(APP, "GET", "/walk.txt", query=b"&".join([b"v=2"] * MAX_QUERY_PARAMS)).status == 200


def test_body_size_declared_and_chunked():
    body = urlencode({"query": "v=2&" + "x" * MAX_BODY_BYTES}).encode()
    for chunks in (1, 16):
        for path, headers in (("/s", FORM), ("/api/walk", JSON)):
            answer = call(APP, "POST", path, headers=headers, body=body, chunks=chunks)
            assert answer.status == 413, (path, chunks, answer.body[:200])
            assert f"larger than {MAX_BODY_BYTES} bytes" in answer.text
    lying = [*FORM, (b"content-length", b"12abc")]
    assert call(APP, "POST", "/s", headers=lying, body=b"query=v%3D1").status == 413


def test_short_link_query_length():
    query = "v=2&preset=4k-52-lpa2&" + "x=1&" * (MAX_QUERY_LENGTH // 4)
    answer = call(APP, "POST", "/s", headers=FORM, body=urlencode({"query": query}).encode())
    assert answer.status == 422
    assert "query" in json.loads(answer.text)["detail"][0]["loc"]


def test_memory_entries():
    too_many = {f"{0x1000 + 8 * i:#x}": "0x0" for i in range(MAX_MEMORY_ENTRIES + 1)}
    answer = call(
        APP, "POST", "/api/walk", headers=JSON, body=json.dumps({"memory": too_many}).encode()
    )
    assert answer.status == 422
    assert f"at most {MAX_MEMORY_ENTRIES} memory entries" in answer.text
    just = dict(list(too_many.items())[:MAX_MEMORY_ENTRIES])
    ok = call(APP, "POST", "/api/walk", headers=JSON, body=json.dumps({"memory": just}).encode())
    assert ok.status == 200
    # a link carries at most MAX_QUERY_PARAMS parameters; the short-link form reads the link
    # from its body, where the memory bound is the one that applies
    mem = "&".join(f"mem={0x1000 + 8 * i:#x}:0x0" for i in range(MAX_MEMORY_ENTRIES + 1))
    answer = call(APP, "POST", "/s", headers=FORM, body=urlencode({"query": "v=2&" + mem}).encode())
    assert answer.status == 400
    assert f"more than {MAX_MEMORY_ENTRIES} memory entries" in answer.text


# -- the walker reads a bounded number of descriptors ------------------------------------------

u64 = st.integers(min_value=0, max_value=2**64 - 1)
REGISTERS = list(REGISTER_PARAMS.values())


def levels(params) -> int:
    return 4 - params.start_level


@st.composite
def walk_inputs(draw):
    base = CONFIG_PRESETS[draw(st.sampled_from(list(CONFIG_PRESETS)))]
    registers = dict(base.registers)
    for name in draw(st.lists(st.sampled_from(REGISTERS), max_size=4)):
        if draw(st.booleans()):
            registers[name] = draw(u64)
        else:  # flip a few bits: stays near a valid configuration
            for bit in draw(st.lists(st.integers(0, 63), max_size=3)):
                registers[name] = registers.get(name, 0) ^ (1 << bit)
    regime = draw(st.sampled_from(["el10", "el2", "el20", "stage2", "el10_s12", base.regime]))
    return base, regime, registers, draw(u64), draw(st.sampled_from(["el0r", "el1w", "el2x"]))


@st.composite
def memories(draw, reads):
    """Random descriptors at the addresses the walk read (tables pointing anywhere, at
    themselves, at the start table...)."""
    memory = {}
    for pa in reads:
        choice = draw(st.integers(0, 3))
        if choice == 0:
            memory[pa] = draw(u64)
        elif choice == 1:
            memory[pa] = (pa & ~0xFFF) | 3  # a table descriptor pointing at its own table
        elif choice == 2:
            memory[pa] = draw(u64) | 3
    return memory


@settings(max_examples=400, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(inputs=walk_inputs(), data=st.data(), cpu=st.sampled_from(list(CPU_PRESETS)))
def test_walk_reads_at_most_its_levels(inputs, data, cpu):
    base, regime, registers, address, access = inputs
    choices = Choices()
    first = walk(
        regime,
        registers,
        tables_for(base.tables_origin.registers, memory=base.memory),
        address,
        access,
        cpu=CPU_PRESETS[cpu],
        choices=choices,
    )
    reads = [lr.desc_address for lr in first.levels if lr.desc_address is not None]
    memory = {**base.memory, **data.draw(memories(reads))}
    started = time.perf_counter()
    result = walk(
        regime,
        registers,
        tables_for(base.tables_origin.registers, memory=memory),
        address,
        access,
        cpu=CPU_PRESETS[cpu],
        choices=choices,
    )
    assert time.perf_counter() - started < 1.0
    for res in (first, result):
        s1, s2 = res.params.get("s1"), res.params.get("s2")
        if s1 is not None and s2 is not None:
            bound = (levels(s1) + 1) * (levels(s2) + 1) - 1
        elif s1 is not None or s2 is not None:
            bound = levels(s1 or s2)
        else:
            bound = 0
        assert 0 <= res.descriptor_reads <= bound, (regime, res.descriptor_reads, bound)
        assert len(res.levels) <= bound
        json.dumps(res.to_dict())


def test_two_stage_presets_reach_but_do_not_pass_the_bound():
    checked = 0
    for slug, config in CONFIG_PRESETS.items():
        result = run(config)
        s1, s2 = result.params.get("s1"), result.params.get("s2")
        if s1 and s2 and result.ok and config.regime == "el10_s12":
            assert result.descriptor_reads == (levels(s1) + 1) * (levels(s2) + 1) - 1, slug
            checked += 1
    assert checked
