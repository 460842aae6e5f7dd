"""Plain enums and dataclasses shared by every layer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

# Names end up in paths, unit names and SQL values: keep them boring.
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*\Z")


def is_valid_name(name: str) -> bool:
    return bool(NAME_PATTERN.match(name))


class FraiseType(StrEnum):
    API = "api"
    ETL = "etl"
    SCHEDULED = "scheduled"
    BACKUP = "backup"


class DeploymentStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    ROLLBACK_FAILED = "rollback_failed"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"
    INTERRUPTED = "interrupted"


ACTIVE_STATUSES = frozenset({DeploymentStatus.QUEUED, DeploymentStatus.RUNNING})
FINAL_STATUSES = frozenset(set(DeploymentStatus) - ACTIVE_STATUSES)


class Trigger(StrEnum):
    WEBHOOK = "webhook"
    CLI = "cli"
    API = "api"
    RETRY = "retry"
    ROLLBACK = "rollback"
    SCHEDULE = "schedule"
    POLL = "poll"  # poll mode saw the branch head move (`poll:` on an environment)


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    COMPENSATED = "compensated"
    COMPENSATION_FAILED = "compensation_failed"


class ReleaseStatus(StrEnum):
    BUILDING = "building"
    ACTIVE = "active"
    PREVIOUS = "previous"
    FAILED = "failed"
    PRUNED = "pruned"


class WebhookOutcome(StrEnum):
    QUEUED = "queued"
    IGNORED = "ignored"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    PONG = "pong"


class EventType(StrEnum):
    """Kinds of rows in the tb_event outbox."""

    DEPLOYMENT_STATUS = "deployment.status"
    DEPLOYMENT_STEP = "deployment.step"
    DEPLOYMENT_LOG = "deployment.log"
    WEBHOOK_RECEIVED = "webhook.received"
    HEALTH_CHANGED = "health.changed"  # a live release started or stopped answering its check


@dataclass(frozen=True)
class PushEvent:
    """A provider's push, normalized. Produced by providers/, consumed by ingest/."""

    provider: str
    repository: str  # full name, e.g. "acme/web"
    clone_urls: tuple[str, ...]  # every URL form the payload names for the repository
    ref: str  # full ref, e.g. "refs/heads/main"
    before: str
    after: str  # the commit to deploy ("0"*40 when the ref was deleted)
    sender: str = ""
    commit_message: str = ""
    commit_author: str = ""
    commit_timestamp: str = ""
    changed_paths: tuple[str, ...] | None = None  # None: the payload did not say
    deleted: bool = False
    event_type: str = "push"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def branch(self) -> str | None:
        return self.ref.removeprefix("refs/heads/") if self.ref.startswith("refs/heads/") else None

    @property
    def tag(self) -> str | None:
        return self.ref.removeprefix("refs/tags/") if self.ref.startswith("refs/tags/") else None


def utc_now() -> datetime:
    return datetime.now(UTC)


def utc_timestamp(moment: datetime | None = None) -> str:
    """ISO-8601 UTC with microseconds and a Z: sorts lexically in both databases."""
    moment = utc_now() if moment is None else moment.astimezone(UTC)
    # isoformat, not strftime: same text ("+00:00" → "Z"), a few times faster, and every
    # write takes a timestamp or two.
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"


def parse_timestamp(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def make_release_id(commit_sha: str, moment: datetime | None = None) -> str:
    """`<UTC timestamp>-<short sha>`, e.g. 20261126T053800123456Z-1a2b3c4.

    Microseconds keep two releases of one commit within a second apart.
    """
    moment = moment or utc_now()
    return f"{moment.astimezone(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{commit_sha[:7]}"


def release_handle(release_id: str) -> str:
    """`20261126T054727038671Z-7abe254` -> `20261126T054727-7abe254`: what tables show, and
    what `rollback --to` accepts besides the id and a commit. The sub-second part only tells
    apart two releases of one commit made within one second."""
    stamp, _, sha = release_id.partition("-")
    return f"{stamp[:15]}-{sha}" if len(stamp) > 15 and sha else release_id
