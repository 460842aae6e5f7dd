"""tb_webhook_event: every request to the webhook endpoint, accepted or not."""

from __future__ import annotations

import json

from fraisier.domain.model import utc_timestamp
from fraisier.store.db import Database, Row
from fraisier.store.events import Events
from fraisier.store.filters import matching
from fraisier.store.intake import PAYLOAD_CAP_BYTES, WebhookIntake, WebhookRecord

__all__ = ["PAYLOAD_CAP_BYTES", "WebhookEvents"]


class WebhookEvents:
    def __init__(self, db: Database, events: Events):
        self.db = db
        self.events = events
        self.intake = WebhookIntake(db, events)

    def record(self, *, provider: str, event_type: str, outcome: str, reason: str = "",
               delivery_id: str | None = None, repository: str = "", ref: str = "",
               branch: str | None = None, tag: str | None = None,
               commit_sha: str | None = None, sender: str = "", body_digest: str | None = None,
               source_ip: str = "", payload: bytes | None = None,
               deployment_ids: list[int] | None = None) -> int:
        """Record one request as given (no duplicate check, nothing queued); its id. The
        webhook endpoint records through `WebhookIntake`, which also queues deployments."""
        record = WebhookRecord(
            received_at=utc_timestamp(), provider=provider, event_type=event_type,
            outcome=outcome, reason=reason, delivery_id=delivery_id, repository=repository,
            ref=ref, branch=branch, tag=tag, commit_sha=commit_sha, sender=sender,
            body_digest=body_digest, source_ip=source_ip, payload=payload,
            deployment_ids=list(deployment_ids or []))
        self.intake.record([record])
        return record.id

    def set_outcome(self, event_id: int, outcome: str, reason: str,
                    deployment_ids: list[int]) -> None:
        """What a request turned out to do, once decided after it was recorded (a pull
        request's preview: previews/service.py)."""
        self.db.execute("UPDATE tb_webhook_event SET outcome = ?, reason = ?, deployment_ids = ?"
                        " WHERE id = ?", (outcome, reason, json.dumps(deployment_ids), event_id))

    def list(self, *, limit: int = 50, provider: str | None = None,
             outcome: str | None = None) -> list[Row]:
        sql = ("SELECT id, received_at, provider, event_type, delivery_id, repository, ref,"
               " branch, tag, commit_sha, sender, outcome, reason, deployment_ids"
               " FROM tb_webhook_event WHERE 1 = 1")
        where, params = matching(provider=provider, outcome=outcome)
        sql += where + " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        rows = self.db.fetchall(sql, params)
        for row in rows:
            row["deployment_ids"] = json.loads(row["deployment_ids"] or "[]")
        return rows

    def get(self, event_id: int) -> Row | None:
        """One recorded request (from v_webhook_event), None when there is no such id."""
        row = self.db.fetchone("SELECT * FROM v_webhook_event WHERE id = ?", (event_id,))
        if row is not None:
            row["deployment_ids"] = json.loads(row["deployment_ids"] or "[]")
        return row

    def prune(self, received_before: str, *, limit: int = 5000, chunk: int = 1000) -> int:
        """Delete up to `limit` requests received before `received_before` (a
        utc_timestamp), oldest first; how many. A transaction per chunk: the webhook
        endpoint's writes wait for one chunk at most, never for a whole backlog."""
        deleted = 0
        while deleted < limit:
            asked = min(chunk, limit - deleted)
            with self.db.transaction():
                count = self.db.execute(
                    "DELETE FROM tb_webhook_event WHERE id IN (SELECT id FROM tb_webhook_event"
                    " WHERE received_at < ? ORDER BY received_at LIMIT ?)",
                    (received_before, asked)).rowcount
            deleted += count
            if count < asked:
                break  # nothing older is left
        return deleted
