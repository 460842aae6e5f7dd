"""The throwaway PostgreSQL server and the skip-or-fail rule in tests/support."""

from __future__ import annotations

import socket
import uuid

import psycopg
import pytest

from tests.support.postgres import PostgresServer, find_postgres_bin_dir
from tests.support.services import require


def _database_names(server: PostgresServer) -> set[str]:
    with server.connect() as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


def test_round_trip(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        conn.execute("CREATE TABLE release (id serial PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO release (name) VALUES (%s), (%s)", ("v1", "v2"))
        conn.commit()
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT name FROM release ORDER BY id").fetchall()
    assert rows == [("v1",), ("v2",)]


def test_databases_are_isolated(postgres_server: PostgresServer, postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        conn.execute("CREATE TABLE only_here (x int)")
        conn.commit()

    other = f"test_{uuid.uuid4().hex[:12]}"
    other_url = postgres_server.create_database(other)
    try:
        assert other_url != postgres_url
        with psycopg.connect(other_url) as conn:
            found = conn.execute("SELECT to_regclass('only_here')").fetchone()
        assert found == (None,)
    finally:
        postgres_server.drop_database(other)
    assert other not in _database_names(postgres_server)


def test_drop_ends_open_sessions(postgres_server: PostgresServer) -> None:
    # A test that leaks a connection must not make the fixture's drop fail.
    name = f"test_{uuid.uuid4().hex[:12]}"
    leaked = psycopg.connect(postgres_server.create_database(name))
    try:
        postgres_server.drop_database(name)
    finally:
        leaked.close()
    assert name not in _database_names(postgres_server)


def test_server_listens_on_loopback_only(postgres_server: PostgresServer) -> None:
    with postgres_server.connect() as conn:
        listen = conn.execute("SHOW listen_addresses").fetchone()
        fsync = conn.execute("SHOW fsync").fetchone()
    assert listen == ("127.0.0.1",)
    assert fsync == ("off",)
    assert postgres_server.url == f"postgresql://postgres@127.0.0.1:{postgres_server.port}/postgres"


def test_stop_shuts_down_and_cleans_up(postgres_server: PostgresServer) -> None:
    # A second, independent server, so stopping it cannot disturb the session one.
    server = PostgresServer(find_postgres_bin_dir()).start()
    base_dir, port = server.base_dir, server.port
    assert base_dir is not None and base_dir.is_dir()
    assert port != postgres_server.port
    with server.connect() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)

    server.stop()
    server.stop()  # idempotent: the atexit hook may call it again

    assert not base_dir.exists()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


@pytest.mark.parametrize("ci", ["true", "1", "TRUE"])
def test_require_fails_in_ci(monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="no widget"):
        require(False, "no widget")


@pytest.mark.parametrize("ci", [None, "", "false", "0"])
def test_require_skips_outside_ci(monkeypatch: pytest.MonkeyPatch, ci: str | None) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match="no widget"):
        require(False, "no widget")


def test_require_passes_when_condition_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    require(True, "unused")
