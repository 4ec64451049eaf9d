"""Schemathesis against the app's own OpenAPI schema, every operation, in process.

Positive and negative cases (schema-valid and schema-breaking inputs) for each operation; every
answer must be non-5xx, carry a documented status and media type, match its response schema and
carry its documented headers. Over all operations at least ``MIN_CASES`` requests are sent.
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import create_app
from app.openapi import operations

MIN_CASES = 2000
EXAMPLES_PER_OPERATION = 150
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

APP = create_app()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=EXAMPLES_PER_OPERATION,
    deterministic=True,
)
CALLS: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def data_dir(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LPA2_DATA_DIR", str(tmp_path_factory.mktemp("fuzz-data")))
        patch.delenv("LPA2_PUBLIC_URL", raising=False)
        yield


def test_schema_documents_every_route():
    documented = {
        (method.upper(), path) for path, item in APP.openapi()["paths"].items() for method in item
    }
    assert operations(APP) <= documented
    for path in (
        "/",
        "/walk.txt",
        "/walk.json",
        "/s/{link_id}",
        "/s",
        "/healthz",
        "/api/walk",
        "/tour",
        "/tour/{n}",
        "/compare",
        "/geometry",
        "/decode",
        "/matrix",
        "/glossary",
    ):
        assert path in APP.openapi()["paths"], path
    explorer = {p["name"] for p in APP.openapi()["paths"]["/"]["get"]["parameters"]}
    assert {"v", "preset", "va", "mem", "tcr_el1", "c.ds_validity", "from", "flip"} <= explorer


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_operation(case):
    CALLS[case.operation.label] += 1
    case.call_and_validate(checks=CHECKS)


def test_enough_cases_were_sent():
    if len(CALLS) < len(operations(APP)):
        pytest.skip("only part of the operations ran (-k or a failure)")
    total = sum(CALLS.values())
    assert total >= MIN_CASES, CALLS
    print(f"schema fuzz: {total} cases over {len(CALLS)} operations")
