"""A preview's database on a real PostgreSQL server: copied from a template, restored from the
newest verified backup (a real pg_dump, restored by pg_restore), dropped; and the errors when
neither can be done."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from fraisier.config.previews import PreviewDatabase
from fraisier.kinds.backups import sha256_of
from fraisier.previews import database as databases
from fraisier.store import open_store
from tests.support.postgres import PostgresServer
from tests.support.services import require_binary


@pytest.fixture
def source(postgres_server: PostgresServer):
    name = f"src_{uuid.uuid4().hex[:10]}"
    postgres_server.create_database(name)
    with postgres_server.connect(name) as conn:
        conn.execute("CREATE TABLE items (id serial PRIMARY KEY, name text)")
        conn.execute("INSERT INTO items (name) VALUES ('a'), ('b')")
    yield name
    postgres_server.drop_database(name)


def _preview(pg: PostgresServer, *, template: str | None = None,
             from_backup: str | None = None) -> PreviewDatabase:
    name = f"pv_{uuid.uuid4().hex[:10]}"
    return PreviewDatabase(name=name, url=pg.url_for(name), admin_url=pg.url,
                           template=template, from_backup=from_backup)


def _rows(pg: PostgresServer, name: str) -> int:
    with pg.connect(name) as conn:
        return int(conn.execute("SELECT count(*) FROM items").fetchone()[0])


def test_from_the_newest_verified_backup(postgres_server: PostgresServer, source: str,
                                         tmp_path: Path) -> None:
    require_binary("pg_dump")
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    dump = tmp_path / "shop.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), postgres_server.url_for(source)],
                   check=True, capture_output=True, timeout=60)
    unverified = store.backups.start("shop-db", "production", "nightly", "postgres",
                                     verify="restore")
    store.backups.update(unverified, status="good", path=str(dump), sha256=sha256_of(dump))
    preview = _preview(postgres_server, from_backup="shop-db")
    with pytest.raises(databases.PreviewDatabaseError, match="no verified postgres backup"):
        databases.create(preview, store)
    assert not databases.exists(preview)  # the empty database is not left behind

    verified = store.backups.start("shop-db", "production", "nightly", "postgres",
                                   verify="restore")
    store.backups.update(verified, status="good", path=str(dump), sha256=sha256_of(dump),
                         verified="ok")
    assert f"backup {verified} of shop-db" in databases.create(preview, store)
    assert _rows(postgres_server, preview.name) == 2
    assert databases.drop(preview) and not databases.exists(preview)
    assert databases.drop(preview) is False
    store.close()


def test_a_template_in_use_is_explained(postgres_server: PostgresServer, source: str,
                                        tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    preview = _preview(postgres_server, template=source)
    # Someone is connected to the template.
    with postgres_server.connect(source), pytest.raises(
            databases.PreviewDatabaseError, match="copied only while nobody is connected"):
        databases.create(preview, store)
    assert "template database" in databases.create(preview, store)
    assert _rows(postgres_server, preview.name) == 2
    databases.drop(preview)
    store.close()
