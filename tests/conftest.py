import os

# The suite drives the service far faster than any person, from one address; the per-client
# limits have tests of their own (tests/security/test_abuse.py), which turn them on.
os.environ.setdefault("LPA2_RATE_LIMITS", "off")

import pytest  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from app.main import create_app  # noqa: E402


@pytest.fixture(scope="session")
def client() -> TestClient:
    return TestClient(create_app())


@pytest.fixture(scope="session")
def postgres():
    """One real PostgreSQL server for the session (tests/postgres.py); started on first use."""
    from tests.postgres import remove_postgres, require_postgres, start_postgres

    server = start_postgres(require_postgres())
    yield server
    remove_postgres(server)
