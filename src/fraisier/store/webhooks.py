"""tb_webhook_event: every request to the webhook endpoint, accepted or not."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from fraisier.domain.model import EventType, utc_now, utc_timestamp
from fraisier.store.db import Database, Row
from fraisier.store.events import Events

PAYLOAD_CAP_BYTES = 64 * 1024


class WebhookEvents:
    def __init__(self, db: Database, events: Events):
        self.db = db
        self.events = events

    def record(self, *, provider: str, event_type: str, outcome: str, reason: str = "",
               delivery_id: str | None = None, repository: str = "", ref: str = "",
               branch: str | None = None, tag: str | None = None,
               commit_sha: str | None = None, sender: str = "", body_digest: str | None = None,
               source_ip: str = "", payload: bytes | None = None,
               deployment_ids: list[int] | None = None) -> int:
        """Record one request. Call inside the transaction that enqueues its deployments."""
        stored = None
        if payload is not None:
            # Decode what fits, then drop characters until the text fits too: a multi-byte
            # character cut in half becomes a 3-byte replacement character.
            stored = payload[:PAYLOAD_CAP_BYTES].decode("utf-8", errors="replace")
            while len(stored.encode("utf-8")) > PAYLOAD_CAP_BYTES:
                stored = stored[:-1]
        with self.db.transaction():
            event_id = self.db.insert(
                "INSERT INTO tb_webhook_event (received_at, provider, event_type, delivery_id,"
                " repository, ref, branch, tag, commit_sha, sender, body_digest, source_ip,"
                " outcome, reason, payload, deployment_ids)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (utc_timestamp(), provider, event_type, delivery_id, repository, ref, branch, tag,
                 commit_sha, sender, body_digest, source_ip, outcome, reason, stored,
                 json.dumps(deployment_ids or [])),
            )
            self.events.emit(EventType.WEBHOOK_RECEIVED, payload={
                "webhook_event_id": event_id, "provider": provider, "outcome": outcome,
                "repository": repository, "branch": branch, "commit_sha": commit_sha})
        return event_id

    def set_deployments(self, event_id: int, deployment_ids: list[int]) -> None:
        self.db.execute("UPDATE tb_webhook_event SET deployment_ids = ? WHERE id = ?",
                        (json.dumps(deployment_ids), event_id))

    def seen(self, *, provider: str, delivery_id: str | None, body_digest: str | None,
             window_seconds: float) -> bool:
        """A delivery already accepted: same delivery id, or same body within the window."""
        accepted = ("queued", "ignored", "pong")
        marks = ",".join("?" * len(accepted))
        if delivery_id:
            found = self.db.fetchone(
                f"SELECT id FROM tb_webhook_event WHERE provider = ? AND delivery_id = ?"
                f" AND outcome IN ({marks}) LIMIT 1",
                (provider, delivery_id, *accepted),
            )
            if found:
                return True
        if body_digest:
            since = utc_timestamp(utc_now() - timedelta(seconds=window_seconds))
            found = self.db.fetchone(
                f"SELECT id FROM tb_webhook_event WHERE body_digest = ? AND received_at >= ?"
                f" AND outcome IN ({marks}) LIMIT 1",
                (body_digest, since, *accepted),
            )
            return found is not None
        return False

    def list(self, *, limit: int = 50, provider: str | None = None,
             outcome: str | None = None) -> list[Row]:
        sql = ("SELECT id, received_at, provider, event_type, delivery_id, repository, ref,"
               " branch, tag, commit_sha, sender, outcome, reason, deployment_ids"
               " FROM tb_webhook_event WHERE 1 = 1")
        params: list[Any] = []
        if provider:
            sql += " AND provider = ?"
            params.append(provider)
        if outcome:
            sql += " AND outcome = ?"
            params.append(outcome)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        rows = self.db.fetchall(sql, params)
        for row in rows:
            row["deployment_ids"] = json.loads(row["deployment_ids"] or "[]")
        return rows
