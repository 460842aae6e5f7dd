"""Schema migrations: applied once, recorded, never re-applied, old databases upgraded."""

from __future__ import annotations

import pytest

from fraisier.store import Store, open_store
from fraisier.store.migrate import apply_migrations, available_migrations, current_version

TABLES_AND_VIEWS = [
    "tb_deployment", "tb_deployment_step", "tb_deployment_log", "tb_release", "tb_event",
    "tb_webhook_event", "tb_git_commit", "tb_fraise", "tb_worker", "v_fraise_status",
    "v_deployment_history", "v_deployment_stats",
]


def test_every_backend_ships_the_same_numbered_migrations() -> None:
    sqlite = available_migrations("sqlite")
    postgres = available_migrations("postgres")
    numbers = [number for number, _, _ in sqlite]
    assert numbers[0] == 1 and numbers == sorted(set(numbers))
    assert [(n, name) for n, name, _ in sqlite] == [(n, name) for n, name, _ in postgres]


def test_opening_applies_every_migration_and_records_it(store: Store) -> None:
    rows = store.db.fetchall("SELECT version, name, applied_at FROM tb_schema_version"
                             " ORDER BY version")
    expected = available_migrations(store.backend)
    assert [(r["version"], r["name"]) for r in rows] == [(n, name) for n, name, _ in expected]
    assert all(r["applied_at"] for r in rows)
    assert current_version(store.db) == expected[-1][0]


@pytest.mark.parametrize("relation", TABLES_AND_VIEWS)
def test_tables_and_views_exist(store: Store, relation: str) -> None:
    # Selecting from a relation that does not exist raises on both backends.
    assert store.db.fetchall(f"SELECT * FROM {relation} LIMIT 1") == []


def test_migrations_are_not_applied_twice(store: Store) -> None:
    assert apply_migrations(store.db) == []
    assert apply_migrations(store.db) == []
    count = store.db.scalar("SELECT COUNT(*) FROM tb_schema_version")
    assert count == len(available_migrations(store.backend))


def test_reopening_keeps_the_data_and_applies_nothing(store_url: str) -> None:
    first = open_store(store_url)
    try:
        deployment = first.queue.enqueue("web", "production", trigger="cli")
    finally:
        first.close()
    again = open_store(store_url, migrate=False)
    try:
        assert apply_migrations(again.db) == []
        assert again.queue.get(deployment.id).status == "queued"
    finally:
        again.close()


def test_an_old_database_is_upgraded_in_place(store_url: str) -> None:
    # A database from before any migration: the version table exists, at version 0,
    # next to a table of its own that the upgrade must leave alone.
    old = open_store(store_url, migrate=False)
    try:
        assert current_version(old.db) == 0
        old.db.execute("CREATE TABLE keep_me (value TEXT)")
        old.db.execute("INSERT INTO keep_me (value) VALUES ('still here')")
        applied = apply_migrations(old.db)
        assert applied == [name for _, name, _ in available_migrations(old.backend)]
        assert old.db.scalar("SELECT value FROM keep_me") == "still here"
        assert old.db.fetchall("SELECT * FROM v_fraise_status") == []
        assert apply_migrations(old.db) == []
    finally:
        old.close()


def test_sync_fraises_and_record_commit_are_idempotent(store: Store) -> None:
    store.sync_fraises([("web", "api", "first", "git@x:web.git", ["production"])])
    store.sync_fraises([("web", "api", "second", "git@x:web.git", ["production", "staging"])])
    rows = store.db.fetchall("SELECT * FROM tb_fraise")
    assert len(rows) == 1
    assert rows[0]["description"] == "second"
    assert rows[0]["environments"] == '["production", "staging"]'
    store.record_commit("web", "a" * 40, branch="main", message="one")
    store.record_commit("web", "a" * 40, branch="main", message="again")
    commits = store.db.fetchall("SELECT * FROM tb_git_commit")
    assert [(c["sha"], c["message"]) for c in commits] == [("a" * 40, "one")]


def test_a_lower_numbered_migration_arriving_later_is_applied(tmp_path) -> None:
    # Numbers are reserved in ranges per area, so 0010 may ship after 0020 was applied.
    from fraisier.store.db import Database
    from fraisier.store.migrate import Migration

    def migration(number: int, name: str, script: str) -> Migration:
        (tmp_path / name).write_text(script)
        return Migration(number, name, tmp_path / name)

    db = Database(f"sqlite:///{tmp_path}/state.db")
    first = migration(1, "0001_a.sql", "CREATE TABLE a (x INTEGER)")
    late = migration(10, "0010_b.sql", "CREATE TABLE b (x INTEGER)")
    later = migration(20, "0020_c.sql", "CREATE TABLE c (x INTEGER)")
    assert apply_migrations(db, [first, later]) == ["0001_a.sql", "0020_c.sql"]
    assert apply_migrations(db, [first, late, later]) == ["0010_b.sql"]
    assert db.scalar("SELECT COUNT(*) FROM b") == 0
    assert apply_migrations(db, [first, late, later]) == []
    db.close()
