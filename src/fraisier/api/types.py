"""GraphQL object types and enums. Field names are snake_case here and camelCase on the
wire. Timestamps are ISO-8601 UTC strings (`2026-11-26T05:43:34.644818Z`)."""

from __future__ import annotations

import asyncio
from enum import Enum
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.types import Info

from fraisier.api.hints import webhook_hint
from fraisier.api.ids import parse_optional_id, to_id, to_optional_id
from fraisier.api.redact import redact_url
from fraisier.api.weblinks import commit_web_url
from fraisier.domain.model import (
    FINAL_STATUSES,
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
    from fraisier.config.model import FraiseConfig
    from fraisier.store.records import DeploymentRecord, ReleaseRecord, StepRecord
    from fraisier.store.runs import BackupRecord, RunRecord

# The GraphQL enums. strawberry.enum marks the domain classes themselves (and returns them),
# so fields are annotated with the domain enums.
strawberry.enum(DeploymentStatus, name="DeploymentStatus")
strawberry.enum(FraiseType, name="FraiseType")
strawberry.enum(Trigger, name="Trigger")
strawberry.enum(StepStatus, name="StepStatus")
strawberry.enum(ReleaseStatus, name="ReleaseStatus")
strawberry.enum(WebhookOutcome, name="WebhookOutcome")
strawberry.enum(Scope, name="TokenScope")


def api(info: Info) -> ApiContext:
    context: ApiContext = info.context["api"]
    return context


@strawberry.type
class DeploymentStep:
    position: int
    name: str
    status: StepStatus
    started_at: str | None
    completed_at: str | None
    error: str | None
    compensation_status: StepStatus | None
    compensation_error: str | None

    @classmethod
    def of(cls, step: StepRecord) -> DeploymentStep:
        return cls(position=step.position, name=step.name, status=StepStatus(step.status),
                   started_at=step.started_at, completed_at=step.completed_at, error=step.error,
                   compensation_status=(StepStatus(step.compensation_status)
                                        if step.compensation_status else None),
                   compensation_error=step.compensation_error)


@strawberry.type(description="A commit as a fetch recorded it.")
class GitCommit:
    sha: str
    branch: str
    message: str
    author: str
    committed_at: str | None

    @classmethod
    def of(cls, row: dict[str, Any]) -> GitCommit:
        return cls(sha=row["sha"], branch=row["branch"] or "", message=row["message"] or "",
                   author=row["author"] or "", committed_at=row["committed_at"] or None)


@strawberry.type
class LogLine:
    id: int
    logged_at: str
    stream: str
    line: str


@strawberry.type(description="Who asked for a deployment.")
class Requester:
    name: str = strawberry.field(description="A token's name, a local user's login, the "
                                 "Fraisier process, or the person who pushed.")
    kind: str = strawberry.field(description="token, os_user, system, db_role (a database function) or pusher.")
    source: str = strawberry.field(description="Where from: the API client's address, the "
                                   "host of a local CLI, or the provider of a push.")


@strawberry.type
class Deployment:
    key: strawberry.Private[int]
    id: strawberry.ID
    fraise_id: str
    environment: str
    status: DeploymentStatus
    trigger: Trigger
    commit_sha: str | None
    branch: str
    release: str | None
    previous_release: str | None
    queued_at: str
    started_at: str | None
    completed_at: str | None
    duration_seconds: float | None
    error_message: str | None
    retry_of: strawberry.ID | None
    superseded_by: strawberry.ID | None
    cancel_requested: bool

    @classmethod
    def of(cls, record: DeploymentRecord) -> Deployment:
        return cls(key=record.id, id=to_id(record.id), fraise_id=record.fraise,
                   environment=record.environment,
                   status=DeploymentStatus(record.status), trigger=Trigger(record.trigger),
                   commit_sha=record.commit_sha or record.requested_commit, branch=record.branch,
                   release=record.release, previous_release=record.previous_release,
                   queued_at=record.queued_at, started_at=record.started_at,
                   completed_at=record.completed_at, duration_seconds=record.duration_seconds,
                   error_message=record.error, retry_of=to_optional_id(record.retry_of),
                   superseded_by=to_optional_id(record.superseded_by),
                   cancel_requested=record.cancel_requested)

    @strawberry.field(description="Message, author and time of the commit, when a fetch of "
                      "this fraise has seen it.")
    def commit(self, info: Info) -> GitCommit | None:
        if not self.commit_sha:
            return None
        row = api(info).store.views.commit(self.fraise_id, self.commit_sha)
        return GitCommit.of(row) if row else None

    @strawberry.field(description="The commit on the repository's web site (GitHub, GitLab, "
                      "Gitea/Forgejo, Bitbucket), null for other repositories.")
    def commit_url(self, info: Info) -> str | None:
        fraise = api(info).config.fraises.get(self.fraise_id)
        return commit_web_url(fraise.repository, self.commit_sha) if fraise else None

    @strawberry.field(description="Who asked for it: the audit log's actor for a deploy, "
                      "retry or rollback request (the latest, when requests were coalesced), "
                      "the pusher for a webhook; null when nobody is recorded (e.g. a "
                      "schedule).")
    async def requested_by(self, info: Info) -> Requester | None:
        found = await api(info).loaders.requesters.load(self.key)
        return Requester(name=found.name, kind=found.kind, source=found.source) if found else None

    @strawberry.field
    async def steps(self, info: Info) -> list[DeploymentStep]:
        steps = await api(info).loaders.steps.load(self.key)
        api(info).charge(len(steps))
        return [DeploymentStep.of(s) for s in steps]

    @strawberry.field
    async def logs(self, info: Info, after: int = 0, limit: int = 500) -> list[LogLine]:
        rows = await api(info).logs(self.key, after, limit)
        return [LogLine(id=r["id"], logged_at=r["logged_at"], stream=r["stream"],
                        line=r["line"]) for r in rows]


@strawberry.type
class Environment:
    fraise_id: str
    name: str
    branch: str
    app_path: str

    async def _row(self, info: Info) -> dict[str, Any] | None:
        return await api(info).loaders.status.load((self.fraise_id, self.name))

    @strawberry.field(description="Status of the last deployment, null before the first.")
    async def status(self, info: Info) -> DeploymentStatus | None:
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

    @strawberry.field(description="The live release, with the deployment that built it.")
    def live_release(self, info: Info) -> Release | None:
        record = api(info).store.releases.active(self.fraise_id, self.name)
        return Release.of(record) if record else None

    @strawberry.field(description="Rollout strategy (in_place, rolling, blue_green, canary); "
                      "null when the environment deploys on this machine.")
    def strategy(self, info: Info) -> str | None:
        rollout = api(info).config.target(self.fraise_id, self.name).rollout
        return str(rollout.effective_strategy) if rollout is not None else None

    @strawberry.field(description="Per-host (or, for blue-green and canary, per-slot) state of "
                      "a fleet environment; empty for a local one.")
    def hosts(self, info: Info) -> list[HostState]:
        from fraisier.rollout.status import host_states

        target = api(info).config.target(self.fraise_id, self.name)
        waves = {}
        rollout = target.rollout
        for number, wave in enumerate((rollout.waves or []) if rollout else [], start=1):
            for region in wave:
                waves[region] = number
        weights = ([step.weight for step in rollout.canary.steps]
                   if rollout is not None and rollout.canary is not None else [])
        return [HostState(host=state["host"], region=state["region"],
                          wave=waves.get(state["region"] or ""), address=state["address"],
                          live_release=state["live_release"], serving=state["serving"],
                          commit_sha=state["commit_sha"],
                          last_deployment_id=to_optional_id(state["last_deployment_id"]),
                          last_outcome=state["last_outcome"], error=state["error"],
                          canary_weights=weights)
                for state in host_states(api(info).store, target)]

    @strawberry.field(description="The live release's health between deployments, as the "
                      "worker last saw it; null when it is not watched (no health check, "
                      "watch_interval 0, a fleet environment) or not checked yet.")
    async def health(self, info: Info) -> EnvironmentHealth | None:
        seen = await api(info).loaders.health.load((self.fraise_id, self.name))
        if seen is None:
            return None
        return EnvironmentHealth(ok=seen.ok, detail=seen.detail, checked_at=seen.checked_at,
                                 since=seen.since)

    @strawberry.field
    async def last_deployment(self, info: Info) -> Deployment | None:
        row = await self._row(info)
        if not row:
            return None
        record = await api(info).loaders.deployment.load(int(row["last_deployment_id"]))
        api(info).charge(1)
        return Deployment.of(record) if record else None


@strawberry.type(description="Whether the live release answered its health check the last "
                 "time the worker looked, between deployments (health_check.watch_interval).")
class EnvironmentHealth:
    ok: bool
    detail: str = strawberry.field(description="What the check saw, e.g. `GET "
                                   "http://127.0.0.1:8000/health: HTTP 503 (expected 200)`.")
    checked_at: str
    since: str = strawberry.field(description="When it last went from ok to failing or back.")


@strawberry.type(description="One host (or slot) of a fleet environment.")
class HostState:
    host: str
    region: str | None
    wave: int | None = strawberry.field(description="Its wave, when `waves` orders regions.")
    address: str | None
    live_release: str | None
    serving: bool = strawberry.field(description="For slots: this slot takes the traffic.")
    commit_sha: str | None
    last_deployment_id: strawberry.ID | None
    last_outcome: str | None = strawberry.field(
        description="What the last deployment did here: updated, failed, rolled_back, ...")
    error: str | None
    canary_weights: list[int] = strawberry.field(
        description="The canary steps' traffic weights, in order (canary only).")


@strawberry.type
class Fraise:
    id: str
    name: str
    type: FraiseType
    description: str
    repository: str

    @classmethod
    def of(cls, name: str, fraise: FraiseConfig) -> Fraise:
        return cls(id=name, name=name, type=FraiseType(fraise.type), description=fraise.description,
                   repository=redact_url(fraise.repository))

    @strawberry.field(description="Its environments, then its open pull-request previews "
                      "(`pr-<number>`).")
    async def environments(self, info: Info) -> list[Environment]:
        ctx = api(info)
        found = ctx.environments(self.id)
        if ctx.fraise_config(self.id).previews is None:
            # No await here: the fields below are loaded in one batch with other fraises'.
            return found
        return found + await ctx.read(ctx.preview_environments, self.id)

    @strawberry.field
    async def deployment_history(self, info: Info, environment: str | None = None,
                                 status: DeploymentStatus | None = None, limit: int = 50,
                                 offset: int = 0, after: strawberry.ID | None = None,
                                 trigger: Trigger | None = None) -> list[Deployment]:
        return await api(info).history(self.id, environment, status, limit, offset,
                                       parse_optional_id(after, "after"), trigger=trigger)


@strawberry.type
class Release:
    release_id: str
    fraise_id: str
    environment: str
    host: str
    commit_sha: str
    status: ReleaseStatus
    deployment_id: strawberry.ID | None
    created_at: str
    activated_at: str | None

    @classmethod
    def of(cls, record: ReleaseRecord) -> Release:
        return cls(release_id=record.release_id, fraise_id=record.fraise,
                   environment=record.environment, host=record.host,
                   commit_sha=record.commit_sha, status=ReleaseStatus(record.status),
                   deployment_id=to_optional_id(record.deployment_id),
                   created_at=record.created_at,
                   activated_at=record.activated_at)

    @strawberry.field(description="The deployment that built this release (its trigger, "
                      "commit message and author say by whom and why).")
    async def deployment(self, info: Info) -> Deployment | None:
        if self.deployment_id is None:
            return None
        record = await api(info).loaders.deployment.load(int(self.deployment_id))
        return Deployment.of(record) if record else None


@strawberry.type(description="One recorded run of an ETL script, a scheduled job or a backup.")
class Run:
    id: strawberry.ID
    fraise_id: str
    environment: str
    kind: str = strawberry.field(description="etl, job or backup")
    name: str
    trigger: str
    status: str
    release: str | None
    deployment_id: strawberry.ID | None
    scheduled_for: str | None
    started_at: str
    completed_at: str | None
    duration_seconds: float | None
    exit_code: int | None
    output_tail: str
    error: str | None

    @classmethod
    def of(cls, record: RunRecord) -> Run:
        return cls(id=to_id(record.id), fraise_id=record.fraise,
                   environment=record.environment, kind=record.kind, name=record.name,
                   trigger=record.trigger,
                   status=record.status, release=record.release,
                   deployment_id=to_optional_id(record.deployment_id),
                   scheduled_for=record.scheduled_for,
                   started_at=record.started_at, completed_at=record.completed_at,
                   duration_seconds=record.duration_seconds, exit_code=record.exit_code,
                   output_tail=record.output_tail, error=record.error)


@strawberry.type
class WebhookEvent:
    id: strawberry.ID
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
    outcome: WebhookOutcome
    reason: str
    deployment_ids: list[strawberry.ID]

    @strawberry.field(description="What to fix when the request was refused or ignored, e.g. "
                      "the configuration key of the secret; null when nothing needs fixing.")
    def hint(self) -> str | None:
        if self.outcome in (WebhookOutcome.QUEUED, WebhookOutcome.DUPLICATE):
            return None
        return webhook_hint(self.provider, self.reason)

    @classmethod
    def of(cls, row: dict[str, Any]) -> WebhookEvent:
        return cls(id=to_id(int(row["id"])), provider=row["provider"],
                   event_type=row["event_type"],
                   delivery_id=row["delivery_id"], repository=redact_url(row["repository"]),
                   ref=row["ref"], branch=row["branch"], tag=row["tag"],
                   commit_sha=row["commit_sha"], sender=row["sender"],
                   received_at=row["received_at"], outcome=WebhookOutcome(row["outcome"]),
                   reason=row["reason"],
                   deployment_ids=[to_id(int(i)) for i in row["deployment_ids"]])


@strawberry.type(description="One attempt at delivering a notification, commit status, "
                 "GitHub deployment or issue update. Channel URLs are never shown.")
class NotificationAttempt:
    id: int
    channel: str = strawberry.field(description="A channel's name, or e.g. github:status")
    kind: str = strawberry.field(description="message, commit_status, deployment or issue")
    event: str = strawberry.field(description="e.g. deployment.failed")
    event_id: int
    deployment_id: strawberry.ID | None
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
    def of(cls, row: dict[str, Any]) -> NotificationAttempt:
        return cls(id=int(row["id"]), channel=row["channel"], kind=row["kind"],
                   event=row["event"], event_id=int(row["event_id"]),
                   deployment_id=to_optional_id(row["deployment_id"]), fraise_id=row["fraise"],
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


@strawberry.type(description="Finished deployments of one UTC day.")
class DailyStatistics:
    day: str
    total: int
    successful: int
    failed: int
    rolled_back: int
    rollback_failed: int
    interrupted: int
    success_rate: float
    average_duration_seconds: float | None

    @classmethod
    def of(cls, row: dict[str, Any]) -> DailyStatistics:
        return cls(day=row["day"], total=row["total"], successful=row["succeeded"],
                   failed=row["failed"], rolled_back=row["rolled_back"],
                   rollback_failed=row["rollback_failed"], interrupted=row["interrupted"],
                   success_rate=row["success_rate"],
                   average_duration_seconds=row["average_duration_seconds"])


@strawberry.type(description="Who is asking: the token's name and scope, or an anonymous "
                 "reader when `api.anonymous_read` is on.")
class Viewer:
    name: str | None
    scope: Scope
    anonymous: bool


@strawberry.type(description="A job of a target (scheduled job or backup with a schedule).")
class Job:
    fraise_id: str
    environment: str
    name: str
    kind: str
    scheduler: str
    schedule: str | None
    last_run: str | None
    last_status: str | None
    last_exit_code: int | None
    next_run: str | None


@strawberry.type(description="A backup and its verification.")
class Backup:
    id: strawberry.ID
    fraise_id: str
    environment: str
    job: str
    kind: str
    status: str
    size_bytes: float | None
    sha256: str | None
    verify: str
    verified: str | None
    verify_detail: str | None
    started_at: str
    completed_at: str | None
    error: str | None

    @classmethod
    def of(cls, record: BackupRecord) -> Backup:
        return cls(id=to_id(record.id), fraise_id=record.fraise,
                   environment=record.environment, job=record.job, kind=record.kind,
                   status=record.status,
                   size_bytes=record.size_bytes, sha256=record.sha256, verify=record.verify,
                   verified=record.verified, verify_detail=record.verify_detail,
                   started_at=record.started_at, completed_at=record.completed_at,
                   error=record.error)

    @strawberry.field(description="The CLI command that restores it (the target database "
                      "is left for the reader to fill in).")
    def restore_command(self) -> str:
        return (f"fraisier backup restore {self.fraise_id} {self.environment} {self.id}"
                " --to DATABASE_URL")


@strawberry.type
class ApiToken:
    name: str
    scope: Scope
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
    deployment_id: strawberry.ID | None
    outcome: str = strawberry.field(description="ok, refused or failed.")
    detail: str

    @classmethod
    def of(cls, record: Any) -> AuditEntry:
        return cls(id=record.id, at=record.at, actor=record.actor, actor_kind=record.actor_kind,
                   source=record.source, action=record.action, subject=record.subject,
                   deployment_id=to_optional_id(record.deployment_id), outcome=record.outcome,
                   detail=record.detail)


@strawberry.type
class CreatedApiToken:
    name: str
    scope: Scope
    token: str = strawberry.field(description="Shown once; only its hash is stored.")


# -- subscription payloads ---------------------------------------------------------------
@strawberry.enum
class LogEventKind(Enum):
    LOG = "log"
    STEP = "step"
    STATUS = "status"


@strawberry.type(description="A deployment as it is after one status change: its own fields "
                 "(`id status completedAt ...`) selected directly, `eventId` to resume, "
                 "`deployment` for the full object as it is now.")
class DeploymentStatusEvent:
    event_id: int = strawberry.field(description="Pass as `after` to resume after a reconnect.")
    id: strawberry.ID = strawberry.field(description="The deployment's id.")
    deployment_id: strawberry.ID = strawberry.field(description="The deployment's id (as `id`).")
    fraise_id: str
    environment: str
    status: DeploymentStatus = strawberry.field(description="The status it changed to.")
    error_message: str | None
    at: str = strawberry.field(description="When it changed.")
    key: strawberry.Private[int] = 0
    # The record, read once per event however many of its fields a client selects, and only
    # when one is selected: a client asking for `eventId` alone costs no read.
    loading: strawberry.Private[asyncio.Future[Any] | None] = None

    async def _record(self, info: Info) -> DeploymentRecord | None:
        if self.loading is None:
            self.loading = asyncio.ensure_future(api(info).loaders.deployment.load(self.key))
        record: DeploymentRecord | None = await asyncio.shield(self.loading)
        return record

    def _finished(self) -> bool:
        return self.status in FINAL_STATUSES

    @strawberry.field(description="Null only for a deployment deleted since.")
    async def trigger(self, info: Info) -> Trigger | None:
        record = await self._record(info)
        return Trigger(record.trigger) if record else None

    @strawberry.field
    async def commit_sha(self, info: Info) -> str | None:
        record = await self._record(info)
        return (record.commit_sha or record.requested_commit) if record else None

    @strawberry.field(description="Null only for a deployment deleted since.")
    async def branch(self, info: Info) -> str | None:
        record = await self._record(info)
        return record.branch if record else None

    @strawberry.field(description="The release it built; null while it is queued.")
    async def release(self, info: Info) -> str | None:
        record = await self._record(info)
        if record is None or self.status == DeploymentStatus.QUEUED:
            return None
        return record.release

    @strawberry.field
    async def queued_at(self, info: Info) -> str | None:
        record = await self._record(info)
        return record.queued_at if record else None

    @strawberry.field(description="Null while it is queued.")
    async def started_at(self, info: Info) -> str | None:
        record = await self._record(info)
        if record is None or self.status == DeploymentStatus.QUEUED:
            return None
        return record.started_at

    @strawberry.field(description="Null until a change to a final status.")
    async def completed_at(self, info: Info) -> str | None:
        record = await self._record(info)
        return record.completed_at if record is not None and self._finished() else None

    @strawberry.field(description="Null until a change to a final status.")
    async def duration_seconds(self, info: Info) -> float | None:
        record = await self._record(info)
        if record is None or not self._finished() or record.duration_seconds is None:
            return None
        return float(record.duration_seconds)

    @strawberry.field
    async def retry_of(self, info: Info) -> strawberry.ID | None:
        record = await self._record(info)
        return to_optional_id(record.retry_of) if record else None

    @strawberry.field
    async def superseded_by(self, info: Info) -> strawberry.ID | None:
        record = await self._record(info)
        return to_optional_id(record.superseded_by) if record else None

    @strawberry.field(description="The whole deployment as it is now (it may have changed "
                      "again since this event).")
    async def deployment(self, info: Info) -> Deployment | None:
        record = await self._record(info)
        api(info).charge(1)
        return Deployment.of(record) if record else None


@strawberry.type
class DeploymentLogEvent:
    event_id: int = strawberry.field(description="Pass as `after` to resume after a reconnect.")
    deployment_id: strawberry.ID
    kind: LogEventKind
    at: str
    line: str | None = None
    stream: str | None = None
    step_position: int | None = None
    step_name: str | None = None
    step_status: StepStatus | None = None
    compensation_status: StepStatus | None = None
    status: DeploymentStatus | None = None
    error_message: str | None = None


@strawberry.type(description="A live release started or stopped answering its health check.")
class HealthChangedEvent:
    event_id: int = strawberry.field(description="Pass as `after` to resume after a reconnect.")
    fraise_id: str
    environment: str
    ok: bool
    detail: str
    at: str


@strawberry.type(description="One request to the webhook endpoint, as recorded: the "
                 "`webhookEvents` fields selected directly, plus `eventId` to resume.")
class WebhookReceivedEvent:
    event_id: int = strawberry.field(description="Pass as `after` to resume after a reconnect.")
    id: strawberry.ID = strawberry.field(description="The webhook event's id (as in "
                                         "`webhookEvents`).")
    webhook_event_id: strawberry.ID = strawberry.field(description="The same id as `id`.")
    provider: str
    outcome: WebhookOutcome
    repository: str
    branch: str | None
    commit_sha: str | None
    at: str
    key: strawberry.Private[int] = 0
    payload: strawberry.Private[dict[str, Any] | None] = None
    loading: strawberry.Private[asyncio.Future[Any] | None] = None

    async def _row(self, info: Info) -> Any:
        if self.loading is None:
            self.loading = asyncio.ensure_future(
                api(info).read(api(info).store.webhooks.get, self.key))
        return await asyncio.shield(self.loading)

    async def _recorded(self, info: Info, key: str) -> str | None:
        """From the event's payload; events written before it carried `key` read the row."""
        if self.payload is not None and key in self.payload:
            value = self.payload[key]
        else:
            row = await self._row(info)
            value = row[key] if row is not None else None
        return None if value is None else str(value)

    @strawberry.field(description="push, tag, ping, ...")
    async def event_type(self, info: Info) -> str | None:
        return await self._recorded(info, "event_type")

    @strawberry.field
    async def delivery_id(self, info: Info) -> str | None:
        return await self._recorded(info, "delivery_id")

    @strawberry.field
    async def received_at(self, info: Info) -> str | None:
        return await self._recorded(info, "received_at") or self.at

    @strawberry.field(description="Why it was queued, ignored or refused.")
    async def reason(self, info: Info) -> str | None:
        return await self._recorded(info, "reason")

    @strawberry.field
    async def webhook_event(self, info: Info) -> WebhookEvent | None:
        row = await self._row(info)
        return WebhookEvent.of(row) if row is not None else None
