"""The notifier's tables: its cursor in the outbox, the deliveries it owes, each attempt, and
the provider objects later events refer to.

Planning is one transaction: the deliveries an outbox batch produces are inserted together
with the cursor that moves past the batch, so after a crash either both happened or
neither did — no event is lost and none is planned twice (UNIQUE (event_id, channel) also
makes two notifiers sharing one PostgreSQL database harmless). Each attempt is recorded in
the transaction that moves its delivery on (delivered, retry later, given up).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fraisier.domain.model import utc_now, utc_timestamp
from fraisier.store.db import Database, Row

PENDING, DELIVERED, FAILED, SKIPPED = "pending", "delivered", "failed", "skipped"
GAVE_UP = "gave_up"  # an attempt's status: the last one allowed failed


@dataclass(frozen=True)
class NewDelivery:
    event_id: int
    event: str
    channel: str
    kind: str
    deployment_id: int | None = None
    fraise: str | None = None
    environment: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What one attempt gave: ok, the HTTP status when there was one, the error (already
    free of secrets), how long it took."""

    ok: bool
    duration_seconds: float
    http_status: int | None = None
    error: str | None = None
    skipped: bool = False  # nothing to do (e.g. no commit known): not a failure


class Notifications:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- the cursor ----------------------------------------------------------------------
    def cursor(self, name: str) -> tuple[int, set[int]] | None:
        row = self.db.fetchone("SELECT floor, delivered FROM tb_notifier_cursor WHERE name = ?",
                               (name,))
        if row is None:
            return None
        return int(row["floor"]), {int(i) for i in json.loads(row["delivered"])}

    def plan(self, name: str, floor: int, delivered: set[int],
             deliveries: list[NewDelivery]) -> None:
        """Insert the deliveries of a batch and move the cursor past it, in one transaction."""
        now = utc_timestamp()
        with self.db.transaction():
            for d in deliveries:
                self.db.execute(
                    "INSERT INTO tb_notification (created_at, event_id, event, deployment_id,"
                    " fraise, environment, channel, kind, payload, status, next_attempt_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (event_id, channel) DO NOTHING",
                    (now, d.event_id, d.event, d.deployment_id, d.fraise, d.environment,
                     d.channel, d.kind, json.dumps(d.payload), PENDING, now))
            self._save_cursor(name, floor, delivered, now)

    def _save_cursor(self, name: str, floor: int, delivered: set[int], now: str) -> None:
        text = json.dumps(sorted(delivered))
        updated = self.db.fetchone(
            "UPDATE tb_notifier_cursor SET floor = ?, delivered = ?, updated_at = ?"
            " WHERE name = ? RETURNING name", (floor, text, now, name))
        if updated is None:
            self.db.execute(
                "INSERT INTO tb_notifier_cursor (name, floor, delivered, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET floor = excluded.floor,"
                " delivered = excluded.delivered, updated_at = excluded.updated_at",
                (name, floor, text, now))

    # -- deliveries ----------------------------------------------------------------------
    def due(self, limit: int = 50) -> list[Row]:
        now = utc_timestamp()
        rows = self.db.fetchall(
            "SELECT * FROM tb_notification WHERE status = ? AND next_attempt_at <= ?"
            " AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY id LIMIT ?",
            (PENDING, now, now, limit))
        for row in rows:
            row["payload"] = json.loads(row["payload"] or "{}")
        return rows

    def claim(self, notification_id: int, seconds: float) -> bool:
        """Take a delivery for one attempt; False when another notifier has it."""
        now = utc_now()
        with self.db.transaction():
            row = self.db.fetchone(
                "UPDATE tb_notification SET claimed_until = ? WHERE id = ? AND status = ?"
                " AND (claimed_until IS NULL OR claimed_until < ?) RETURNING id",
                (utc_timestamp(now + timedelta(seconds=seconds)), notification_id, PENDING,
                 utc_timestamp(now)))
        return row is not None

    def waits_for_earlier(self, row: Row) -> bool:
        """An issue delivery waits until the earlier ones of its environment are done: whether
        to open, comment on or close an issue depends on what came before."""
        return self.db.fetchone(
            "SELECT id FROM tb_notification WHERE channel = ? AND fraise = ? AND environment = ?"
            " AND status = ? AND id < ? LIMIT 1",
            (row["channel"], row["fraise"], row["environment"], PENDING, row["id"])) is not None

    def superseded(self, row: Row) -> bool:
        """A later delivery of the same deployment on the same channel is done already (a
        commit status that succeeded must not be overwritten by a late 'pending')."""
        return row["deployment_id"] is not None and self.db.fetchone(
            "SELECT id FROM tb_notification WHERE channel = ? AND deployment_id = ?"
            " AND status = ? AND event_id > ? LIMIT 1",
            (row["channel"], row["deployment_id"], DELIVERED, row["event_id"])) is not None

    def record(self, row: Row, outcome: Outcome, *, max_attempts: int,
               retry_in: float) -> str:
        """Record one attempt and move the delivery on; returns the attempt's status."""
        attempt = int(row["attempts"]) + 1
        now = utc_now()
        next_at: str | None = None
        if outcome.skipped:
            status, state = SKIPPED, SKIPPED
        elif outcome.ok:
            status, state = DELIVERED, DELIVERED
        elif attempt >= max_attempts:
            status, state = GAVE_UP, FAILED
        else:
            status, state = FAILED, PENDING
            next_at = utc_timestamp(now + timedelta(seconds=retry_in))
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO tb_notification_attempt (notification_id, created_at, channel, kind,"
                " event, event_id, deployment_id, attempt, status, http_status, error,"
                " duration_seconds, next_retry_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (row["id"], utc_timestamp(now), row["channel"], row["kind"], row["event"],
                 row["event_id"], row["deployment_id"], attempt, status, outcome.http_status,
                 outcome.error, round(outcome.duration_seconds, 3), next_at))
            self.db.execute(
                "UPDATE tb_notification SET status = ?, attempts = ?, next_attempt_at = ?,"
                " claimed_until = NULL, completed_at = ?, last_error = ? WHERE id = ?",
                (state, attempt, next_at or utc_timestamp(now),
                 None if state == PENDING else utc_timestamp(now), outcome.error, row["id"]))
        return status

    def skip(self, row: Row, reason: str) -> None:
        self.record(row, Outcome(ok=False, duration_seconds=0.0, error=reason, skipped=True),
                    max_attempts=1, retry_in=0)

    # -- reading -------------------------------------------------------------------------
    def attempts(self, *, limit: int = 50, deployment_id: int | None = None,
                 channel: str | None = None, status: str | None = None) -> list[Row]:
        sql = ("SELECT a.*, n.fraise, n.environment FROM tb_notification_attempt a"
               " JOIN tb_notification n ON n.id = a.notification_id WHERE 1 = 1")
        params: list[Any] = []
        for column, value in (("a.deployment_id", deployment_id), ("a.channel", channel),
                              ("a.status", status)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        return self.db.fetchall(sql + " ORDER BY a.id DESC LIMIT ?", (*params, limit))

    def deliveries(self, *, deployment_id: int | None = None) -> list[Row]:
        sql, params = "SELECT * FROM tb_notification", []
        if deployment_id is not None:
            sql, params = sql + " WHERE deployment_id = ?", [deployment_id]
        return self.db.fetchall(sql + " ORDER BY id", params)

    # -- provider objects ----------------------------------------------------------------
    def link(self, key: str) -> Row | None:
        return self.db.fetchone("SELECT * FROM tb_notification_link WHERE key = ?", (key,))

    def set_link(self, key: str, external_id: str, url: str | None = None) -> None:
        # One upsert: with "delete, then insert", two notifiers setting one link at once on
        # PostgreSQL would both insert, and the second would fail.
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO tb_notification_link (key, external_id, url, created_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET"
                " external_id = excluded.external_id, url = excluded.url,"
                " created_at = excluded.created_at", (key, external_id, url, utc_timestamp()))

    def drop_link(self, key: str) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM tb_notification_link WHERE key = ?", (key,))
