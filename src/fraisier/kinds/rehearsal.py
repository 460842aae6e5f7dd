"""`migrate.rehearse: true`: the pending migrations run up and back down on a scratch copy of
the database before production is touched.

The copy is the newest verified backup of the database (a `postgres` backup job of this fraise
and environment on the same `database_url`, or the `pre-deploy` job of
`backup_before_deploy`), restored with pg_restore; without one, a schema-only copy (pg_dump
--schema-only) plus the rows of the tool's tracking table, so the tool sees the same revision
as production. A migration that fails on existing data is caught only with a backup: a
schema-only copy has no rows. The scratch database is dropped in every case; its name is
`fraisier_rehearsal_<deployment id>`. Every libpq program gets the URL as PG* variables,
never in its argv.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fraisier.config.commands import CommandSpec
from fraisier.engine.context import DeploymentRun
from fraisier.engine.saga import StepFailed
from fraisier.kinds.libpq import libpq_env
from fraisier.kinds.migration_tools import is_postgres, step_timeout
from fraisier.store.runs import BackupRecord


def scratch_url(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def newest_verified_backup(run: DeploymentRun) -> BackupRecord | None:
    from fraisier.kinds.backup_step import pre_deploy_jobs

    migrate = run.target.migrate
    assert migrate is not None
    jobs = {name for name, job in pre_deploy_jobs(run.target).items()
            if job.kind == "postgres" and job.database_url == migrate.database_url}
    jobs.add("pre-deploy")
    for record in run.store.backups.list(run.target.fraise, run.target.environment,
                                         status="good", limit=200):
        if (record.job in jobs and record.kind == "postgres" and record.verified == "ok"
                and record.path and Path(record.path).is_file()):
            return record
    return None


def rehearse(run: DeploymentRun) -> dict[str, Any]:
    """Run the pending migrations up and down on a scratch copy; StepFailed (production not
    touched) when anything fails. Returns what the step records."""
    from fraisier.kinds.migrations import preset_for

    migrate = run.target.migrate
    assert migrate is not None
    url = migrate.database_url or ""
    if not migrate.preset or not is_postgres(url):
        raise StepFailed("migrate.rehearse needs a tool preset and a PostgreSQL "
                         "migrate.database_url")
    started = time.monotonic()
    name = f"fraisier_rehearsal_{run.deployment_id}"
    copy_url = scratch_url(url, name)
    source = "schema-only copy"
    _admin(url, f'DROP DATABASE IF EXISTS "{name}"')
    _admin(url, f'CREATE DATABASE "{name}"')
    run.log(f"rehearsal: scratch database {name}")
    try:
        backup = newest_verified_backup(run)
        if backup is not None and backup.path:
            source = f"backup {backup.id}"
            _restore(run, Path(backup.path), copy_url)
        else:
            _schema_copy(run, url, copy_url, preset_for(run).tracking_table)
        run.log(f"rehearsal on a {source}")
        preset = preset_for(run, database_url=copy_url, label="rehearse ")
        before = preset.current()
        preset.up()
        preset.down_to(before)
    except StepFailed as exc:
        raise StepFailed(f"rehearsal on a scratch copy ({source}) failed, production was "
                         f"not touched: {exc}") from exc
    finally:
        _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    took = round(time.monotonic() - started, 3)
    run.log(f"rehearsal passed in {took}s ({source}): up and back down")
    return {"source": source, "duration_seconds": took}


def _admin(url: str, statement: str) -> None:
    """CREATE / DROP DATABASE (outside a transaction, as PostgreSQL requires)."""
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(statement.encode())
    except psycopg.Error as exc:
        raise StepFailed(f"rehearsal: {statement}: {str(exc).strip()}") from exc


def _program(run: DeploymentRun, label: str, argv: list[str], url: str, cwd: Path) -> None:
    env = run.env()
    env.update(libpq_env(url))  # the URL's parts as PG* variables, the password included
    run.run(label, CommandSpec(argv), cwd=cwd, timeout=step_timeout(run), env=env)


def _restore(run: DeploymentRun, path: Path, copy_url: str) -> None:
    _program(run, "rehearse restore", ["pg_restore", "--no-owner", "--exit-on-error",
                                       "-d", libpq_env(copy_url)["PGDATABASE"], str(path)],
             copy_url, path.parent)


def _schema_copy(run: DeploymentRun, url: str, copy_url: str, tracking_table: str) -> None:
    import psycopg

    with psycopg.connect(url, connect_timeout=10) as conn:
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (tracking_table,)).fetchone()
        tracked = bool(row and row[0])
    with tempfile.TemporaryDirectory(prefix="fraisier-rehearsal-") as tmp:
        folder = Path(tmp)
        schema = folder / "schema.dump"
        _program(run, "rehearse schema copy", ["pg_dump", "--schema-only", "--no-owner",
                                                "-Fc", "-f", str(schema)], url, folder)
        _restore(run, schema, copy_url)
        if tracked:
            rows = folder / "tracking.dump"
            _program(run, "rehearse tracking rows", ["pg_dump", "--data-only", "-Fc",
                                                      "-t", tracking_table, "-f", str(rows)],
                     url, folder)
            _restore(run, rows, copy_url)
