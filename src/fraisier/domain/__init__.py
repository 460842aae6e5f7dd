"""The vocabulary of Fraisier: statuses, triggers, names and events. No I/O here."""

from fraisier.domain.model import (
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    NAME_PATTERN,
    DeploymentStatus,
    EventType,
    FraiseType,
    PushEvent,
    ReleaseStatus,
    StepStatus,
    Trigger,
    WebhookOutcome,
    is_valid_name,
    make_release_id,
    utc_now,
    utc_timestamp,
)

__all__ = [
    "ACTIVE_STATUSES",
    "FINAL_STATUSES",
    "NAME_PATTERN",
    "DeploymentStatus",
    "EventType",
    "FraiseType",
    "PushEvent",
    "ReleaseStatus",
    "StepStatus",
    "Trigger",
    "WebhookOutcome",
    "is_valid_name",
    "make_release_id",
    "utc_now",
    "utc_timestamp",
]
