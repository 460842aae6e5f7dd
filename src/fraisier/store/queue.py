"""tb_deployment is the queue: create, coalesce, claim, lease, finish.

Claiming takes the write lock (SQLite `BEGIN IMMEDIATE`) or skips rows other workers hold
(PostgreSQL `FOR UPDATE SKIP LOCKED`); the partial unique index on running deployments is the
last word on "one running deployment per environment", whatever a caller believed.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from fraisier.domain.model import (
    DeploymentStatus,
    EventType,
    parse_timestamp,
    utc_now,
    utc_timestamp,
)
from fraisier.domain.redaction import redact, redact_optional
from fraisier.store.db import Conflict, Database, StoreError
from fraisier.store.events import Events
from fraisier.store.filters import matching
from fraisier.store.ledger import Ledger
from fraisier.store.records import DeploymentRecord

WAKE_CHANNEL = "fraisier_queue"
QUEUED = DeploymentStatus.QUEUED.value
RUNNING = DeploymentStatus.RUNNING.value


class NotFound(StoreError):
    pass


def take_enqueue_turn(db: Database) -> None:
    """Inside a transaction that queues deployments: on PostgreSQL, wait for the other
    processes doing the same (SQLite's write lock already makes them wait), so that two cannot
    both find a delivery new or each leave a queued deployment for one environment."""
    if db.backend == "postgres":
        db.execute("SELECT pg_advisory_xact_lock(?)", (_ENQUEUE_LOCK,))


_ENQUEUE_LOCK = 0x46524149  # any constant ("FRAI")


def wake_workers(db: Database, events: Events) -> None:
    """Wake workers once the current transaction commits: in this process through the
    listeners, in others through PostgreSQL NOTIFY (delivered by PostgreSQL at commit)."""
    if db.backend == "postgres":
        db.execute(f"NOTIFY {WAKE_CHANNEL}")
    db.after_commit(events.notify)


class Queue:
    def __init__(self, db: Database, events: Events, ledger: Ledger):
        self.db = db
        self.events = events
        self.ledger = ledger

    # -- reads -------------------------------------------------------------------------
    def get(self, deployment_id: int, *, with_steps: bool = True) -> DeploymentRecord:
        row = self.db.fetchone("SELECT * FROM tb_deployment WHERE id = ?", (deployment_id,))
        if row is None:
            raise NotFound(f"deployment {deployment_id} not found")
        record = DeploymentRecord.from_row(row)
        if with_steps:
            record.steps = self.ledger.steps(deployment_id)
        return record

    # -- writes ------------------------------------------------------------------------
    def get_many(self, deployment_ids: list[int]) -> dict[int, DeploymentRecord]:
        """Several deployments (without steps) in one query, by id; missing ids are absent."""
        if not deployment_ids:
            return {}
        marks = ",".join("?" * len(deployment_ids))
        rows = self.db.fetchall(f"SELECT * FROM tb_deployment WHERE id IN ({marks})",
                                list(deployment_ids))
        return {int(row["id"]): DeploymentRecord.from_row(row) for row in rows}

    def status(self, deployment_id: int) -> str | None:
        """The deployment's status, None when there is no such deployment."""
        value = self.db.scalar("SELECT status FROM tb_deployment WHERE id = ?",
                               (deployment_id,))
        return None if value is None else str(value)

    def enqueue(self, fraise: str, environment: str, *, trigger: str, branch: str = "",
                requested_commit: str | None = None, force: bool = False,
                options: dict[str, Any] | None = None, retry_of: int | None = None,
                webhook_event_id: int | None = None) -> DeploymentRecord:
        """Queue a deployment; a queued (not yet running) one for the same environment is
        superseded by it, so a burst of pushes deploys only the newest commit. (Webhooks
        queue theirs in batches: store/intake.py.)"""
        with self.db.transaction():
            take_enqueue_turn(self.db)
            new_id = self.db.insert(
                "INSERT INTO tb_deployment (fraise, environment, status, trigger, branch,"
                " requested_commit, force, options, queued_at, retry_of, webhook_event_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (fraise, environment, QUEUED, trigger, branch, requested_commit, int(force),
                 json.dumps(options or {}), utc_timestamp(), retry_of, webhook_event_id),
            )
            self._supersede_older(fraise, environment, new_id)
            self._status_event(new_id, fraise, environment, QUEUED)
            wake_workers(self.db, self.events)
        return self.get(new_id, with_steps=False)  # a new deployment has no steps yet

    def _supersede_older(self, fraise: str, environment: str, newest_id: int) -> None:
        older = self.db.fetchall(
            # 'queued' written literally so the partial index ix_deployment_queued_env applies.
            "UPDATE tb_deployment SET status = ?, superseded_by = ?, completed_at = ?"
            " WHERE fraise = ? AND environment = ? AND status = 'queued' AND id < ?"
            " RETURNING id",
            (DeploymentStatus.SUPERSEDED.value, newest_id, utc_timestamp(), fraise,
             environment, newest_id),
        )
        for row in older:
            self._status_event(int(row["id"]), fraise, environment,
                               DeploymentStatus.SUPERSEDED.value, superseded_by=newest_id)

    def claim(self, deployment_id: int, owner: str, lease_seconds: float) -> DeploymentRecord:
        """Start one given queued deployment now (the CLI's `deploy` without a worker)."""
        with self.db.transaction():
            row = self.db.fetchone("SELECT * FROM tb_deployment WHERE id = ?", (deployment_id,))
            if row is None:
                raise NotFound(f"deployment {deployment_id} not found")
            if row["status"] != QUEUED:
                raise Conflict(f"deployment {deployment_id} is {row['status']}, not queued")
            self._start(row, owner, lease_seconds)
        return self.get(deployment_id)

    def claim_next(self, owner: str, lease_seconds: float) -> DeploymentRecord | None:
        """Take the oldest queued deployment whose environment is free, or None."""
        lock = " FOR UPDATE SKIP LOCKED" if self.db.backend == "postgres" else ""
        # Look at a few candidates: the first may belong to a busy environment.
        candidates_sql = (
            "SELECT * FROM tb_deployment q WHERE q.status = ? AND NOT EXISTS ("
            " SELECT 1 FROM tb_deployment r WHERE r.status = ? AND r.fraise = q.fraise"
            " AND r.environment = q.environment) ORDER BY q.id LIMIT 1" + lock
        )
        for _ in range(5):
            try:
                with self.db.transaction():
                    row = self.db.fetchone(candidates_sql, (QUEUED, RUNNING))
                    if row is None:
                        return None
                    self._start(row, owner, lease_seconds)
                return self.get(int(row["id"]))
            except Conflict:
                # Another worker started this environment between our read and write.
                continue
        return None

    def _start(self, row: dict[str, Any], owner: str, lease_seconds: float) -> None:
        now = utc_now()
        self.db.execute(
            "UPDATE tb_deployment SET status = ?, started_at = ?, lease_owner = ?,"
            " lease_expires_at = ? WHERE id = ?",
            (RUNNING, utc_timestamp(now), owner,
             utc_timestamp(now + timedelta(seconds=lease_seconds)), row["id"]),
        )
        self._status_event(int(row["id"]), row["fraise"], row["environment"], RUNNING,
                           owner=owner)

    def renew_lease(self, deployment_id: int, owner: str, lease_seconds: float) -> bool:
        """Heartbeat: False means the lease is no longer ours (recovered or cancelled)."""
        expires = utc_timestamp(utc_now() + timedelta(seconds=lease_seconds))
        with self.db.transaction():
            row = self.db.fetchone(
                "UPDATE tb_deployment SET lease_expires_at = ? WHERE id = ? AND status = ?"
                " AND lease_owner = ? RETURNING id",
                (expires, deployment_id, RUNNING, owner),
            )
        return row is not None

    def update(self, deployment_id: int, **fields: Any) -> None:
        allowed = {"commit_sha", "release", "previous_release", "branch", "options", "error"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        if "options" in fields:
            fields["options"] = json.dumps(fields["options"])
        if fields.get("error") is not None:
            fields["error"] = redact(fields["error"])
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self.db.transaction():
            self.db.execute(f"UPDATE tb_deployment SET {assignments} WHERE id = ?",
                            (*fields.values(), deployment_id))

    def finish(self, deployment_id: int, status: DeploymentStatus | str,
               error: str | None = None, *, owner: str | None = None) -> DeploymentRecord:
        """Record the outcome. With `owner`, only while that owner still holds the running
        deployment's lease: a worker whose renewals came too late (a stalled process) may
        have been recovered by another, and the recovery's outcome stands."""
        status = DeploymentStatus(status)
        error = redact_optional(error)  # the outcome message is shown and streamed as stored
        now = utc_now()
        with self.db.transaction():
            row = self.db.fetchone("SELECT * FROM tb_deployment WHERE id = ?", (deployment_id,))
            if row is None:
                raise NotFound(f"deployment {deployment_id} not found")
            started = row["started_at"]
            duration = (now - parse_timestamp(started)).total_seconds() if started else None
            fence, fence_params = ("", ()) if owner is None else (
                " AND status = ? AND lease_owner = ?", (RUNNING, owner))
            finished = self.db.fetchone(
                "UPDATE tb_deployment SET status = ?, completed_at = ?, duration_seconds = ?,"
                " error = ?, lease_owner = NULL, lease_expires_at = NULL WHERE id = ?"
                f"{fence} RETURNING id",
                (status.value, utc_timestamp(now), duration, error, deployment_id,
                 *fence_params),
            )
            if finished is None:  # the lease was taken over: not ours to decide any more
                return self.get(deployment_id)
            self._status_event(deployment_id, row["fraise"], row["environment"], status.value,
                               error=error)
            # The environment is free again: a deployment queued behind this one can start.
            wake_workers(self.db, self.events)
        return self.get(deployment_id)

    def cancel_queued(self, deployment_id: int) -> bool:
        """Cancel a deployment that has not started; False when it is no longer queued."""
        with self.db.transaction():
            row = self.db.fetchone(
                "UPDATE tb_deployment SET status = ?, completed_at = ? WHERE id = ? AND status = ?"
                " RETURNING fraise, environment",
                (DeploymentStatus.CANCELLED.value, utc_timestamp(), deployment_id, QUEUED),
            )
            if row is not None:
                self._status_event(deployment_id, row["fraise"], row["environment"],
                                   DeploymentStatus.CANCELLED.value)
        return row is not None

    def request_cancel(self, deployment_id: int) -> bool:
        """Ask the worker running this deployment to stop it (its heartbeat notices)."""
        with self.db.transaction():
            row = self.db.fetchone(
                "UPDATE tb_deployment SET cancel_requested = 1 WHERE id = ? AND status = ?"
                " RETURNING id", (deployment_id, RUNNING))
        return row is not None

    def cancel_requested(self, deployment_id: int) -> bool:
        return bool(self.db.scalar("SELECT cancel_requested FROM tb_deployment WHERE id = ?",
                                   (deployment_id,)))

    def take_over(self, deployment_id: int, owner: str, lease_seconds: float) -> bool:
        """Take the lease of a running deployment whose lease expired (its worker is gone).
        Only one recovering worker wins; the environment stays busy while it compensates."""
        now = utc_now()
        with self.db.transaction():
            row = self.db.fetchone(
                "UPDATE tb_deployment SET lease_owner = ?, lease_expires_at = ?"
                " WHERE id = ? AND status = ? AND lease_expires_at < ? RETURNING id",
                (owner, utc_timestamp(now + timedelta(seconds=lease_seconds)), deployment_id,
                 RUNNING, utc_timestamp(now)),
            )
        return row is not None

    def expired(self) -> list[DeploymentRecord]:
        """Running deployments whose lease ran out: their worker is gone."""
        rows = self.db.fetchall(
            "SELECT * FROM tb_deployment WHERE status = ? AND lease_expires_at < ? ORDER BY id",
            (RUNNING, utc_timestamp()),
        )
        return [DeploymentRecord.from_row(row) for row in rows]

    def running(self, fraise: str | None = None, environment: str | None = None
                ) -> list[DeploymentRecord]:
        where, params = matching(fraise=fraise, environment=environment)
        rows = self.db.fetchall(f"SELECT * FROM tb_deployment WHERE status = ?{where} ORDER BY id",
                                [RUNNING, *params])
        return [DeploymentRecord.from_row(r) for r in rows]

    def _status_event(self, deployment_id: int, fraise: str, environment: str, status: str,
                      **extra: Any) -> None:
        self.events.emit(EventType.DEPLOYMENT_STATUS, deployment_id=deployment_id, fraise=fraise,
                         environment=environment, payload={"status": status, **extra})
