"""The fields a notification is made of: the deployment's (fraise, environment, status,
commit, author, message, error, duration, link) and the event's own."""

from __future__ import annotations

from typing import Any

from fraisier.config.model import FraisierConfig
from fraisier.store import NotFound, Store

FIELD_NAMES = ("event", "fraise", "environment", "status", "deployment_id", "trigger",
               "commit", "commit_short", "author", "message", "error", "duration", "link",
               "release", "run", "exit_code", "provider", "reason")


def deployment_fields(store: Store, config: FraisierConfig, delivery: dict[str, Any]
                      ) -> dict[str, str]:
    """Every field as text ('' when unknown), for one delivery row."""
    payload: dict[str, Any] = delivery.get("payload") or {}
    fields = dict.fromkeys(FIELD_NAMES, "")
    fields.update(event=str(delivery["event"]), fraise=delivery.get("fraise") or "",
                  environment=delivery.get("environment") or "")
    fields["status"] = str(payload.get("status") or "").replace("_", " ")
    fields["error"] = str(payload.get("error") or "")
    deployment_id = delivery.get("deployment_id")
    if deployment_id is not None:
        fields["deployment_id"] = str(deployment_id)
        fields["link"] = config.server.deployment_link(int(deployment_id),
                                                        config.dashboard.path)
        try:
            record = store.queue.get(int(deployment_id), with_steps=False)
        except NotFound:
            record = None
        if record is not None:
            commit = record.commit_sha or record.requested_commit or ""
            fields.update(trigger=str(record.trigger), commit=commit, commit_short=commit[:8],
                          release=record.release or "")
            if not fields["error"] and delivery["event"] != "deployment.started":
                fields["error"] = record.error or ""
            if record.duration_seconds is not None and delivery["event"] != "deployment.started":
                fields["duration"] = f"{record.duration_seconds:.1f}s"
            if commit:
                fields.update(_commit(store, record.fraise, commit))
    if delivery["event"] == "run.failed":
        fields.update(run=str(payload.get("name") or ""),
                      exit_code="" if payload.get("exit_code") is None
                      else str(payload["exit_code"]))
        fields["status"] = fields["status"] or "failed"
    if delivery["event"] == "backup.failed":
        fields.update(run=str(payload.get("job") or ""), status="failed")
    if delivery["event"] == "webhook.rejected":
        reason = store.db.scalar("SELECT reason FROM tb_webhook_event WHERE id = ?",
                                 (payload.get("webhook_event_id"),))
        fields.update(provider=str(payload.get("provider") or ""), reason=str(reason or ""),
                      status="rejected")
    return fields


def _commit(store: Store, fraise: str, sha: str) -> dict[str, str]:
    row = store.db.fetchone(
        "SELECT message, author FROM tb_git_commit WHERE fraise = ? AND sha = ?", (fraise, sha))
    if row is None:
        return {}
    message = (row["message"] or "").strip().splitlines()
    return {"message": message[0] if message else "", "author": row["author"] or ""}
