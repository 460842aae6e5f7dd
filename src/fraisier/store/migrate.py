"""Numbered schema migrations per backend, applied at start and recorded in tb_schema_version.

An old database is upgraded in place, never recreated. Files live in
`migrations/<backend>/NNNN_name.sql`; each runs in its own transaction.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from fraisier.domain.model import utc_timestamp
from fraisier.store.db import Database

_FOLDER = Path(__file__).resolve().parent / "migrations"


class Migration(NamedTuple):
    number: int
    name: str
    path: Path  # read only when the migration is applied: most opens apply none


def available_migrations(backend: str) -> list[Migration]:
    folder = _FOLDER / backend
    return sorted(Migration(int(name.split("_", 1)[0]), name, folder / name)
                  for name in os.listdir(folder) if name.endswith(".sql"))


def current_version(db: Database) -> int:
    db.execute(
        "CREATE TABLE IF NOT EXISTS tb_schema_version ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    return int(db.scalar("SELECT COALESCE(MAX(version), 0) FROM tb_schema_version") or 0)


def apply_migrations(db: Database, migrations: list[Migration] | None = None) -> list[str]:
    """Bring the schema up to date; returns the names of the migrations applied.

    `migrations` defaults to the files shipped for the database's backend."""
    migrations = available_migrations(db.backend) if migrations is None else migrations
    if db.backend == "postgres":
        # Two processes starting at once must not both apply the same migration.
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(4242001)")
            return _apply_pending(db, migrations)
    with db.transaction():
        return _apply_pending(db, migrations)


def _apply_pending(db: Database, migrations: list[Migration]) -> list[str]:
    current_version(db)  # creates the version table on a new database
    # Apply every migration not recorded yet, not just those above the highest: numbers are
    # reserved in ranges per area, so a lower number can arrive after a higher one.
    done = {int(row["version"]) for row in db.fetchall("SELECT version FROM tb_schema_version")}
    applied = []
    for number, name, path in migrations:
        if number in done:
            continue
        script = path.read_text(encoding="utf-8")
        if db.backend == "sqlite":
            # executescript would commit our transaction; run statement by statement.
            for statement in _split_statements(script):
                db.execute(statement)
        else:
            db.execute(script)
        db.execute(
            "INSERT INTO tb_schema_version (version, name, applied_at) VALUES (?, ?, ?)",
            (number, name, utc_timestamp()),
        )
        applied.append(name)
    return applied


def _split_statements(script: str) -> list[str]:
    import sqlite3

    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--") and not buffer.strip():
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
