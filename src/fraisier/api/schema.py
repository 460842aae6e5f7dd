"""The GraphQL schema: queries read the store, mutations go through the same queue as the CLI
and webhooks, subscriptions tail the tb_event outbox."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.types import Info

from fraisier.api.errors import QuietSchema, bad_input, not_found, refused, should_mask
from fraisier.api.tokens import Scope, TokenError
from fraisier.api.types import (
    ApiToken,
    AuditEntry,
    Backup,
    CreatedApiToken,
    DailyStatistics,
    Deployment,
    DeploymentLogEvent,
    DeploymentStatistics,
    DeploymentStatusEnum,
    DeploymentStatusEvent,
    Fraise,
    Job,
    LogEventKind,
    NotificationAttempt,
    Release,
    Run,
    TokenScopeEnum,
    TriggerEnum,
    Viewer,
    WebhookEvent,
    WebhookOutcomeEnum,
    WebhookReceivedEvent,
    api,
)
from fraisier.api.watch import AuthorizationWatch
from fraisier.domain.model import (
    FINAL_STATUSES,
    DeploymentStatus,
    EventType,
    StepStatus,
    Trigger,
    WebhookOutcome,
)
from fraisier.store.tail import OutboxTail

POLL_SECONDS = 0.2


def _require(info: Info, scope: Scope):
    return api(info).require(scope, info.context)


def _watch(info: Info) -> AuthorizationWatch:
    """Re-checks the subscriber's token while a subscription runs (revoking it ends them)."""
    return AuthorizationWatch(lambda: _require(info, Scope.READ))


def _deployment_record(info: Info, deployment_id: int):
    from fraisier.store import NotFound

    try:
        return api(info).store.queue.get(deployment_id, with_steps=False)
    except NotFound:
        raise not_found(f"no deployment {deployment_id}") from None


@strawberry.type
class Query:
    @strawberry.field
    def fraises(self, info: Info) -> list[Fraise]:
        _require(info, Scope.READ)
        return [Fraise.of(name, f) for name, f in api(info).config.fraises.items()]

    @strawberry.field
    def fraise(self, info: Info, id: str) -> Fraise:
        _require(info, Scope.READ)
        return Fraise.of(id, api(info).fraise_config(id))

    @strawberry.field
    def deployment(self, info: Info, id: int) -> Deployment:
        _require(info, Scope.READ)
        return Deployment.of(_deployment_record(info, id))

    @strawberry.field(description="Deployments newest first. `after`: a deployment id; only "
                      "older deployments are listed (cursor paging).")
    def deployment_history(self, info: Info, fraise_id: str | None = None,
                           environment: str | None = None,
                           status: DeploymentStatusEnum | None = None, limit: int = 50,
                           offset: int = 0, after: int | None = None,
                           trigger: TriggerEnum | None = None) -> list[Deployment]:
        _require(info, Scope.READ)
        return api(info).history(fraise_id, environment, status, limit, offset, after,
                                 trigger=trigger)

    @strawberry.field(description="Who is asking: the token's name and scope. A client uses "
                      "it to check a token and to offer only what its scope allows.")
    def viewer(self, info: Info) -> Viewer:
        principal = _require(info, Scope.READ)
        if principal is None:
            return Viewer(name=None, scope=Scope.READ, anonymous=True)
        return Viewer(name=principal.name, scope=principal.scope, anonymous=False)

    @strawberry.field(description="Finished deployments per UTC day over the last "
                      "`timeRangeDays`, oldest first (days without any are left out).")
    def deployment_daily_statistics(self, info: Info, fraise_id: str | None = None,
                                    environment: str | None = None,
                                    time_range_days: int = 30) -> list[DailyStatistics]:
        _require(info, Scope.READ)
        if fraise_id is not None:
            api(info).check_target(fraise_id, environment)
        if not 1 <= time_range_days <= 3650:
            raise bad_input("timeRangeDays must be between 1 and 3650")
        rows = api(info).store.views.daily(fraise=fraise_id, environment=environment,
                                           days=time_range_days)
        return [DailyStatistics.of(row) for row in rows]

    @strawberry.field(description="Scheduled jobs and scheduled backups with their last and "
                      "next run.")
    def jobs(self, info: Info, fraise_id: str | None = None) -> list[Job]:
        from fraisier.kinds.scheduler import job_overview

        _require(info, Scope.READ)
        if fraise_id is not None:
            api(info).check_target(fraise_id, None)
        return [Job(fraise_id=row["fraise"], environment=row["environment"], name=row["job"],
                    kind=row["kind"], scheduler=row["scheduler"], schedule=row["schedule"],
                    last_run=row["last_run"], last_status=row["last_status"],
                    last_exit_code=row["last_exit_code"], next_run=row["next_run"])
                for row in job_overview(api(info).store, api(info).config, fraise_id)]

    @strawberry.field(description="Backups of one environment, newest first.")
    def backups(self, info: Info, fraise_id: str, environment: str,
                limit: int = 50) -> list[Backup]:
        _require(info, Scope.READ)
        ctx = api(info)
        ctx.check_target(fraise_id, environment)
        return [Backup.of(r) for r in ctx.store.backups.list(
            fraise_id, environment, limit=ctx.checked_limit(limit))]

    @strawberry.field
    def deployment_statistics(self, info: Info, fraise_id: str | None = None,
                              environment: str | None = None,
                              time_range_days: int = 30) -> DeploymentStatistics:
        _require(info, Scope.READ)
        if fraise_id is not None:
            api(info).check_target(fraise_id, environment)
        if not 1 <= time_range_days <= 3650:
            raise bad_input("timeRangeDays must be between 1 and 3650")
        data = api(info).store.views.stats(fraise=fraise_id, environment=environment,
                                           days=time_range_days)
        return DeploymentStatistics(
            fraise_id=fraise_id, environment=environment, time_range_days=time_range_days,
            total_deployments=data["total_deployments"], successful=data["successful"],
            failed=data["failed"], rolled_back=data["rolled_back"],
            rollback_failed=data["rollback_failed"], interrupted=data["interrupted"],
            success_rate=data["success_rate"],
            average_duration_seconds=data["average_duration_seconds"],
            p95_duration_seconds=data["p95_duration_seconds"])

    @strawberry.field
    def webhook_events(self, info: Info, limit: int = 50, provider: str | None = None,
                       outcome: WebhookOutcomeEnum | None = None) -> list[WebhookEvent]:
        _require(info, Scope.READ)
        rows = api(info).store.webhooks.list(limit=api(info).checked_limit(limit),
                                             provider=provider,
                                             outcome=outcome.value if outcome else None)
        return [WebhookEvent.of(row) for row in rows]

    @strawberry.field(description="Releases of one environment, newest first.")
    def releases(self, info: Info, fraise_id: str, environment: str) -> list[Release]:
        _require(info, Scope.READ)
        api(info).check_target(fraise_id, environment)
        return [Release.of(r) for r in api(info).store.releases.list(fraise_id, environment)]

    @strawberry.field(description="Recorded runs (ETL scripts, scheduled jobs, backups), "
                      "newest first.")
    def runs(self, info: Info, fraise_id: str, environment: str | None = None,
             kind: str | None = None, limit: int = 50) -> list[Run]:
        _require(info, Scope.READ)
        ctx = api(info)
        ctx.check_target(fraise_id, environment)
        records = ctx.store.runs.list(fraise_id, environment, kind=kind,
                                      limit=ctx.checked_limit(limit))
        return [Run.of(record) for record in records]

    @strawberry.field(description="Attempts at delivering notifications, commit statuses, "
                      "deployments and issues, newest first.")
    def notification_attempts(self, info: Info, deployment_id: int | None = None,
                              channel: str | None = None, status: str | None = None,
                              limit: int = 50) -> list[NotificationAttempt]:
        _require(info, Scope.READ)
        ctx = api(info)
        rows = ctx.store.notifications.attempts(limit=ctx.checked_limit(limit),
                                                deployment_id=deployment_id, channel=channel,
                                                status=status)
        return [NotificationAttempt.of(row) for row in rows]

    @strawberry.field(description="API tokens (never their values). Needs the admin scope.")
    def api_tokens(self, info: Info) -> list[ApiToken]:
        _require(info, Scope.ADMIN)
        return [ApiToken(name=t.name, scope=t.scope, created_at=t.created_at,
                         last_used_at=t.last_used_at, revoked_at=t.revoked_at)
                for t in api(info).tokens.list()]

    @strawberry.field(description="The audit log, newest first: who changed what, from where, "
                      "and the outcome. `before`: an entry id, to page back. Needs the admin "
                      "scope.")
    def audit_log(self, info: Info, limit: int = 100, before: int | None = None,
                  action: str | None = None) -> list[AuditEntry]:
        _require(info, Scope.ADMIN)
        ctx = api(info)
        return [AuditEntry.of(record) for record in ctx.store.audit.list(
            limit=ctx.checked_limit(limit), before_id=before, action=action)]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Queue a deployment; a worker runs it.")
    def deploy(self, info: Info, fraise_id: str, environment: str,
               commit_sha: str | None = None, force: bool = False) -> Deployment:
        from fraisier.engine.service import request_deployment

        principal = _require(info, Scope.DEPLOY)
        ctx = api(info)
        ctx.check_target(fraise_id, environment)
        if commit_sha is not None and not commit_sha.strip():
            raise bad_input("commitSha must not be empty")
        record = request_deployment(ctx.store, ctx.config, fraise_id, environment,
                                    trigger=Trigger.API, commit=commit_sha, force=force,
                                    actor=ctx.actor(principal))
        return Deployment.of(record)

    @strawberry.mutation(description="Cancel a deployment: a queued one never starts; a "
                         "running one is stopped by its worker, which then undoes its completed "
                         "steps (the returned deployment is still RUNNING with "
                         "cancelRequested: true; follow it to see it end).")
    def cancel_deployment(self, info: Info, id: int) -> Deployment:
        from fraisier.engine.service import RequestRefused, cancel_deployment

        principal = _require(info, Scope.DEPLOY)
        try:
            return Deployment.of(cancel_deployment(api(info).store, id,
                                                   actor=api(info).actor(principal)).record)
        except RequestRefused as exc:
            raise refused(exc) from None

    @strawberry.mutation(description="Queue a new deployment of the same commit as a finished "
                         "one that did not succeed.")
    def retry_deployment(self, info: Info, id: int) -> Deployment:
        from fraisier.engine.service import RequestRefused, retry_deployment

        principal = _require(info, Scope.DEPLOY)
        ctx = api(info)
        record = _deployment_record(info, id)
        ctx.check_target(record.fraise, record.environment)
        try:
            return Deployment.of(retry_deployment(ctx.store, ctx.config, id,
                                                  actor=ctx.actor(principal)))
        except RequestRefused as exc:
            raise refused(exc) from None

    @strawberry.mutation(description="Queue a rollback to `toRelease` (a release id, its short "
                         "handle as `fraisier releases` shows it, or a commit prefix of 4+ "
                         "characters; default: the release before the live one); `migrateDown` "
                         "also takes the database back.")
    def rollback(self, info: Info, fraise_id: str, environment: str,
                 to_release: str | None = None, migrate_down: bool = False) -> Deployment:
        from fraisier.engine.service import RequestRefused, request_rollback

        principal = _require(info, Scope.DEPLOY)
        ctx = api(info)
        ctx.check_target(fraise_id, environment)
        try:
            record = request_rollback(ctx.store, ctx.config, fraise_id, environment,
                                      to=to_release, migrate_down=migrate_down,
                                      actor=ctx.actor(principal))
        except RequestRefused as exc:
            raise refused(exc) from None
        return Deployment.of(record)

    @strawberry.mutation(description="Create an API token. Needs the admin scope.")
    def create_api_token(self, info: Info, name: str, scope: TokenScopeEnum) -> CreatedApiToken:
        principal = _require(info, Scope.ADMIN)
        try:
            token = api(info).tokens.create(name, scope, actor=api(info).actor(principal))
        except TokenError as exc:
            raise bad_input(str(exc)) from None
        return CreatedApiToken(name=name, scope=scope, token=token)

    @strawberry.mutation(description="Revoke an API token by name. Needs the admin scope.")
    def revoke_api_token(self, info: Info, name: str) -> bool:
        principal = _require(info, Scope.ADMIN)
        if not api(info).tokens.revoke(name, actor=api(info).actor(principal)):
            raise not_found(f"no active token named {name!r}")
        return True


def _start_after(info: Info, after: int | None) -> int:
    return api(info).store.events.last_id() if after is None else max(0, after)


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Every status change of a deployment. `after`: the "
                             "last eventId seen, to resume without missing events.")
    async def deployment_status_changed(
            self, info: Info, fraise_id: str | None = None, environment: str | None = None,
            after: int | None = None) -> AsyncGenerator[DeploymentStatusEvent, None]:
        _require(info, Scope.READ)
        watch = _watch(info)
        if fraise_id is not None:
            api(info).check_target(fraise_id, environment)
        tail = OutboxTail(api(info).store, after=_start_after(info, after),
                          types=(EventType.DEPLOYMENT_STATUS.value,))
        async for event in tail.follow_async(interval=POLL_SECONDS, stop=watch.revoked):
            if (fraise_id and event["fraise"] != fraise_id) or (
                    environment and event["environment"] != environment):
                continue
            payload = event["payload"]
            yield DeploymentStatusEvent(
                event_id=event["id"], deployment_id=event["deployment_id"],
                fraise_id=event["fraise"], environment=event["environment"],
                status=DeploymentStatus(payload["status"]), error_message=payload.get("error"),
                at=event["created_at"])
        watch.raise_if_revoked()

    @strawberry.subscription(description="Every request to the webhook endpoint.")
    async def webhook_received(self, info: Info, after: int | None = None
                               ) -> AsyncGenerator[WebhookReceivedEvent, None]:
        _require(info, Scope.READ)
        watch = _watch(info)
        tail = OutboxTail(api(info).store, after=_start_after(info, after),
                          types=(EventType.WEBHOOK_RECEIVED.value,))
        async for event in tail.follow_async(interval=POLL_SECONDS, stop=watch.revoked):
            payload = event["payload"]
            yield WebhookReceivedEvent(
                event_id=event["id"], webhook_event_id=int(payload["webhook_event_id"]),
                provider=payload.get("provider", ""),
                outcome=WebhookOutcome(payload["outcome"]),
                repository=payload.get("repository", ""), branch=payload.get("branch"),
                commit_sha=payload.get("commit_sha"), at=event["created_at"])
        watch.raise_if_revoked()

    @strawberry.subscription(description="Steps, log lines and status changes of one "
                             "deployment: everything so far (after `after`), then live; ends "
                             "when the deployment ends.")
    async def deployment_logs(self, info: Info, id: int, after: int = 0
                              ) -> AsyncGenerator[DeploymentLogEvent, None]:
        _require(info, Scope.READ)
        watch = _watch(info)
        _deployment_record(info, id)
        store = api(info).store

        def finished() -> bool:
            status = store.db.scalar("SELECT status FROM tb_deployment WHERE id = ?", (id,))
            return status is None or DeploymentStatus(status) in FINAL_STATUSES

        tail = OutboxTail(store, after=max(0, after), deployment_id=id)
        async for event in tail.follow_async(
                interval=POLL_SECONDS, stop=lambda: watch.revoked() or finished()):
            converted = _log_event(event)
            if converted is None:
                continue
            yield converted
            if converted.status is not None and converted.status in FINAL_STATUSES:
                return
        watch.raise_if_revoked()


def _log_event(event: dict) -> DeploymentLogEvent | None:
    payload = event["payload"]
    common = {"event_id": event["id"], "deployment_id": event["deployment_id"],
              "at": event["created_at"]}
    if event["type"] == EventType.DEPLOYMENT_LOG:
        return DeploymentLogEvent(kind=LogEventKind.LOG, line=payload.get("line"),
                                  stream=payload.get("stream"), **common)
    if event["type"] == EventType.DEPLOYMENT_STEP:
        step = payload.get("status")
        undo = payload.get("compensation_status")
        return DeploymentLogEvent(
            kind=LogEventKind.STEP, step_position=payload.get("position"),
            step_name=payload.get("name"), step_status=StepStatus(step) if step else None,
            compensation_status=StepStatus(undo) if undo else None,
            error_message=payload.get("error"), **common)
    if event["type"] == EventType.DEPLOYMENT_STATUS:
        return DeploymentLogEvent(kind=LogEventKind.STATUS,
                                  status=DeploymentStatus(payload["status"]),
                                  error_message=payload.get("error"), **common)
    return None


def build_schema(config=None) -> strawberry.Schema:
    """The schema with its request bounds (depth, aliases, tokens) and error masking."""
    from fraisier.config.api import ApiConfig

    limits = config.api if config is not None else ApiConfig()
    return QuietSchema(
        query=Query, mutation=Mutation, subscription=Subscription,
        extensions=[
            # Clients repeat the same few documents: parse and validate each once.
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
            lambda: QueryDepthLimiter(max_depth=limits.max_depth),
            lambda: MaxAliasesLimiter(max_alias_count=limits.max_aliases),
            lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
            lambda: MaskErrors(should_mask_error=should_mask),
        ],
    )
