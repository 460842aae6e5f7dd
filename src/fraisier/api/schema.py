"""The GraphQL schema: queries read the store, mutations go through the same queue as the CLI
and webhooks, subscriptions tail the tb_event outbox."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

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

from fraisier.api.auth import Principal

if TYPE_CHECKING:
    from fraisier.config import FraisierConfig
from fraisier.api.budget import RowBudgetExtension
from fraisier.api.errors import QuietSchema, bad_input, not_found, refused, should_mask
from fraisier.api.ids import parse_id, parse_optional_id, to_id
from fraisier.api.redact import redact_url
from fraisier.api.threads import in_db_thread, on_graphql_loop
from fraisier.api.types import (
    ApiToken,
    AuditEntry,
    Backup,
    CreatedApiToken,
    DailyStatistics,
    Deployment,
    DeploymentLogEvent,
    DeploymentStatistics,
    DeploymentStatusEvent,
    Fraise,
    HealthChangedEvent,
    Job,
    LogEventKind,
    NotificationAttempt,
    Release,
    Run,
    Viewer,
    WebhookEvent,
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
from fraisier.store.tokens import Scope, TokenError

POLL_SECONDS = 0.2


async def _require(info: Info, scope: Scope) -> Principal | None:
    return await api(info).authorize(scope, info.context)


def _watch(info: Info) -> AuthorizationWatch:
    """Re-checks the subscriber's token while a subscription runs (revoking it ends them)."""
    context, connection = api(info), info.context
    # Blocking: the watch runs on the outbox tail's database thread.
    return AuthorizationWatch(lambda: context.require(Scope.READ, connection))


def _deployment_record(info: Info, deployment_id: int) -> Any:
    """Blocking: call on a database thread (`api(info).read`)."""
    from fraisier.store import NotFound

    try:
        return api(info).store.queue.get(deployment_id, with_steps=False)
    except NotFound:
        raise not_found(f"no deployment {deployment_id}") from None


# Every resolver that touches the store is async and awaits its store calls on the API's
# database threads (ApiContext.read/rows): a synchronous resolver would run them on the
# event loop, where one slow query stalls every request of the server.
@strawberry.type
class Query:
    @strawberry.field
    async def fraises(self, info: Info) -> list[Fraise]:
        await _require(info, Scope.READ)
        return [Fraise.of(name, f) for name, f in api(info).config.fraises.items()]

    @strawberry.field
    async def fraise(self, info: Info, id: str) -> Fraise:
        await _require(info, Scope.READ)
        return Fraise.of(id, api(info).fraise_config(id))

    @strawberry.field
    async def deployment(self, info: Info, id: strawberry.ID) -> Deployment:
        await _require(info, Scope.READ)
        record = await api(info).read(_deployment_record, info, parse_id(id))
        api(info).charge(1)
        return Deployment.of(record)

    @strawberry.field(description="Deployments newest first. `after`: a deployment id; only "
                      "older deployments are listed (cursor paging).")
    async def deployment_history(self, info: Info, fraise_id: str | None = None,
                                 environment: str | None = None,
                                 status: DeploymentStatus | None = None, limit: int = 50,
                                 offset: int = 0, after: strawberry.ID | None = None,
                                 trigger: Trigger | None = None) -> list[Deployment]:
        await _require(info, Scope.READ)
        return await api(info).history(fraise_id, environment, status, limit, offset,
                                       parse_optional_id(after, "after"), trigger=trigger,
                                       top_level=True)

    @strawberry.field(description="The id of the newest event so far. A page reads it before "
                      "its data, then subscribes with `after:` it, so no change committed in "
                      "between is missed.")
    async def event_cursor(self, info: Info) -> int:
        await _require(info, Scope.READ)
        return await api(info).read(api(info).store.events.last_id)

    @strawberry.field(description="Who is asking: the token's name and scope. A client uses "
                      "it to check a token and to offer only what its scope allows.")
    async def viewer(self, info: Info) -> Viewer:
        principal = await _require(info, Scope.READ)
        if principal is None:
            return Viewer(name=None, scope=Scope.READ, anonymous=True)
        return Viewer(name=principal.name, scope=principal.scope, anonymous=False)

    @strawberry.field(description="Finished deployments per UTC day over the last "
                      "`timeRangeDays`, oldest first (days without any are left out).")
    async def deployment_daily_statistics(self, info: Info, fraise_id: str | None = None,
                                          environment: str | None = None,
                                          time_range_days: int = 30) -> list[DailyStatistics]:
        await _require(info, Scope.READ)
        ctx = api(info)
        if fraise_id is not None:
            ctx.check_target(fraise_id, environment)
        if not 1 <= time_range_days <= 3650:
            raise bad_input("timeRangeDays must be between 1 and 3650")
        views = ctx.store.views
        rows = await ctx.read(lambda: views.daily(fraise=fraise_id, environment=environment,
                                                  days=time_range_days))
        ctx.charge(len(rows))
        return [DailyStatistics.of(row) for row in rows]

    @strawberry.field(description="Scheduled jobs and scheduled backups with their last and "
                      "next run.")
    async def jobs(self, info: Info, fraise_id: str | None = None) -> list[Job]:
        from fraisier.kinds.scheduler import job_overview

        await _require(info, Scope.READ)
        ctx = api(info)
        if fraise_id is not None:
            ctx.check_target(fraise_id, None)
        rows = await ctx.read(job_overview, ctx.store, ctx.config, fraise_id)
        ctx.charge(len(rows))
        return [Job(fraise_id=row["fraise"], environment=row["environment"], name=row["job"],
                    kind=row["kind"], scheduler=row["scheduler"], schedule=row["schedule"],
                    last_run=row["last_run"], last_status=row["last_status"],
                    last_exit_code=row["last_exit_code"], next_run=row["next_run"])
                for row in rows]

    @strawberry.field(description="Backups of one environment, newest first.")
    async def backups(self, info: Info, fraise_id: str, environment: str,
                      limit: int = 50) -> list[Backup]:
        await _require(info, Scope.READ)
        ctx = api(info)
        ctx.check_target(fraise_id, environment)
        backups = ctx.store.backups
        records = await ctx.rows(limit, lambda n: backups.list(fraise_id, environment, limit=n),
                                 top_level=True)
        return [Backup.of(r) for r in records]

    @strawberry.field
    async def deployment_statistics(self, info: Info, fraise_id: str | None = None,
                                    environment: str | None = None,
                                    time_range_days: int = 30) -> DeploymentStatistics:
        await _require(info, Scope.READ)
        if fraise_id is not None:
            api(info).check_target(fraise_id, environment)
        if not 1 <= time_range_days <= 3650:
            raise bad_input("timeRangeDays must be between 1 and 3650")
        views = api(info).store.views
        data = await api(info).read(lambda: views.stats(
            fraise=fraise_id, environment=environment, days=time_range_days))
        return DeploymentStatistics(
            fraise_id=fraise_id, environment=environment, time_range_days=time_range_days,
            total_deployments=data["total_deployments"], successful=data["successful"],
            failed=data["failed"], rolled_back=data["rolled_back"],
            rollback_failed=data["rollback_failed"], interrupted=data["interrupted"],
            success_rate=data["success_rate"],
            average_duration_seconds=data["average_duration_seconds"],
            p95_duration_seconds=data["p95_duration_seconds"])

    @strawberry.field
    async def webhook_events(self, info: Info, limit: int = 50, provider: str | None = None,
                             outcome: WebhookOutcome | None = None) -> list[WebhookEvent]:
        await _require(info, Scope.READ)
        webhooks = api(info).store.webhooks
        rows = await api(info).rows(limit, lambda n: webhooks.list(
            limit=n, provider=provider, outcome=outcome.value if outcome else None),
            top_level=True)
        return [WebhookEvent.of(row) for row in rows]

    @strawberry.field(description="Releases of one environment, newest first.")
    async def releases(self, info: Info, fraise_id: str, environment: str) -> list[Release]:
        await _require(info, Scope.READ)
        api(info).check_target(fraise_id, environment)
        records = await api(info).read(api(info).store.releases.list, fraise_id, environment)
        api(info).charge(len(records))
        return [Release.of(r) for r in records]

    @strawberry.field(description="Recorded runs (ETL scripts, scheduled jobs, backups), "
                      "newest first.")
    async def runs(self, info: Info, fraise_id: str, environment: str | None = None,
                   kind: str | None = None, limit: int = 50) -> list[Run]:
        await _require(info, Scope.READ)
        ctx = api(info)
        ctx.check_target(fraise_id, environment)
        records = await ctx.rows(limit, lambda n: ctx.store.runs.list(
            fraise_id, environment, kind=kind, limit=n), top_level=True)
        return [Run.of(record) for record in records]

    @strawberry.field(description="Attempts at delivering notifications, commit statuses, "
                      "deployments and issues, newest first.")
    async def notification_attempts(self, info: Info,
                                    deployment_id: strawberry.ID | None = None,
                                    channel: str | None = None, status: str | None = None,
                                    limit: int = 50) -> list[NotificationAttempt]:
        await _require(info, Scope.READ)
        wanted = parse_optional_id(deployment_id, "deploymentId")
        notifications = api(info).store.notifications
        rows = await api(info).rows(limit, lambda n: notifications.attempts(
            limit=n, deployment_id=wanted, channel=channel, status=status),
            top_level=True)
        return [NotificationAttempt.of(row) for row in rows]

    @strawberry.field(description="API tokens (never their values). Needs the admin scope.")
    async def api_tokens(self, info: Info) -> list[ApiToken]:
        await _require(info, Scope.ADMIN)
        tokens = await api(info).read(api(info).tokens.list)
        api(info).charge(len(tokens))
        return [ApiToken(name=t.name, scope=t.scope, created_at=t.created_at,
                         last_used_at=t.last_used_at, revoked_at=t.revoked_at)
                for t in tokens]

    @strawberry.field(description="The audit log, newest first: who changed what, from where, "
                      "and the outcome. `before`: an entry id, to page back. Needs the admin "
                      "scope.")
    async def audit_log(self, info: Info, limit: int = 100, before: int | None = None,
                        action: str | None = None) -> list[AuditEntry]:
        await _require(info, Scope.ADMIN)
        audit = api(info).store.audit
        records = await api(info).rows(limit, lambda n: audit.list(
            limit=n, before_id=before, action=action), top_level=True)
        return [AuditEntry.of(record) for record in records]


def _one_id(deployment_id: strawberry.ID | None, id: strawberry.ID | None) -> int:
    """`deploymentId` or its older name `id`: exactly one of the two."""
    if (deployment_id is None) == (id is None):
        raise bad_input("give the deployment as exactly one of deploymentId or id")
    if deployment_id is not None:
        return parse_id(deployment_id, "deploymentId")
    return parse_id(id, "id")  # type: ignore[arg-type]  # not None: checked above


# Each mutation's rules and writes run together, in one call on a database thread.
@strawberry.type
class Mutation:
    @strawberry.mutation(description="Queue a deployment; a worker runs it.")
    async def deploy(self, info: Info, fraise_id: str, environment: str,
                     commit_sha: str | None = None, force: bool = False) -> Deployment:
        from fraisier.engine.service import request_deployment

        principal = await _require(info, Scope.DEPLOY)
        ctx = api(info)
        ctx.check_target(fraise_id, environment)
        if commit_sha is not None and not commit_sha.strip():
            raise bad_input("commitSha must not be empty")
        record = await ctx.read(lambda: request_deployment(
            ctx.store, ctx.config, fraise_id, environment, trigger=Trigger.API,
            commit=commit_sha, force=force, actor=ctx.actor(principal)))
        return Deployment.of(record)

    @strawberry.mutation(description="Cancel a deployment: a queued one never starts; a "
                         "running one is stopped by its worker, which then undoes its completed "
                         "steps (the returned deployment is still RUNNING with "
                         "cancelRequested: true; follow it to see it end). Name it by "
                         "`deploymentId` (or `id`: exactly one of the two).")
    async def cancel_deployment(self, info: Info, deployment_id: strawberry.ID | None = None,
                                id: strawberry.ID | None = None) -> Deployment:
        from fraisier.engine.service import RequestRefused, cancel_deployment

        principal = await _require(info, Scope.DEPLOY)
        key = _one_id(deployment_id, id)
        store, actor = api(info).store, api(info).actor(principal)
        try:
            done = await api(info).read(lambda: cancel_deployment(store, key, actor=actor))
        except RequestRefused as exc:
            raise refused(exc) from None
        return Deployment.of(done.record)

    @strawberry.mutation(description="Queue a new deployment of the same commit as a finished "
                         "one that did not succeed. Name it by `deploymentId` (or `id`: exactly "
                         "one of the two).")
    async def retry_deployment(self, info: Info, deployment_id: strawberry.ID | None = None,
                               id: strawberry.ID | None = None) -> Deployment:
        from fraisier.engine.service import RequestRefused, retry_deployment

        principal = await _require(info, Scope.DEPLOY)
        key = _one_id(deployment_id, id)
        ctx = api(info)

        def retry() -> Any:
            record = _deployment_record(info, key)
            ctx.check_target(record.fraise, record.environment)
            return retry_deployment(ctx.store, ctx.config, key, actor=ctx.actor(principal))

        try:
            return Deployment.of(await ctx.read(retry))
        except RequestRefused as exc:
            raise refused(exc) from None

    @strawberry.mutation(description="Queue a rollback to `toRelease` (a release id, its short "
                         "handle as `fraisier releases` shows it, or a commit prefix of 4+ "
                         "characters; default: the release before the live one); `migrateDown` "
                         "also takes the database back.")
    async def rollback(self, info: Info, fraise_id: str, environment: str,
                       to_release: str | None = None, migrate_down: bool = False) -> Deployment:
        from fraisier.engine.service import RequestRefused, request_rollback

        principal = await _require(info, Scope.DEPLOY)
        ctx = api(info)
        ctx.check_target(fraise_id, environment)
        try:
            record = await ctx.read(lambda: request_rollback(
                ctx.store, ctx.config, fraise_id, environment, to=to_release,
                migrate_down=migrate_down, actor=ctx.actor(principal)))
        except RequestRefused as exc:
            raise refused(exc) from None
        return Deployment.of(record)

    @strawberry.mutation(description="Create an API token. Needs the admin scope.")
    async def create_api_token(self, info: Info, name: str,
                               scope: Scope) -> CreatedApiToken:
        principal = await _require(info, Scope.ADMIN)
        tokens, actor = api(info).tokens, api(info).actor(principal)
        try:
            token = await api(info).read(lambda: tokens.create(name, scope, actor=actor))
        except TokenError as exc:
            raise bad_input(str(exc)) from None
        return CreatedApiToken(name=name, scope=scope, token=token)

    @strawberry.mutation(description="Revoke an API token by name. Needs the admin scope.")
    async def revoke_api_token(self, info: Info, name: str) -> bool:
        principal = await _require(info, Scope.ADMIN)
        tokens, actor = api(info).tokens, api(info).actor(principal)
        if not await api(info).read(lambda: tokens.revoke(name, actor=actor)):
            raise not_found(f"no active token named {name!r}")
        return True


async def _tail(info: Info, after: int | None, **filters: Any) -> OutboxTail:
    """An outbox tail from `after` (default: now), built on a database thread (it reads)."""
    store = api(info).store

    def build() -> OutboxTail:
        start = store.events.last_id() if after is None else max(0, after)
        return OutboxTail(store, after=start, **filters)

    return await api(info).read(build)


async def _target_events(info: Info, type_: EventType, fraise_id: str | None,
                         environment: str | None, after: int | None
                         ) -> AsyncGenerator[dict[str, Any], None]:
    """Outbox events of one type, of one fraise (and environment) when given, live; ends
    with UNAUTHENTICATED when the token is revoked."""
    await _require(info, Scope.READ)
    watch = _watch(info)
    if fraise_id is not None:
        api(info).check_target(fraise_id, environment)
    tail = await _tail(info, after, types=(type_.value,))
    async for event in tail.follow_async(interval=POLL_SECONDS, stop=watch.revoked,
                                         in_thread=in_db_thread):
        if (fraise_id and event["fraise"] != fraise_id) or (
                environment and event["environment"] != environment):
            continue
        yield event
    watch.raise_if_revoked()


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Every status change of a deployment. `after`: the "
                             "last eventId seen, to resume without missing events.")
    async def deployment_status_changed(
            self, info: Info, fraise_id: str | None = None, environment: str | None = None,
            after: int | None = None) -> AsyncGenerator[DeploymentStatusEvent, None]:
        async for event in _target_events(info, EventType.DEPLOYMENT_STATUS, fraise_id,
                                          environment, after):
            payload = event["payload"]
            key = int(event["deployment_id"])
            yield DeploymentStatusEvent(
                event_id=event["id"], id=to_id(key), deployment_id=to_id(key), key=key,
                fraise_id=event["fraise"], environment=event["environment"],
                status=DeploymentStatus(payload["status"]), error_message=payload.get("error"),
                at=event["created_at"])

    @strawberry.subscription(description="Every request to the webhook endpoint.")
    async def webhook_received(self, info: Info, after: int | None = None
                               ) -> AsyncGenerator[WebhookReceivedEvent, None]:
        await _require(info, Scope.READ)
        watch = _watch(info)
        tail = await _tail(info, after, types=(EventType.WEBHOOK_RECEIVED.value,))
        async for event in tail.follow_async(interval=POLL_SECONDS, stop=watch.revoked,
                                             in_thread=in_db_thread):
            payload = event["payload"]
            key = int(payload["webhook_event_id"])
            yield WebhookReceivedEvent(
                event_id=event["id"], id=to_id(key), webhook_event_id=to_id(key), key=key,
                payload=payload, provider=payload.get("provider", ""),
                outcome=WebhookOutcome(payload["outcome"]),
                repository=redact_url(payload.get("repository", "")),
                branch=payload.get("branch"), commit_sha=payload.get("commit_sha"),
                at=event["created_at"])
        watch.raise_if_revoked()

    @strawberry.subscription(description="Every change of a live release's health between "
                             "deployments (health_check.watch_interval). `after`: the last "
                             "eventId seen, to resume without missing events.")
    async def health_changed(
            self, info: Info, fraise_id: str | None = None, environment: str | None = None,
            after: int | None = None) -> AsyncGenerator[HealthChangedEvent, None]:
        async for event in _target_events(info, EventType.HEALTH_CHANGED, fraise_id,
                                          environment, after):
            payload = event["payload"]
            yield HealthChangedEvent(event_id=event["id"], fraise_id=event["fraise"],
                                     environment=event["environment"], ok=bool(payload["ok"]),
                                     detail=payload.get("detail", ""), at=event["created_at"])

    @strawberry.subscription(description="Steps, log lines and status changes of one "
                             "deployment: everything so far (after `after`), then live; ends "
                             "when the deployment ends.")
    async def deployment_logs(self, info: Info, id: strawberry.ID, after: int = 0
                              ) -> AsyncGenerator[DeploymentLogEvent, None]:
        await _require(info, Scope.READ)
        watch = _watch(info)
        key = parse_id(id)
        await api(info).read(_deployment_record, info, key)
        queue = api(info).store.queue

        def finished() -> bool:
            status = queue.status(key)
            return status is None or DeploymentStatus(status) in FINAL_STATUSES

        tail = await _tail(info, after, deployment_id=key)
        async for event in tail.follow_async(
                interval=POLL_SECONDS, stop=lambda: watch.revoked() or finished(),
                in_thread=in_db_thread):
            converted = _log_event(event)
            if converted is None:
                continue
            yield converted
            if converted.status is not None and converted.status in FINAL_STATUSES:
                return
        watch.raise_if_revoked()


def _log_event(event: dict[str, Any]) -> DeploymentLogEvent | None:
    payload = event["payload"]
    common = {"event_id": event["id"], "deployment_id": to_id(int(event["deployment_id"])),
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


class OffLoopSchema(QuietSchema):
    """Executes queries and mutations on the GraphQL loop (api/threads.py), so building a
    large answer never delays the server's own loop (webhooks, /healthz); expected errors
    are logged on one line (QuietSchema)."""

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        return await on_graphql_loop(super().execute(*args, **kwargs))


def build_schema(config: FraisierConfig | None = None) -> strawberry.Schema:
    """The schema with its request bounds (depth, aliases, tokens, rows read) and error
    masking."""
    from strawberry.tools import merge_types

    from fraisier.api.previews import PreviewMutations, PreviewQueries
    from fraisier.config.api import ApiConfig

    limits = config.api if config is not None else ApiConfig()
    return OffLoopSchema(
        query=merge_types("Query", (Query, PreviewQueries)),
        mutation=merge_types("Mutation", (Mutation, PreviewMutations)),
        subscription=Subscription,
        extensions=[
            # Clients repeat the same few documents: parse and validate each once.
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
            lambda: QueryDepthLimiter(max_depth=limits.max_depth),
            lambda: MaxAliasesLimiter(max_alias_count=limits.max_aliases),
            lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
            lambda: RowBudgetExtension(limit=limits.max_rows_per_request),
            lambda: MaskErrors(should_mask_error=should_mask),
        ],
    )
