"""pytest fixtures backed by tests/support; registered from tests/conftest.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.postgres import PostgresServer, PostgresUnavailable
from tests.support.services import require


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole run (initdb costs seconds; databases are cheap)."""
    server, unavailable = None, ""
    try:
        server = PostgresServer()
    except PostgresUnavailable as exc:
        unavailable = str(exc)
    # Outside the except block so the skip/failure is not reported as a chained error.
    require(server is not None, unavailable)
    assert server is not None
    # The server also registers an atexit hook; the finalizer is the normal path.
    with server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """URL of a brand-new, empty database, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    url = postgres_server.create_database(name)
    try:
        yield url
    finally:
        postgres_server.drop_database(name)
