"""Which notification event an outbox row is, if any."""

from __future__ import annotations

from typing import Any

from fraisier.domain.model import EventType

# Deployment statuses that are announced, by the event name they become.
_STATUS_EVENTS = {
    "running": "deployment.started",
    "succeeded": "deployment.succeeded",
    "failed": "deployment.failed",
    "rolled_back": "deployment.rolled_back",
    "rollback_failed": "deployment.rollback_failed",
    "interrupted": "deployment.interrupted",
    "cancelled": "deployment.cancelled",
}
# The outbox row types the notifier reads (log lines and steps, most of the outbox, are not).
OUTBOX_TYPES: tuple[str, ...] = (EventType.DEPLOYMENT_STATUS, EventType.WEBHOOK_RECEIVED,
                                 "run.failed", "backup.failed")
FAILURE_EVENTS = frozenset({"deployment.failed", "deployment.rolled_back",
                            "deployment.rollback_failed", "deployment.interrupted"})


def notification_event(row: dict[str, Any]) -> str | None:
    """`deployment.failed`, `run.failed`, `webhook.rejected`, ... or None (not announced:
    log lines, steps, queued and superseded deployments, accepted webhooks)."""
    payload = row.get("payload") or {}
    if row["type"] == EventType.DEPLOYMENT_STATUS:
        return _STATUS_EVENTS.get(str(payload.get("status")))
    if row["type"] in ("run.failed", "backup.failed"):
        return str(row["type"])
    if row["type"] == EventType.WEBHOOK_RECEIVED and payload.get("outcome") == "rejected":
        return "webhook.rejected"
    return None
