"""GraphQL object types and enums. Field names are snake_case here and camelCase on the
wire. Timestamps are ISO-8601 UTC strings (`2026-11-26T05:43:34.644818Z`)."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.types import Info

from fraisier.api.redact import redact_url
from fraisier.domain.model import (
    DeploymentStatus,
    FraiseType,
    ReleaseStatus,
    StepStatus,
    Trigger,
    WebhookOutcome,
)
from fraisier.store.tokens import Scope

if TYPE_CHECKING:
    from fraisier.api.context import ApiContext

DeploymentStatusEnum = strawberry.enum(DeploymentStatus, name="DeploymentStatus")
FraiseTypeEnum = strawberry.enum(FraiseType, name="FraiseType")
TriggerEnum = strawberry.enum(Trigger, name="Trigger")
StepStatusEnum = strawberry.enum(StepStatus, name="StepStatus")
ReleaseStatusEnum = strawberry.enum(ReleaseStatus, name="ReleaseStatus")
WebhookOutcomeEnum = strawberry.enum(WebhookOutcome, name="WebhookOutcome")
TokenScopeEnum = strawberry.enum(Scope, name="TokenScope")


def api(info: Info) -> ApiContext:
    return info.context["api"]


@strawberry.type
class DeploymentStep:
    position: int
    name: str
    status: StepStatusEnum
    started_at: str | None
    completed_at: str | None
    error: str | None
    compensation_status: StepStatusEnum | None
    compensation_error: str | None

    @classmethod
    def of(cls, step) -> DeploymentStep:
        return cls(position=step.position, name=step.name, status=StepStatus(step.status),
                   started_at=step.started_at, completed_at=step.completed_at, error=step.error,
                   compensation_status=(StepStatus(step.compensation_status)
                                        if step.compensation_status else None),
                   compensation_error=step.compensation_error)


@strawberry.type
class LogLine:
    id: int
    logged_at: str
    stream: str
    line: str


@strawberry.type
class Deployment:
    id: int
    fraise_id: str
    environment: str
    status: DeploymentStatusEnum
    trigger: TriggerEnum
    commit_sha: str | None
    branch: str
    release: str | None
    previous_release: str | None
    queued_at: str
    started_at: str | None
    completed_at: str | None
    duration_seconds: float | None
    error_message: str | None
    retry_of: int | None
    superseded_by: int | None
    cancel_requested: bool

    @classmethod
    def of(cls, record) -> Deployment:
        return cls(id=record.id, fraise_id=record.fraise, environment=record.environment,
                   status=DeploymentStatus(record.status), trigger=Trigger(record.trigger),
                   commit_sha=record.commit_sha or record.requested_commit, branch=record.branch,
                   release=record.release, previous_release=record.previous_release,
                   queued_at=record.queued_at, started_at=record.started_at,
                   completed_at=record.completed_at, duration_seconds=record.duration_seconds,
                   error_message=record.error, retry_of=record.retry_of,
                   superseded_by=record.superseded_by,
                   cancel_requested=record.cancel_requested)

    @strawberry.field
    async def steps(self, info: Info) -> list[DeploymentStep]:
        steps = await api(info).loaders.steps.load(self.id)
        api(info).charge(len(steps))
        return [DeploymentStep.of(s) for s in steps]

    @strawberry.field
    async def logs(self, info: Info, after: int = 0, limit: int = 500) -> list[LogLine]:
        rows = await api(info).logs(self.id, after, limit)
        return [LogLine(id=r["id"], logged_at=r["logged_at"], stream=r["stream"],
                        line=r["line"]) for r in rows]


@strawberry.type
class Environment:
    fraise_id: str
    name: str
    branch: str
    app_path: str
    pinned: bool = strawberry.field(
        description="Always false: Fraisier has no pinning yet.", default=False)

    async def _row(self, info: Info) -> dict | None:
        return await api(info).loaders.status.load((self.fraise_id, self.name))

    @strawberry.field(description="Status of the last deployment, null before the first.")
    async def status(self, info: Info) -> DeploymentStatusEnum | None:
        row = await self._row(info)
        return DeploymentStatus(row["last_status"]) if row else None

    @strawberry.field
    async def current_release(self, info: Info) -> str | None:
        row = await self._row(info)
        return row["current_release"] if row else None

    @strawberry.field(description="Commit of the live release.")
    async def current_commit_sha(self, info: Info) -> str | None:
        row = await self._row(info)
        return row["current_commit_sha"] if row else None

    @strawberry.field(description="When the last deployment ended.")
    async def last_deployed(self, info: Info) -> str | None:
        row = await self._row(info)
        return row["last_completed_at"] if row else None

    @strawberry.field
    async def last_deployment(self, info: Info) -> Deployment | None:
        row = await self._row(info)
        if not row:
            return None
        record = await api(info).loaders.deployment.load(int(row["last_deployment_id"]))
        api(info).charge(1)
        return Deployment.of(record) if record else None


@strawberry.type
class Fraise:
    id: str
    name: str
    type: FraiseTypeEnum
    description: str
    repository: str

    @classmethod
    def of(cls, name: str, fraise) -> Fraise:
        return cls(id=name, name=name, type=FraiseType(fraise.type), description=fraise.description,
                   repository=redact_url(fraise.repository))

    @strawberry.field
    def environments(self, info: Info) -> list[Environment]:
        return api(info).environments(self.id)

    @strawberry.field
    async def deployment_history(self, info: Info, environment: str | None = None,
                                 status: DeploymentStatusEnum | None = None, limit: int = 50,
                                 offset: int = 0, after: int | None = None) -> list[Deployment]:
        return await api(info).history(self.id, environment, status, limit, offset, after)


@strawberry.type
class Release:
    release_id: str
    fraise_id: str
    environment: str
    host: str
    commit_sha: str
    status: ReleaseStatusEnum
    deployment_id: int | None
    created_at: str
    activated_at: str | None

    @classmethod
    def of(cls, record) -> Release:
        return cls(release_id=record.release_id, fraise_id=record.fraise,
                   environment=record.environment, host=record.host,
                   commit_sha=record.commit_sha, status=ReleaseStatus(record.status),
                   deployment_id=record.deployment_id, created_at=record.created_at,
                   activated_at=record.activated_at)


@strawberry.type(description="One recorded run of an ETL script, a scheduled job or a backup.")
class Run:
    id: int
    fraise_id: str
    environment: str
    kind: str = strawberry.field(description="etl, job or backup")
    name: str
    trigger: str
    status: str
    release: str | None
    deployment_id: int | None
    scheduled_for: str | None
    started_at: str
    completed_at: str | None
    duration_seconds: float | None
    exit_code: int | None
    output_tail: str
    error: str | None

    @classmethod
    def of(cls, record) -> Run:
        return cls(id=record.id, fraise_id=record.fraise, environment=record.environment,
                   kind=record.kind, name=record.name, trigger=record.trigger,
                   status=record.status, release=record.release,
                   deployment_id=record.deployment_id, scheduled_for=record.scheduled_for,
                   started_at=record.started_at, completed_at=record.completed_at,
                   duration_seconds=record.duration_seconds, exit_code=record.exit_code,
                   output_tail=record.output_tail, error=record.error)


@strawberry.type
class WebhookEvent:
    id: int
    provider: str
    event_type: str
    delivery_id: str | None
    repository: str
    ref: str
    branch: str | None
    tag: str | None
    commit_sha: str | None
    sender: str
    received_at: str
    outcome: WebhookOutcomeEnum
    reason: str
    deployment_ids: list[int]

    @classmethod
    def of(cls, row: dict) -> WebhookEvent:
        return cls(id=int(row["id"]), provider=row["provider"], event_type=row["event_type"],
                   delivery_id=row["delivery_id"], repository=redact_url(row["repository"]),
                   ref=row["ref"], branch=row["branch"], tag=row["tag"],
                   commit_sha=row["commit_sha"], sender=row["sender"],
                   received_at=row["received_at"], outcome=WebhookOutcome(row["outcome"]),
                   reason=row["reason"], deployment_ids=[int(i) for i in row["deployment_ids"]])


@strawberry.type(description="One attempt at delivering a notification, commit status, "
                 "GitHub deployment or issue update. Channel URLs are never shown.")
class NotificationAttempt:
    id: int
    channel: str = strawberry.field(description="A channel's name, or e.g. github:status")
    kind: str = strawberry.field(description="message, commit_status, deployment or issue")
    event: str = strawberry.field(description="e.g. deployment.failed")
    event_id: int
    deployment_id: int | None
    fraise_id: str | None
    environment: str | None
    attempt: int
    status: str = strawberry.field(description="delivered, failed (will retry), gave_up or "
                                   "skipped")
    http_status: int | None
    error: str | None
    duration_seconds: float
    next_retry_at: str | None
    at: str

    @classmethod
    def of(cls, row: dict) -> NotificationAttempt:
        return cls(id=int(row["id"]), channel=row["channel"], kind=row["kind"],
                   event=row["event"], event_id=int(row["event_id"]),
                   deployment_id=row["deployment_id"], fraise_id=row["fraise"],
                   environment=row["environment"], attempt=int(row["attempt"]),
                   status=row["status"], http_status=row["http_status"], error=row["error"],
                   duration_seconds=float(row["duration_seconds"]),
                   next_retry_at=row["next_retry_at"], at=row["created_at"])


@strawberry.type
class DeploymentStatistics:
    fraise_id: str | None
    environment: str | None
    time_range_days: int
    total_deployments: int
    successful: int
    failed: int
    rolled_back: int
    rollback_failed: int
    interrupted: int
    success_rate: float | None
    average_duration_seconds: float | None
    p95_duration_seconds: float | None


@strawberry.type
class ApiToken:
    name: str
    scope: TokenScopeEnum
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


@strawberry.type(description="One entry of the audit log: an action that changed something.")
class AuditEntry:
    id: int
    at: str
    actor: str = strawberry.field(description="A token's name, a local user's login, or the "
                                  "Fraisier process (kind system).")
    actor_kind: str = strawberry.field(description="token, os_user or system.")
    source: str = strawberry.field(description="Where from: the API client's address, or the "
                                   "host of a local CLI.")
    action: str = strawberry.field(description="deploy, rollback, cancel, retry, "
                                   "token.create, token.revoke, config.reload.")
    subject: str
    deployment_id: int | None
    outcome: str = strawberry.field(description="ok, refused or failed.")
    detail: str

    @classmethod
    def of(cls, record: Any) -> AuditEntry:
        return cls(id=record.id, at=record.at, actor=record.actor, actor_kind=record.actor_kind,
                   source=record.source, action=record.action, subject=record.subject,
                   deployment_id=record.deployment_id, outcome=record.outcome,
                   detail=record.detail)


@strawberry.type
class CreatedApiToken:
    name: str
    scope: TokenScopeEnum
    token: str = strawberry.field(description="Shown once; only its hash is stored.")


# -- subscription payloads ---------------------------------------------------------------
@strawberry.enum
class LogEventKind(Enum):
    LOG = "log"
    STEP = "step"
    STATUS = "status"


@strawberry.type
class DeploymentStatusEvent:
    event_id: int = strawberry.field(description="Pass as `after` to resume after a reconnect.")
    deployment_id: int
    fraise_id: str
    environment: str
    status: DeploymentStatusEnum
    error_message: str | None
    at: str

    @strawberry.field
    async def deployment(self, info: Info) -> Deployment | None:
        record = await api(info).loaders.deployment.load(self.deployment_id)
        api(info).charge(1)
        return Deployment.of(record) if record else None


@strawberry.type
class DeploymentLogEvent:
    event_id: int = strawberry.field(description="Pass as `after` to resume after a reconnect.")
    deployment_id: int
    kind: LogEventKind
    at: str
    line: str | None = None
    stream: str | None = None
    step_position: int | None = None
    step_name: str | None = None
    step_status: StepStatusEnum | None = None
    compensation_status: StepStatusEnum | None = None
    status: DeploymentStatusEnum | None = None
    error_message: str | None = None


@strawberry.type
class WebhookReceivedEvent:
    event_id: int = strawberry.field(description="Pass as `after` to resume after a reconnect.")
    webhook_event_id: int
    provider: str
    outcome: WebhookOutcomeEnum
    repository: str
    branch: str | None
    commit_sha: str | None
    at: str

    @strawberry.field
    async def webhook_event(self, info: Info) -> WebhookEvent | None:
        row = await api(info).read(api(info).store.webhooks.get, self.webhook_event_id)
        return WebhookEvent.of(row) if row is not None else None
