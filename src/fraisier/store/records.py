"""Typed rows handed out by the store. JSON field names here are the stable public ones."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class StepRecord:
    deployment_id: int
    position: int
    name: str
    status: str
    started_at: str | None = None
    completed_at: str | None = None
    output_tail: str = ""
    error: str | None = None
    compensation_status: str | None = None
    compensation_error: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StepRecord:
        return cls(
            deployment_id=int(row["deployment_id"]),
            position=int(row["position"]),
            name=row["name"],
            status=row["status"],
            started_at=row["started_at"],
            completed_at=row["completed_at"],
            output_tail=row["output_tail"] or "",
            error=row["error"],
            compensation_status=row["compensation_status"],
            compensation_error=row["compensation_error"],
            data=json.loads(row["data"] or "{}"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
            "error": self.error,
            "compensation_status": self.compensation_status,
            "compensation_error": self.compensation_error,
        }


@dataclass
class DeploymentRecord:
    id: int
    fraise: str
    environment: str
    status: str
    trigger: str
    requested_commit: str | None
    commit_sha: str | None
    branch: str
    release: str | None
    previous_release: str | None
    force: bool
    options: dict[str, Any]
    queued_at: str
    started_at: str | None
    completed_at: str | None
    duration_seconds: float | None
    error: str | None
    lease_owner: str | None
    lease_expires_at: str | None
    superseded_by: int | None
    retry_of: int | None
    webhook_event_id: int | None
    steps: list[StepRecord] = field(default_factory=list)
    cancel_requested: bool = False

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> DeploymentRecord:
        return cls(
            id=int(row["id"]),
            fraise=row["fraise"],
            environment=row["environment"],
            status=row["status"],
            trigger=row["trigger"],
            requested_commit=row["requested_commit"],
            commit_sha=row["commit_sha"],
            branch=row["branch"] or "",
            release=row["release"],
            previous_release=row["previous_release"],
            force=bool(row["force"]),
            options=json.loads(row["options"] or "{}"),
            queued_at=row["queued_at"],
            started_at=row["started_at"],
            completed_at=row["completed_at"],
            duration_seconds=row["duration_seconds"],
            error=row["error"],
            lease_owner=row["lease_owner"],
            lease_expires_at=row["lease_expires_at"],
            superseded_by=_int_or_none(row["superseded_by"]),
            retry_of=_int_or_none(row["retry_of"]),
            webhook_event_id=_int_or_none(row["webhook_event_id"]),
            cancel_requested=bool(row.get("cancel_requested") or 0),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "fraise": self.fraise,
            "environment": self.environment,
            "status": self.status,
            "trigger": self.trigger,
            "commit_sha": self.commit_sha or self.requested_commit,
            "branch": self.branch,
            "release": self.release,
            "previous_release": self.previous_release,
            "queued_at": self.queued_at,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
            "duration_seconds": self.duration_seconds,
            "error": self.error,
            "superseded_by": self.superseded_by,
            "retry_of": self.retry_of,
            "steps": [step.to_json() for step in self.steps],
        }


@dataclass
class ReleaseRecord:
    fraise: str
    environment: str
    host: str
    release_id: str
    commit_sha: str
    path: str
    status: str
    deployment_id: int | None
    created_at: str
    activated_at: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ReleaseRecord:
        return cls(
            fraise=row["fraise"],
            environment=row["environment"],
            host=row["host"],
            release_id=row["release_id"],
            commit_sha=row["commit_sha"],
            path=row["path"],
            status=row["status"],
            deployment_id=_int_or_none(row["deployment_id"]),
            created_at=row["created_at"],
            activated_at=row["activated_at"],
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["release"] = data.pop("release_id")
        return data


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)
