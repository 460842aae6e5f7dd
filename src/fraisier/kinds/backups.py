"""Take, verify, prune and restore backups: postgres (pg_dump -Fc), sqlite (online backup
API) and command (any argv writing $FRAISIER_BACKUP_FILE).

A backup is written to a hidden temporary file and renamed into place only once it is
complete and its checksum file exists, so a crash never leaves a file that looks complete.
Each backup is a row in tb_backup and a run in tb_run.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import quote

from fraisier.domain.model import parse_timestamp, utc_now
from fraisier.engine.process import CommandNotFound, run_command
from fraisier.kinds.libpq import database_name, libpq_env, redact
from fraisier.kinds.runs import active_release_dir, start_run, target_env

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

    from fraisier.config.kinds import BackupJobConfig
    from fraisier.config.resolve import Target
    from fraisier.store import Store
    from fraisier.store.runs import BackupRecord

logger = logging.getLogger("fraisier.backups")

EXTENSIONS = {"postgres": ".dump", "sqlite": ".sqlite3", "command": ".bak"}
DEFAULT_TIMEOUT = 3600.0
Log = Callable[[str], None]
_T = TypeVar("_T")


class BackupError(Exception):
    """A backup, verification or restore did not work; the message says why."""


class BackupCorrupted(BackupError):
    pass


def _required(value: _T | None, what: str) -> _T:
    """A setting the configuration's validation guarantees for this kind of backup."""
    if value is None:
        raise BackupError(f"{what} is not set")
    return value


def _recorded(store: Store, backup_id: int) -> BackupRecord:
    record = store.backups.get(backup_id)
    if record is None:
        raise BackupError(f"backup {backup_id} is not in the store")
    return record


def backup_root(target: Target) -> Path:
    return Path(target.kind.backup_dir or Path(target.app_path) / "backups")


def _quiet(line: str) -> None:
    pass


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_text(text, encoding="utf-8")
    _fsync(temporary)
    temporary.replace(path)


# -- taking a backup ----------------------------------------------------------------------

def take_backup(store: Store, target: Target, job_name: str, job: BackupJobConfig, *,
                trigger: str = "cli", deployment_id: int | None = None,
                owner: str | None = None, scheduled_for: str | None = None,
                log: Log | None = None) -> BackupRecord:
    """Take one backup of `job`; returns its BackupRecord (status `good` or `failed`).

    Raises store.Conflict when the same backup job is already running.
    """
    log = log or _quiet
    run_id = start_run(store, target, "backup", job_name, trigger=trigger,
                       deployment_id=deployment_id, owner=owner, scheduled_for=scheduled_for)
    backup_id = store.backups.start(target.fraise, target.environment, job_name, job.kind,
                                    verify=job.verify, run_id=run_id,
                                    deployment_id=deployment_id)
    started = time.monotonic()
    folder = backup_root(target) / job_name
    stamp = utc_now().strftime("%Y%m%dT%H%M%SZ")
    final = folder / f"{job_name}-{stamp}-{backup_id}{job.extension or EXTENSIONS[job.kind]}"
    partial = folder / f".{final.name}.partial"
    error: str | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _clear_leftovers(store, target, job_name, folder, backup_id, log)
        log(f"backup {job_name} ({job.kind}) -> {final}")
        _dump(target, job, partial, log)
        if not partial.is_file() or partial.stat().st_size == 0:
            raise BackupError("the backup produced no data")
        _fsync(partial)
        digest = sha256_of(partial)
        size = partial.stat().st_size
        ok, detail = verify_file(job, partial, log) if job.verify != "none" else (None, None)
        if ok is False:
            raise BackupError(f"verification ({job.verify}) failed: {detail}")
        # Checksum first, data last: until the data file has its final name, nothing looks
        # like a finished backup.
        _write_atomically(final.with_name(final.name + ".sha256"), f"{digest}  {final.name}\n")
        partial.replace(final)
        store.backups.update(backup_id, status="good", path=str(final), sha256=digest,
                             size_bytes=size, verified=None if ok is None else "ok",
                             verify_detail=detail)
        log(f"backup {backup_id} good: {size} bytes, sha256 {digest[:16]}…"
            + (f", verified ({job.verify}): {detail}" if detail else ""))
    except Exception as exc:  # noqa: BLE001 - recorded; the row must never stay `running`
        error = str(exc) or type(exc).__name__
        partial.unlink(missing_ok=True)
        store.backups.update(backup_id, status="failed", error=error)
        log(f"backup {job_name} failed: {error}")
    if error is None:
        # The backup is good from here on; what follows can fail the run, not the backup.
        try:
            if job.sync is not None:
                error = _sync(target, job, final, backup_id, store, log)
            pruned = prune(store, target, job_name, job)
            if pruned:
                log(f"pruned backup(s) {', '.join(map(str, pruned))}")
        except Exception as exc:  # noqa: BLE001 - recorded on the run
            error = f"after backup {backup_id}: {exc}"
    store.runs.finish(run_id, "failed" if error else "succeeded", exit_code=None,
                      duration_seconds=time.monotonic() - started, error=error)
    record = _recorded(store, backup_id)
    logger.log(logging.WARNING if error else logging.INFO, "backup %s %s/%s %s %s%s",
               backup_id, target.fraise, target.environment, job_name, record.status,
               f": {error}" if error else f" ({record.size_bytes} bytes)",
               extra={"backup_id": backup_id, "fraise": target.fraise,
                      "environment": target.environment, "job": job_name,
                      "outcome": record.status, "trigger": trigger})
    return record


def _clear_leftovers(store: Store, target: Target, job_name: str, folder: Path, backup_id: int,
                     log: Log) -> None:
    """We hold this job's run, so anything half-done in its folder is from a run that died."""
    for leftover in folder.glob(".*.partial"):
        leftover.unlink(missing_ok=True)
        log(f"removed {leftover.name}, left by an interrupted backup")
    for stale in store.backups.list(target.fraise, target.environment, job=job_name,
                                    status="running"):
        if stale.id != backup_id:
            store.backups.update(stale.id, status="failed", error="interrupted")


def _dump(target: Target, job: BackupJobConfig, partial: Path, log: Log) -> None:
    timeout = job.timeout or DEFAULT_TIMEOUT
    if job.kind == "postgres":
        url = _required(job.database_url, "database_url")
        env = libpq_env(url)
        _run(["pg_dump", "-Fc", "--no-owner", "-f", str(partial)], env=env, timeout=timeout,
             log=log, what=f"pg_dump of {redact(url)}", cwd=partial.parent)
    elif job.kind == "sqlite":
        _sqlite_copy(Path(_required(job.path, "path")), partial)
    else:
        release, release_dir = active_release_dir(target)
        env = target_env(target, release_dir, FRAISIER_BACKUP_FILE=str(partial))
        _run(_required(job.command, "command").argv, env=env, timeout=timeout, log=log,
             what="backup command",
             cwd=release_dir or partial.parent)


def _run(argv: list[str], *, env: dict[str, str], timeout: float, log: Log, what: str,
         cwd: Path) -> str:
    try:
        result = run_command(argv, cwd=cwd, env=env, timeout=timeout, on_line=log)
    except CommandNotFound as exc:
        raise BackupError(f"{what}: {exc}") from exc
    if not result.ok:
        tail = result.output_tail.strip().splitlines()[-3:]
        raise BackupError(f"{what}: {result.describe()}" + (f": {' / '.join(tail)}" if tail else ""))
    return result.output_tail


def _sqlite_copy(source: Path, destination: Path) -> None:
    """SQLite's online backup API: a consistent copy even while others write."""
    if not source.is_file():
        raise BackupError(f"sqlite database {source} does not exist")
    destination.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{quote(str(source))}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(destination)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _sync(target: Target, job: BackupJobConfig, final: Path, backup_id: int, store: Store,
          log: Log) -> str | None:
    release, release_dir = active_release_dir(target)
    env = target_env(target, release_dir, FRAISIER_BACKUP_FILE=str(final),
                     FRAISIER_BACKUP_ID=str(backup_id))
    try:
        _run(_required(job.sync, "sync").argv, env=env,
             timeout=job.timeout or DEFAULT_TIMEOUT, log=log,
             what="sync", cwd=release_dir or final.parent)
    except BackupError as exc:
        store.backups.update(backup_id, synced="failed")
        return f"backup {backup_id} is good but {exc}"
    store.backups.update(backup_id, synced="ok")
    return None


# -- verification -------------------------------------------------------------------------

def verify_file(job: BackupJobConfig, path: Path,
                log: Log | None = None) -> tuple[bool, str]:
    """Check a backup file can be read back: (ok, what was found)."""
    log = log or _quiet
    try:
        if job.kind == "postgres":
            if job.verify == "restore":
                scratch_url = _required(job.verify_database_url, "verify_database_url")
                _pg_restore(path, scratch_url, clean=True, log=log)
                return True, _pg_count(scratch_url, job.verify_table)
            listing = _run(["pg_restore", "--list", str(path)], env={},
                           timeout=job.timeout or DEFAULT_TIMEOUT, log=_quiet,
                           what="pg_restore --list", cwd=path.parent)
            entries = [line for line in listing.splitlines() if line and not line.startswith(";")]
            return True, f"{len(entries)} archive entries listed"
        if job.kind == "sqlite":
            if job.verify == "restore":
                scratch = path.with_name(f".{path.name}.verify")
                try:
                    _sqlite_copy(path, scratch)
                    return True, _sqlite_check(scratch, job.verify_table)
                finally:
                    scratch.unlink(missing_ok=True)
            return True, _sqlite_check(path, None)
        return True, "command backups are not verified"
    except Exception as exc:  # noqa: BLE001 - any failure to read it back fails verification
        return False, str(exc) or type(exc).__name__


def _sqlite_check(path: Path, table: str | None) -> str:
    conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    try:
        result = _sqlite_scalar(conn, "PRAGMA integrity_check")
        if result != "ok":
            raise BackupError(f"integrity_check: {result}")
        if table:
            count = _sqlite_scalar(conn, f'SELECT count(*) FROM "{table}"')
            if count == 0:
                raise BackupError(f"table {table} is empty")
            return f"integrity ok, {table}: {count} rows"
        tables = _sqlite_scalar(conn, "SELECT count(*) FROM sqlite_master WHERE type = 'table'")
        return f"integrity ok, {tables} tables"
    finally:
        conn.close()


def _sqlite_scalar(conn: sqlite3.Connection, query: str) -> object:
    row = conn.execute(query).fetchone()
    return None if row is None else row[0]


def _pg_scalar(conn: psycopg.Connection[tuple[object, ...]], query: str | sql.Composed) -> object:
    row = conn.execute(query).fetchone()
    return None if row is None else row[0]


def _pg_restore(path: Path, url: str, *, clean: bool, log: Log) -> None:
    argv = ["pg_restore", "--no-owner", "--exit-on-error", "-d", database_name(url)]
    if clean:
        argv[1:1] = ["--clean", "--if-exists"]
    _run([*argv, str(path)], env=libpq_env(url), timeout=DEFAULT_TIMEOUT,
         log=log, what=f"pg_restore into {redact(url)}", cwd=path.parent)


def _pg_count(url: str, table: str | None) -> str:
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, connect_timeout=10) as conn:
        if table:
            schema, _, name = table.rpartition(".")
            ident = sql.Identifier(schema, name) if schema else sql.Identifier(name)
            count = _pg_scalar(conn, sql.SQL("SELECT count(*) FROM {}").format(ident))
            if count == 0:
                raise BackupError(f"restored table {table} is empty")
            return f"restored, {table}: {count} rows"
        return f"restored, {_pg_relations(conn)} tables"


def _pg_relations(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    count = _pg_scalar(
        conn,
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')"
        " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        " AND n.nspname NOT LIKE 'pg_toast%'")
    assert isinstance(count, int)  # count(*) is never NULL
    return count


# -- retention ----------------------------------------------------------------------------

def prune(store: Store, target: Target, job_name: str, job: BackupJobConfig, *,
          now: datetime | None = None) -> list[int]:
    """Delete good backups past `keep_last` or older than `retention_days`; the newest good
    backup is never deleted, whatever the rules say."""
    if job.keep_last is None and job.retention_days is None:
        return []
    now = now or utc_now()
    good = store.backups.list(target.fraise, target.environment, job=job_name, status="good",
                              limit=100_000)
    pruned: list[int] = []
    for index, backup in enumerate(good):
        if index == 0:
            continue  # the newest good backup
        too_many = job.keep_last is not None and index >= job.keep_last
        too_old = (job.retention_days is not None and parse_timestamp(backup.started_at)
                   < now - timedelta(days=job.retention_days))
        if too_many or too_old:
            if backup.path:
                Path(backup.path).unlink(missing_ok=True)
                Path(backup.path + ".sha256").unlink(missing_ok=True)
            store.backups.update(backup.id, status="pruned")
            pruned.append(backup.id)
    return pruned


# -- restore ------------------------------------------------------------------------------

def check_intact(backup: BackupRecord) -> Path:
    """The backup file, after checking it is there and matches its recorded checksum."""
    if backup.status != "good" or not backup.path:
        raise BackupError(f"backup {backup.id} is {backup.status}, not a good backup")
    path = Path(backup.path)
    if not path.is_file():
        raise BackupError(f"backup file {path} is missing")
    actual = sha256_of(path)
    if actual != backup.sha256:
        raise BackupCorrupted(
            f"backup file {path} is corrupted: its SHA-256 is {actual[:16]}…, "
            f"recorded {str(backup.sha256)[:16]}…; refusing to restore it")
    return path


def target_is_empty(kind: str, to: str) -> bool:
    if kind == "postgres":
        import psycopg

        with psycopg.connect(to, connect_timeout=10) as conn:
            return _pg_relations(conn) == 0
    path = sqlite_path(to)
    if not path.exists() or path.stat().st_size == 0:
        return True
    db = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    try:
        return _sqlite_scalar(db, "SELECT count(*) FROM sqlite_master") == 0
    finally:
        db.close()


def sqlite_path(to: str) -> Path:
    return Path(to.removeprefix("sqlite:///")) if to.startswith("sqlite:///") else Path(to)


def restore_backup(backup: BackupRecord, to: str, *, force: bool = False,
                   log: Log | None = None) -> None:
    """Restore a good backup into the database `to`; refuses a non-empty one unless `force`."""
    log = log or _quiet
    if backup.kind == "command":
        raise BackupError("command backups are restored by their own tooling, not by Fraisier")
    path = check_intact(backup)
    if backup.kind == "postgres" and not to.startswith(("postgresql://", "postgres://")):
        raise BackupError("a postgres backup restores into a postgresql:// URL")
    if not force and not target_is_empty(backup.kind, to):
        raise BackupError("the target database is not empty; pass --force to restore over it")
    if backup.kind == "postgres":
        _pg_restore(path, to, clean=force, log=log)
        return
    destination = sqlite_path(to)
    destination.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    try:
        if _sqlite_scalar(src, "PRAGMA integrity_check") != "ok":
            raise BackupCorrupted(f"backup file {path} fails integrity_check")
        dst = sqlite3.connect(destination)
        try:
            src.backup(dst)
        finally:
            dst.close()
    except sqlite3.DatabaseError as exc:
        raise BackupCorrupted(f"backup file {path} is not a readable sqlite database: {exc}") \
            from exc
    finally:
        src.close()

