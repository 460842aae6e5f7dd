"""Recording webhook requests, many per transaction: the hot path of `fraisier serve`.

Every request the webhook endpoint answers leaves one tb_webhook_event row, and an accepted
push queues its deployments in the same transaction, before the answer goes out. Under load
requests arrive faster than one transaction each could take them, so they are written in
batches: one duplicate lookup for the batch, one multi-row insert per table, and the
coalescing a burst needs done once per environment rather than once per push.

Ids are reserved up front (the batch holds the write lock, so nobody else takes them), which
lets each event row name its deployments and each deployment its event without a second
statement per row.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta

import orjson

from fraisier.domain.model import (
    DeploymentStatus,
    EventType,
    Trigger,
    WebhookOutcome,
    parse_timestamp,
    utc_timestamp,
)
from fraisier.store.db import Database
from fraisier.store.events import Events
from fraisier.store.queue import take_enqueue_turn, wake_workers


def compact_json(value: object) -> str:
    # orjson rather than the standard library's encoder: three encodes per push, each a
    # few times faster (the same compact JSON; non-ASCII text as UTF-8 instead of \u escapes).
    return orjson.dumps(value).decode()


PAYLOAD_CAP_BYTES = 64 * 1024
# Outcomes a later copy of the delivery duplicates.
ACCEPTED = (WebhookOutcome.QUEUED.value, WebhookOutcome.IGNORED.value, WebhookOutcome.PONG.value)
_DUPLICATE = WebhookOutcome.DUPLICATE.value
_DUPLICATE_REASON = "delivery already received"
_QUEUED = DeploymentStatus.QUEUED.value
_SUPERSEDED = DeploymentStatus.SUPERSEDED.value
_WEBHOOK = Trigger.WEBHOOK.value
_QUEUED_EVENT = compact_json({"status": _QUEUED})
_EVENT_COLUMNS = ("id", "received_at", "provider", "event_type", "delivery_id", "repository",
                  "ref", "branch", "tag", "commit_sha", "sender", "body_digest", "source_ip",
                  "outcome", "reason", "payload", "deployment_ids")
_DEPLOYMENT_COLUMNS = ("id", "fraise", "environment", "status", "trigger", "branch",
                       "requested_commit", "queued_at", "completed_at", "superseded_by",
                       "webhook_event_id")


@dataclass(slots=True)
class NewDeployment:
    fraise: str
    environment: str
    branch: str
    commit: str | None


@dataclass(slots=True)
class WebhookRecord:
    """One request to record: its tb_webhook_event columns and the deployments it asks for.
    `WebhookIntake.record` fills in `id`, the `deployment_ids` of the deployments it queues,
    and `duplicate` (then the row says "duplicate", without body or deployments). Writing a
    record again (after a failed transaction) starts from the same fields."""

    received_at: str
    provider: str
    event_type: str
    outcome: str
    reason: str = ""
    delivery_id: str | None = None
    repository: str = ""
    ref: str = ""
    branch: str | None = None
    tag: str | None = None
    commit_sha: str | None = None
    sender: str = ""
    body_digest: str | None = None  # of the whole body; computed from `payload` if not given
    source_ip: str = ""
    payload: bytes | None = None
    deployments: list[NewDeployment] = field(default_factory=list)
    id: int = 0
    deployment_ids: list[int] = field(default_factory=list)
    duplicate: bool = False

    @property
    def recorded_outcome(self) -> str:
        return _DUPLICATE if self.duplicate else self.outcome

    @property
    def queued(self) -> list[NewDeployment]:
        return [] if self.duplicate else self.deployments


def stored_payload(payload: bytes | None) -> str | None:
    """The body as stored: text, at most PAYLOAD_CAP_BYTES of UTF-8."""
    if payload is None:
        return None
    # Decode what fits, then drop characters until the text fits too: a multi-byte
    # character cut in half becomes a 3-byte replacement character.
    stored = payload[:PAYLOAD_CAP_BYTES].decode("utf-8", errors="replace")
    while len(stored.encode("utf-8")) > PAYLOAD_CAP_BYTES:
        stored = stored[:-1]
    return stored


class WebhookIntake:
    def __init__(self, db: Database, events: Events):
        self.db = db
        self.events = events

    def record(self, records: list[WebhookRecord], *,
               duplicate_window: float | None = None) -> None:
        """Record `records` (in order) and queue their deployments, in one transaction.

        With `duplicate_window` set, an accepted-looking record whose delivery id (same
        provider) was already accepted — earlier, or earlier in this batch — or whose body
        digest was accepted within the window (seconds; 0 turns that check off) is recorded
        as "duplicate" instead, without its body and without deployments. None: no check.
        """
        with self.db.transaction():
            take_enqueue_turn(self.db)  # servers sharing PostgreSQL take turns
            for record in records:
                record.duplicate = False
                if record.body_digest is None and record.payload is not None:
                    record.body_digest = hashlib.sha256(record.payload).hexdigest()
            if duplicate_window is not None:
                self._mark_duplicates(records, duplicate_window)
            event_ids = self.db.reserve_ids("tb_webhook_event", len(records))
            wanted = sum(len(r.queued) for r in records)
            deployment_ids = iter(self.db.reserve_ids("tb_deployment", wanted))
            for record, event_id in zip(records, event_ids, strict=True):
                record.id = event_id
                if record.deployments:
                    record.deployment_ids = [next(deployment_ids) for _ in record.queued]
            self._insert_events(records)
            if wanted:
                self._queue(records)

    # -- duplicates ------------------------------------------------------------------------
    def _mark_duplicates(self, records: list[WebhookRecord], window: float) -> None:
        candidates = [r for r in records if r.outcome in ACCEPTED]
        seen_ids = self._accepted_delivery_ids(candidates)
        seen_digests = self._accepted_digests(candidates, window) if window > 0 else set()
        for record in candidates:
            key = (record.provider, record.delivery_id)
            digest = record.body_digest if window > 0 else None
            if (record.delivery_id and key in seen_ids) or (digest and digest in seen_digests):
                record.duplicate = True
                continue
            if record.delivery_id:
                seen_ids.add((record.provider, record.delivery_id))
            if digest:
                seen_digests.add(digest)

    def _accepted_delivery_ids(self, records: list[WebhookRecord]) -> set[tuple[str, str]]:
        by_provider: dict[str, set[str]] = {}
        for record in records:
            if record.delivery_id:
                by_provider.setdefault(record.provider, set()).add(record.delivery_id)
        found: set[tuple[str, str]] = set()
        for provider, ids in by_provider.items():
            rows = self.db.fetchall(
                f"SELECT DISTINCT delivery_id FROM tb_webhook_event WHERE provider = ?"
                f" AND delivery_id IN ({_marks(len(ids))}) AND outcome IN ({_marks(3)})",
                (provider, *ids, *ACCEPTED))
            found.update((provider, row["delivery_id"]) for row in rows)
        return found

    def _accepted_digests(self, records: list[WebhookRecord], window: float) -> set[str]:
        digests = {r.body_digest for r in records if r.body_digest}
        if not digests:
            return set()
        # The window counts back from the oldest request of the batch: a copy that arrives
        # within the window of it is a duplicate, whatever its place in the batch.
        oldest = min(parse_timestamp(r.received_at) for r in records)
        since = utc_timestamp(oldest - timedelta(seconds=window))
        rows = self.db.fetchall(
            f"SELECT DISTINCT body_digest FROM tb_webhook_event WHERE body_digest IN"
            f" ({_marks(len(digests))}) AND received_at >= ? AND outcome IN ({_marks(3)})",
            (*digests, since, *ACCEPTED))
        return {row["body_digest"] for row in rows}

    # -- rows ------------------------------------------------------------------------------
    def _insert_events(self, records: list[WebhookRecord]) -> None:
        self.db.insert_many(
            "tb_webhook_event", _EVENT_COLUMNS,
            [(r.id, r.received_at, r.provider, r.event_type, r.delivery_id, r.repository, r.ref,
              r.branch, r.tag, r.commit_sha, r.sender, r.body_digest, r.source_ip,
              _DUPLICATE, _DUPLICATE_REASON, None, "[]") if r.duplicate else
             (r.id, r.received_at, r.provider, r.event_type, r.delivery_id, r.repository, r.ref,
              r.branch, r.tag, r.commit_sha, r.sender, r.body_digest, r.source_ip, r.outcome,
              r.reason, stored_payload(r.payload), compact_json(r.deployment_ids))
             for r in records])
        now = utc_timestamp()
        self.events.emit_many(EventType.WEBHOOK_RECEIVED, [
            (now, None, None, None, compact_json({
                "webhook_event_id": r.id, "provider": r.provider,
                "outcome": r.recorded_outcome,
                "repository": r.repository, "branch": r.branch, "commit_sha": r.commit_sha,
                # What `webhookReceived` shows without reading the row back.
                "event_type": r.event_type, "delivery_id": r.delivery_id,
                "received_at": r.received_at,
                "reason": _DUPLICATE_REASON if r.duplicate else r.reason}))
            for r in records])

    def _queue(self, records: list[WebhookRecord]) -> None:
        """Insert the deployments; within the batch and against what was already queued, the
        newest request per environment is the one left queued (coalescing)."""
        now = utc_timestamp()
        newest: dict[tuple[str, str], int] = {}
        ordered: list[tuple[int, int, NewDeployment]] = []  # (id, event id, deployment)
        for record in records:
            for deployment_id, wanted in zip(record.deployment_ids, record.queued,
                                             strict=True):
                newest[(wanted.fraise, wanted.environment)] = deployment_id
                ordered.append((deployment_id, record.id, wanted))
        rows, statuses = [], []
        for deployment_id, event_id, d in ordered:
            winner = newest[(d.fraise, d.environment)]
            superseded = winner != deployment_id
            rows.append((deployment_id, d.fraise, d.environment,
                         _SUPERSEDED if superseded else _QUEUED, _WEBHOOK, d.branch, d.commit,
                         now, now if superseded else None, winner if superseded else None,
                         event_id))
            statuses.append((now, deployment_id, d.fraise, d.environment, _QUEUED_EVENT))
            if superseded:
                statuses.append((now, deployment_id, d.fraise, d.environment, compact_json(
                    {"status": _SUPERSEDED, "superseded_by": winner})))
        self.db.insert_many("tb_deployment", _DEPLOYMENT_COLUMNS, rows)
        first = ordered[0][0]
        for (fraise, environment), winner in newest.items():
            older = self.db.fetchall(
                # 'queued' written literally so the partial index ix_deployment_queued_env
                # applies.
                "UPDATE tb_deployment SET status = ?, superseded_by = ?, completed_at = ?"
                " WHERE fraise = ? AND environment = ? AND status = 'queued' AND id < ?"
                " RETURNING id",
                (_SUPERSEDED, winner, now, fraise, environment, first))
            statuses.extend((now, int(row["id"]), fraise, environment, compact_json(
                {"status": _SUPERSEDED, "superseded_by": winner})) for row in older)
        self.events.emit_many(EventType.DEPLOYMENT_STATUS, statuses)
        wake_workers(self.db, self.events)


def _marks(count: int) -> str:
    return ",".join("?" * count)
