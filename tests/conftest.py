import pytest
from fastapi.testclient import TestClient

from app.main import create_app


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
