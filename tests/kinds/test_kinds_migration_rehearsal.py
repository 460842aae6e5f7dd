"""`migrate.rehearse` on a real PostgreSQL with real Alembic, pg_dump and pg_restore: the
pending migrations run up and back down on a scratch copy before production. A schema-only
copy has no rows; a copy restored from the newest verified backup has them, and catches a
migration that fails on existing data before production is touched."""

from __future__ import annotations

import sys
from pathlib import Path

import psycopg
from _kinds_support import step
from click.testing import CliRunner

from fraisier.cli.main import cli

BIN = Path(sys.executable).parent

CONFIG = """
state:
  url: sqlite:///{root}/state.db
fraises:
  web:
    type: api
    repository: {repo}
    env:
      PATH: "BIN:/usr/local/bin:/usr/bin:/bin"
    migrate:
      tool: alembic
      database_url: ${{DB_URL}}
      rehearse: true
    backups:
      db:
        kind: postgres
        database_url: ${{DB_URL}}
        verify: list
    environments:
      production:
        branch: main
        app_path: {root}/srv/web
        backup_dir: {root}/backups
        backup_before_deploy: pending
        health_check:
          command: [{python}, -c, "pass"]
          retries: 1
          interval: 0
""".replace("BIN", str(BIN))

ALEMBIC = {
    "alembic.ini": "[alembic]\nscript_location = migrations\n",
    "migrations/script.py.mako": "",
    "migrations/env.py": """
        import os
        from alembic import context
        from sqlalchemy import create_engine

        url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
        with create_engine(url).connect() as connection:
            context.configure(connection=connection)
            with context.begin_transaction():
                context.run_migrations()
    """,
    "migrations/versions/0001.py": """
        from alembic import op

        revision = "0001"
        down_revision = None

        def upgrade():
            op.execute("CREATE TABLE items (id int)")

        def downgrade():
            op.execute("DROP TABLE items")
    """,
}

# Fails only where items holds duplicate ids: never on an empty (schema-only) copy.
UNIQUE = {"migrations/versions/0002.py": """
    from alembic import op

    revision = "0002"
    down_revision = "0001"

    def upgrade():
        op.execute("CREATE UNIQUE INDEX items_id ON items (id)")

    def downgrade():
        op.execute("DROP INDEX items_id")
"""}


def _scalar(url: str, query: str):
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchone()[0]


def _rehearsal_databases(url: str) -> int:
    return _scalar(url, "SELECT count(*) FROM pg_database "
                        "WHERE datname LIKE 'fraisier_rehearsal_%'")


def test_rehearsal_on_a_backup_catches_a_migration_failing_on_existing_data(project, db_url):
    project.configure(CONFIG)
    project.commit(ALEMBIC)
    first = project.deploy("web")
    assert first.status == "succeeded", first.error
    # The first deployment had a migration pending: a pre-migrate backup was taken (and
    # verified), and the rehearsal ran on it.
    assert step(first, "backup").status == "succeeded"
    backup_id = step(first, "backup").data["backups"]["db"]
    assert step(first, "migrate").data["rehearsal"]["source"] == f"backup {backup_id}"
    with psycopg.connect(db_url) as conn:
        conn.execute("INSERT INTO items VALUES (1), (1)")

    project.commit({"README": "no migration\n"})
    quiet = project.deploy("web")
    assert quiet.status == "succeeded", quiet.error
    assert step(quiet, "backup").status == "skipped"  # nothing pending: no backup
    assert "rehearsal" not in step(quiet, "migrate").data

    result = CliRunner().invoke(cli, ["-c", str(project.config_path), "backup", "run", "web",
                                      "production", "db"])
    assert result.exit_code == 0, result.output
    project.commit(UNIQUE)
    record = project.deploy("web")
    assert record.status == "rolled_back", record.error
    assert "rehearsal on a scratch copy (backup " in record.error
    assert "production was not touched" in record.error
    assert "could not create unique index" in "\n".join(
        str(row["line"]) for row in project.store().ledger.logs(record.id))
    # Production: still at 0001, no index, and the `up` never ran against it.
    assert _scalar(db_url, "SELECT version_num FROM alembic_version") == "0001"
    assert _scalar(db_url, "SELECT count(*) FROM pg_indexes WHERE indexname = 'items_id'") == 0
    lines = [str(row["line"]) for row in project.store().ledger.logs(record.id)]
    assert any(line.startswith("$ rehearse migrate up:") for line in lines)
    assert not any(line.startswith("$ migrate up:") for line in lines)
    assert _rehearsal_databases(db_url) == 0  # the scratch copy was dropped


SCHEMA_ONLY = CONFIG.replace("""    backups:
      db:
        kind: postgres
        database_url: ${{DB_URL}}
        verify: list
""", "").replace("        backup_before_deploy: pending\n", "")


def test_without_a_backup_the_rehearsal_uses_a_schema_only_copy(project, db_url):
    project.configure(SCHEMA_ONLY)
    project.commit(ALEMBIC)
    first = project.deploy("web")
    assert first.status == "succeeded", first.error
    assert step(first, "migrate").data["rehearsal"]["source"] == "schema-only copy"
    with psycopg.connect(db_url) as conn:
        conn.execute("INSERT INTO items VALUES (1), (1)")
    project.commit(UNIQUE)
    record = project.deploy("web")
    # The copy had production's schema and revision (0001) but none of its rows: the
    # rehearsal passed, and production's own `up` met the duplicates.
    assert record.status == "rolled_back", record.error
    assert "rehearsal" not in record.error
    lines = [str(row["line"]) for row in project.store().ledger.logs(record.id)]
    assert any(line.startswith("rehearsal passed in") and "schema-only copy" in line
               for line in lines)
    assert _scalar(db_url, "SELECT version_num FROM alembic_version") == "0001"
    assert _rehearsal_databases(db_url) == 0
