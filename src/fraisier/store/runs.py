"""tb_run and tb_backup: each run of an ETL script or scheduled job, and each backup taken.

A run is written as `running` before its command starts; a partial unique index lets only one
run of a job be running at a time, so two schedulers (or a scheduler and a person) cannot
start the same job twice: the second gets `Conflict`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from fraisier.domain.model import utc_timestamp
from fraisier.domain.redaction import redact, redact_optional
from fraisier.store.db import Database
from fraisier.store.events import Events

RUN_FAILED_EVENT = "run.failed"
BACKUP_FAILED_EVENT = "backup.failed"

OUTPUT_TAIL_CHARS = 4000


@dataclass
class RunRecord:
    id: int
    fraise: str
    environment: str
    kind: str
    name: str
    trigger: str
    status: str
    release: str | None
    deployment_id: int | None
    scheduled_for: str | None
    started_at: str
    completed_at: str | None
    duration_seconds: float | None
    exit_code: int | None
    output_tail: str
    error: str | None
    owner: str | None = None  # role:host:pid of the process that ran it

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> RunRecord:
        return cls(**{key: row[key] for key in cls.__dataclass_fields__})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BackupRecord:
    id: int
    fraise: str
    environment: str
    job: str
    kind: str
    status: str
    path: str | None
    sha256: str | None
    size_bytes: int | None
    verify: str
    verified: str | None
    verify_detail: str | None
    synced: str | None
    run_id: int | None
    deployment_id: int | None
    started_at: str
    completed_at: str | None
    error: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> BackupRecord:
        return cls(**{key: row[key] for key in cls.__dataclass_fields__})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Runs:
    def __init__(self, db: Database, events: Events | None = None):
        self.db = db
        self.events = events

    def start(self, fraise: str, environment: str, kind: str, name: str, *, trigger: str,
              release: str | None = None, deployment_id: int | None = None,
              scheduled_for: str | None = None, owner: str | None = None) -> int:
        """Record a run as running; raises store.Conflict if this job is already running."""
        with self.db.transaction():
            return self.db.insert(
                "INSERT INTO tb_run (fraise, environment, kind, name, trigger, status, release,"
                " deployment_id, scheduled_for, started_at, owner)"
                " VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)",
                (fraise, environment, kind, name, trigger, release, deployment_id,
                 scheduled_for, utc_timestamp(), owner),
            )

    def finish(self, run_id: int, status: str, *, exit_code: int | None,
               duration_seconds: float, output_tail: str = "", error: str | None = None) -> None:
        with self.db.transaction():
            row = self.db.fetchone(
                "UPDATE tb_run SET status = ?, exit_code = ?, duration_seconds = ?,"
                " output_tail = ?, error = ?, completed_at = ? WHERE id = ?"
                " RETURNING fraise, environment, kind, name, deployment_id",
                (status, exit_code, round(duration_seconds, 3),
                 redact(output_tail)[-OUTPUT_TAIL_CHARS:], redact_optional(error),
                 utc_timestamp(), run_id),
            )
            if row is not None and status != "succeeded" and self.events is not None:
                # Written with the run, so the notifier learns of every failed run.
                self.events.emit(RUN_FAILED_EVENT, deployment_id=row["deployment_id"],
                                 fraise=row["fraise"], environment=row["environment"],
                                 payload={"run_id": run_id, "kind": row["kind"],
                                          "name": row["name"], "status": status,
                                          "exit_code": exit_code, "error": error})

    def get(self, run_id: int) -> RunRecord | None:
        row = self.db.fetchone("SELECT * FROM tb_run WHERE id = ?", (run_id,))
        return RunRecord.from_row(row) if row else None

    def list(self, fraise: str | None = None, environment: str | None = None, *,
             kind: str | None = None, name: str | None = None, limit: int = 50) -> list[RunRecord]:
        where, params = _filters(fraise=fraise, environment=environment, kind=kind, name=name)
        rows = self.db.fetchall(f"SELECT * FROM tb_run{where} ORDER BY id DESC LIMIT ?",
                                (*params, limit))
        return [RunRecord.from_row(row) for row in rows]

    def last(self, fraise: str, environment: str, kind: str, name: str) -> RunRecord | None:
        found = self.list(fraise, environment, kind=kind, name=name, limit=1)
        return found[0] if found else None

    def last_scheduled(self, fraise: str, environment: str, name: str) -> str | None:
        """The latest slot the scheduler already ran (or started) this job for."""
        latest: str | None = self.db.scalar(
            "SELECT MAX(scheduled_for) FROM tb_run WHERE fraise = ? AND environment = ?"
            " AND kind IN ('job', 'backup') AND name = ?", (fraise, environment, name))
        return latest

    def running(self, fraise: str, environment: str, kind: str, name: str) -> RunRecord | None:
        row = self.db.fetchone(
            "SELECT * FROM tb_run WHERE fraise = ? AND environment = ? AND kind = ? AND name = ?"
            " AND status = 'running'", (fraise, environment, kind, name))
        return RunRecord.from_row(row) if row else None

    def abandon(self, run_id: int) -> bool:
        """Close a run whose process is gone (it crashed or the machine restarted)."""
        with self.db.transaction():
            row = self.db.fetchone(
                "UPDATE tb_run SET status = 'failed', error = 'abandoned: its process stopped',"
                " completed_at = ? WHERE id = ? AND status = 'running' RETURNING id",
                (utc_timestamp(), run_id))
        return row is not None


class Backups:
    def __init__(self, db: Database, events: Events | None = None):
        self.db = db
        self.events = events

    def start(self, fraise: str, environment: str, job: str, kind: str, *, verify: str,
              run_id: int | None = None, deployment_id: int | None = None) -> int:
        with self.db.transaction():
            return self.db.insert(
                "INSERT INTO tb_backup (fraise, environment, job, kind, status, verify, run_id,"
                " deployment_id, started_at) VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?)",
                (fraise, environment, job, kind, verify, run_id, deployment_id,
                 utc_timestamp()),
            )

    def update(self, backup_id: int, **fields: Any) -> None:
        if fields.get("status") in ("good", "failed"):
            fields.setdefault("completed_at", utc_timestamp())
        sets = ", ".join(f"{key} = ?" for key in fields)
        with self.db.transaction():
            row = self.db.fetchone(
                f"UPDATE tb_backup SET {sets} WHERE id = ?"
                " RETURNING fraise, environment, job, deployment_id, error",
                (*fields.values(), backup_id))
            if row is not None and fields.get("status") == "failed" and self.events is not None:
                self.events.emit(BACKUP_FAILED_EVENT, deployment_id=row["deployment_id"],
                                 fraise=row["fraise"], environment=row["environment"],
                                 payload={"backup_id": backup_id, "job": row["job"],
                                          "error": row["error"]})

    def get(self, backup_id: int) -> BackupRecord | None:
        row = self.db.fetchone("SELECT * FROM tb_backup WHERE id = ?", (backup_id,))
        return BackupRecord.from_row(row) if row else None

    def list(self, fraise: str | None = None, environment: str | None = None, *,
             job: str | None = None, status: str | None = None,
             limit: int = 100) -> list[BackupRecord]:
        where, params = _filters(fraise=fraise, environment=environment, job=job, status=status)
        rows = self.db.fetchall(f"SELECT * FROM tb_backup{where} ORDER BY id DESC LIMIT ?",
                                (*params, limit))
        return [BackupRecord.from_row(row) for row in rows]


def _filters(**values: Any) -> tuple[str, list[Any]]:
    used = {key: value for key, value in values.items() if value is not None}
    if not used:
        return "", []
    return " WHERE " + " AND ".join(f"{key} = ?" for key in used), list(used.values())
