"""Where a command's reads and requests go: the local state database, or a Fraisier server's
GraphQL API (`--server`). Each command is written once (show.py, deploy.py, control.py,
webhooks.py) and asks `app.backend`; both backends hand back the same records, so the
tables and the JSON are the same either way.

Refusals of the rules (engine/service.py locally, the same rules on the server) reach the
user as `Error: ...` and exit status 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, overload

import click

if TYPE_CHECKING:
    from fraisier.cli.context import AppContext
    from fraisier.cli.deploy import LiveProgress
    from fraisier.cli.remote import RemoteApi
    from fraisier.store.health import HealthState
    from fraisier.store.records import DeploymentRecord


class Backend(Protocol):
    def status_entries(self, fraise: str | None, environment: str | None
                       ) -> list[dict[str, Any]]: ...

    def history(self, fraise: str | None, environment: str | None, status: str | None,
                limit: int, with_steps: bool) -> list[DeploymentRecord]: ...

    def stats(self, fraise: str | None, environment: str | None, days: int
              ) -> dict[str, Any]: ...

    def deployment(self, deployment_id: int) -> DeploymentRecord: ...

    def logs(self, deployment_id: int) -> list[dict[str, Any]]: ...

    def webhook_events(self, limit: int, provider: str | None, outcome: str | None
                       ) -> list[dict[str, Any]]: ...

    def deploy(self, fraise: str, environment: str, commit: str | None, force: bool
               ) -> DeploymentRecord: ...

    def rollback(self, fraise: str, environment: str, to: str | None, migrate_down: bool
                 ) -> DeploymentRecord: ...

    def cancel(self, deployment_id: int) -> tuple[DeploymentRecord, bool]:
        """The deployment, and whether it was running (its worker now stops it)."""
        ...

    def retry(self, deployment_id: int) -> DeploymentRecord: ...

    def follow(self, deployment_id: int, progress: LiveProgress) -> DeploymentRecord:
        """Print its steps and output until it ends; its final record."""
        ...

    def see_through(self, record: DeploymentRecord, progress: LiveProgress
                    ) -> DeploymentRecord:
        """What `deploy`, `rollback` and `retry` do after queuing: make sure it runs, and
        follow it to its end."""
        ...


def _refused(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


class LocalBackend:
    """The state database named by fraises.yaml; without a live worker, `deploy`,
    `rollback` and `retry` run the deployment in this process."""

    def __init__(self, app: AppContext):
        self.app = app
        self._since = 0

    # -- reads (the read store: no config sync, no engine import) --------------------
    def status_entries(self, fraise: str | None, environment: str | None
                       ) -> list[dict[str, Any]]:
        app = self.app
        if fraise and fraise not in app.summary.fraises:
            raise click.ClickException(f"unknown fraise {fraise!r}")
        known = {(row["fraise"], row["environment"]): row
                 for row in app.read_store.views.status(fraise, environment)}
        health = app.read_store.health.of([(t.fraise, t.environment)
                                           for t in app.summary.targets])
        entries = []
        for target in app.summary.targets:
            if (fraise and target.fraise != fraise) or (
                    environment and target.environment != environment):
                continue
            entries.append(_status_entry(
                target.fraise, target.environment, target.branch,
                known.get((target.fraise, target.environment), {}),
                health.get((target.fraise, target.environment))))
        entries.extend(_preview_entries(app, fraise, environment, known))
        return entries

    def history(self, fraise: str | None, environment: str | None, status: str | None,
                limit: int, with_steps: bool) -> list[DeploymentRecord]:
        return self.app.read_store.views.history(fraise=fraise, environment=environment,
                                                 status=status, limit=limit,
                                                 with_steps=with_steps)

    def stats(self, fraise: str | None, environment: str | None, days: int
              ) -> dict[str, Any]:
        return self.app.read_store.views.stats(fraise=fraise, environment=environment,
                                               days=days)

    def deployment(self, deployment_id: int) -> DeploymentRecord:
        from fraisier.store import NotFound

        try:
            return self.app.read_store.queue.get(deployment_id)
        except NotFound as exc:
            raise click.ClickException(str(exc)) from exc

    def logs(self, deployment_id: int) -> list[dict[str, Any]]:
        return self.app.read_store.ledger.logs(deployment_id)

    def webhook_events(self, limit: int, provider: str | None, outcome: str | None
                       ) -> list[dict[str, Any]]:
        return self.app.read_store.webhooks.list(limit=limit, provider=provider,
                                                 outcome=outcome)

    # -- requests (engine/service.py) --------------------------------------------------
    def deploy(self, fraise: str, environment: str, commit: str | None, force: bool
               ) -> DeploymentRecord:
        from fraisier.domain.model import Trigger
        from fraisier.engine.service import request_deployment

        app = self.app
        app.target(fraise, environment)
        self._since = app.store.events.last_id()
        return request_deployment(app.store, app.config, fraise, environment,
                                  trigger=Trigger.CLI, commit=commit, force=force)

    def rollback(self, fraise: str, environment: str, to: str | None, migrate_down: bool
                 ) -> DeploymentRecord:
        from fraisier.engine.service import RequestRefused, request_rollback

        app = self.app
        app.target(fraise, environment)
        self._since = app.store.events.last_id()
        try:
            return request_rollback(app.store, app.config, fraise, environment, to=to,
                                    migrate_down=migrate_down)
        except RequestRefused as exc:
            raise _refused(exc) from None

    def cancel(self, deployment_id: int) -> tuple[DeploymentRecord, bool]:
        from fraisier.engine.service import RequestRefused, cancel_deployment

        try:
            cancelled = cancel_deployment(self.app.store, deployment_id)
        except RequestRefused as exc:
            raise _refused(exc) from None
        return cancelled.record, cancelled.stopping

    def retry(self, deployment_id: int) -> DeploymentRecord:
        from fraisier.engine.service import RequestRefused, get_deployment, retry_deployment

        app = self.app
        try:
            old = get_deployment(app.store, deployment_id)
            app.target(old.fraise, old.environment)
            self._since = app.store.events.last_id()
            return retry_deployment(app.store, app.config, deployment_id)
        except RequestRefused as exc:
            raise _refused(exc) from None

    def follow(self, deployment_id: int, progress: LiveProgress) -> DeploymentRecord:
        from fraisier.cli.deploy import follow

        self.deployment(deployment_id)  # a clear error for an unknown id
        return follow(self.app.read_store, deployment_id, progress)

    def see_through(self, record: DeploymentRecord, progress: LiveProgress
                    ) -> DeploymentRecord:
        from fraisier.cli.deploy import roll_back_here, run_or_follow
        from fraisier.domain.model import Trigger

        if record.trigger == Trigger.ROLLBACK.value:
            return roll_back_here(self.app, record, progress)
        return run_or_follow(self.app, record, progress, since=self._since)


DEPLOYMENT_FIELDS = """id fraiseId environment status trigger commitSha branch release
  previousRelease queuedAt startedAt completedAt durationSeconds errorMessage supersededBy retryOf
  steps { position name status startedAt completedAt error compensationStatus compensationError }"""

LOG_EVENTS = """subscription($id: ID!, $after: Int! = 0) { deploymentLogs(id: $id, after: $after) {
  eventId kind line stepPosition stepName stepStatus status errorMessage } }"""


@overload
def _lower(value: str) -> str: ...


@overload
def _lower(value: str | None) -> str | None: ...


def _lower(value: str | None) -> str | None:
    return value.lower() if value else value


def _key(value: str | int | None) -> int | None:
    """An `ID` from an answer (a string on the wire) as the store's integer key."""
    return None if value is None else int(value)


def to_record(data: dict[str, Any]) -> DeploymentRecord:
    """A GraphQL Deployment as the DeploymentRecord the renderers take."""
    from fraisier.store.records import DeploymentRecord, StepRecord

    record = DeploymentRecord(
        id=int(data["id"]), fraise=data["fraiseId"], environment=data["environment"],
        status=_lower(data["status"]), trigger=_lower(data["trigger"]),
        requested_commit=data["commitSha"], commit_sha=data["commitSha"],
        branch=data["branch"], release=data["release"],
        previous_release=data["previousRelease"], force=False, options={},
        queued_at=data["queuedAt"], started_at=data["startedAt"],
        completed_at=data["completedAt"], duration_seconds=data["durationSeconds"],
        error=data["errorMessage"], lease_owner=None, lease_expires_at=None,
        superseded_by=_key(data["supersededBy"]), retry_of=_key(data["retryOf"]),
        webhook_event_id=None)
    record.steps = [StepRecord(
        deployment_id=int(data["id"]), position=s["position"], name=s["name"],
        status=_lower(s["status"]), started_at=s["startedAt"], completed_at=s["completedAt"],
        error=s["error"], compensation_status=_lower(s["compensationStatus"]),
        compensation_error=s["compensationError"]) for s in data.get("steps") or []]
    return record


class RemoteBackend:
    """A Fraisier server's GraphQL API; its workers run what is queued."""

    def __init__(self, api: RemoteApi):
        self.api = api

    def status_entries(self, fraise: str | None, environment: str | None
                       ) -> list[dict[str, Any]]:
        data = self.api.execute("""{ fraises { id environments { name branch currentRelease
            currentCommitSha lastDeployment { id status completedAt }
            health { ok detail checkedAt since } } } }""")
        if fraise and fraise not in {f["id"] for f in data["fraises"]}:
            raise click.ClickException(f"unknown fraise {fraise!r}")
        entries = []
        for found in data["fraises"]:
            for env in found["environments"]:
                if (fraise and found["id"] != fraise) or (
                        environment and env["name"] != environment):
                    continue
                last = env["lastDeployment"] or {}
                entries.append({
                    "fraise": found["id"], "environment": env["name"], "branch": env["branch"],
                    "current_release": env["currentRelease"],
                    "current_commit_sha": env["currentCommitSha"],
                    "last_deployment_id": _key(last.get("id")),
                    "last_status": _lower(last.get("status")),
                    "last_completed_at": last.get("completedAt"),
                    "health": env["health"] and {
                        "ok": env["health"]["ok"], "detail": env["health"]["detail"],
                        "checked_at": env["health"]["checkedAt"],
                        "since": env["health"]["since"]},
                })
        return entries

    def history(self, fraise: str | None, environment: str | None, status: str | None,
                limit: int, with_steps: bool) -> list[DeploymentRecord]:
        data = self.api.execute(
            "query($f: String, $e: String, $s: DeploymentStatus, $l: Int!) {"
            " deploymentHistory(fraiseId: $f, environment: $e, status: $s, limit: $l) {"
            f" {DEPLOYMENT_FIELDS} }} }}",
            {"f": fraise, "e": environment, "s": status.upper() if status else None,
             "l": limit})
        return [to_record(d) for d in data["deploymentHistory"]]

    def stats(self, fraise: str | None, environment: str | None, days: int
              ) -> dict[str, Any]:
        got = self.api.execute(
            "query($f: String, $e: String, $d: Int!) { deploymentStatistics(fraiseId: $f,"
            " environment: $e, timeRangeDays: $d) { totalDeployments successful failed"
            " rolledBack rollbackFailed interrupted successRate averageDurationSeconds"
            " p95DurationSeconds } }", {"f": fraise, "e": environment, "d": days}
        )["deploymentStatistics"]
        return {"fraise": fraise, "environment": environment, "days": days,
                "total_deployments": got["totalDeployments"], "successful": got["successful"],
                "failed": got["failed"], "rolled_back": got["rolledBack"],
                "rollback_failed": got["rollbackFailed"], "interrupted": got["interrupted"],
                "success_rate": got["successRate"],
                "average_duration_seconds": got["averageDurationSeconds"],
                "p95_duration_seconds": got["p95DurationSeconds"]}

    def deployment(self, deployment_id: int) -> DeploymentRecord:
        data = self.api.execute(
            f"query($id: ID!) {{ deployment(id: $id) {{ {DEPLOYMENT_FIELDS} }} }}",
            {"id": deployment_id})
        return to_record(data["deployment"])

    def logs(self, deployment_id: int) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = []
        after = 0
        while True:
            page = self.api.execute(
                "query($id: ID!, $a: Int!) { deployment(id: $id) {"
                " logs(after: $a, limit: 500) { id loggedAt stream line } } }",
                {"id": deployment_id, "a": after})["deployment"]["logs"]
            lines += [{"id": r["id"], "logged_at": r["loggedAt"], "stream": r["stream"],
                       "line": r["line"]} for r in page]
            if len(page) < 500:
                return lines
            after = page[-1]["id"]

    def webhook_events(self, limit: int, provider: str | None, outcome: str | None
                       ) -> list[dict[str, Any]]:
        found = self.api.execute(
            "query($l: Int!, $p: String, $o: WebhookOutcome) { webhookEvents(limit: $l,"
            " provider: $p, outcome: $o) { id receivedAt provider eventType deliveryId"
            " repository ref branch tag commitSha sender outcome reason deploymentIds } }",
            {"l": limit, "p": provider, "o": outcome.upper() if outcome else None}
        )["webhookEvents"]
        return [{"id": int(r["id"]), "received_at": r["receivedAt"], "provider": r["provider"],
                 "event_type": r["eventType"], "delivery_id": r["deliveryId"],
                 "repository": r["repository"], "ref": r["ref"], "branch": r["branch"],
                 "tag": r["tag"], "commit_sha": r["commitSha"], "sender": r["sender"],
                 "outcome": _lower(r["outcome"]), "reason": r["reason"],
                 "deployment_ids": [int(i) for i in r["deploymentIds"]]} for r in found]

    def deploy(self, fraise: str, environment: str, commit: str | None, force: bool
               ) -> DeploymentRecord:
        data = self.api.execute(
            "mutation($f: String!, $e: String!, $c: String, $force: Boolean!) {"
            f" deploy(fraiseId: $f, environment: $e, commitSha: $c, force: $force) {{"
            f" {DEPLOYMENT_FIELDS} }} }}",
            {"f": fraise, "e": environment, "c": commit, "force": force})
        return to_record(data["deploy"])

    def rollback(self, fraise: str, environment: str, to: str | None, migrate_down: bool
                 ) -> DeploymentRecord:
        data = self.api.execute(
            "mutation($f: String!, $e: String!, $to: String, $down: Boolean!) { rollback("
            f"fraiseId: $f, environment: $e, toRelease: $to, migrateDown: $down) {{"
            f" {DEPLOYMENT_FIELDS} }} }}",
            {"f": fraise, "e": environment, "to": to, "down": migrate_down})
        return to_record(data["rollback"])

    def cancel(self, deployment_id: int) -> tuple[DeploymentRecord, bool]:
        data = self.api.execute(
            f"mutation($id: ID!) {{ cancelDeployment(deploymentId: $id) {{ {DEPLOYMENT_FIELDS}"
            " cancelRequested } }", {"id": deployment_id})["cancelDeployment"]
        return to_record(data), bool(data["cancelRequested"])

    def retry(self, deployment_id: int) -> DeploymentRecord:
        data = self.api.execute(f"mutation($id: ID!) {{ retryDeployment(deploymentId: $id) {{"
                                f" {DEPLOYMENT_FIELDS} }} }}", {"id": deployment_id})
        return to_record(data["retryDeployment"])

    def follow(self, deployment_id: int, progress: LiveProgress) -> DeploymentRecord:
        from fraisier.domain.model import StepStatus

        for data in self.api.subscribe(LOG_EVENTS, {"id": deployment_id}):
            event = data["deploymentLogs"]
            if event["kind"] == "STEP" and event["stepStatus"]:
                progress.on_step(event["stepPosition"], event["stepName"],
                                 StepStatus(event["stepStatus"].lower()), event["errorMessage"])
            elif event["kind"] == "LOG":
                progress.on_log(event["line"])
        return self.deployment(deployment_id)

    def see_through(self, record: DeploymentRecord, progress: LiveProgress
                    ) -> DeploymentRecord:
        return self.follow(record.id, progress)


def not_remote(command: str) -> str:
    return (f"`fraisier {command}` is not available with --server: run it on the server, "
            "or without --server / FRAISIER_SERVER")


def _status_entry(fraise: str, environment: str, branch: str, row: Any,
                  health: HealthState | None) -> dict[str, Any]:
    """One row of `fraisier status --json`: what is live, the last deployment, health."""
    return {
        "fraise": fraise, "environment": environment, "branch": branch,
        "current_release": row.get("current_release"),
        "current_commit_sha": row.get("current_commit_sha"),
        "last_deployment_id": row.get("last_deployment_id"),
        "last_status": row.get("last_status"),
        "last_completed_at": row.get("last_completed_at"),
        "health": _health_entry(health),
    }


def _health_entry(state: HealthState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    return {"ok": state.ok, "detail": state.detail, "checked_at": state.checked_at,
            "since": state.since}


def _preview_entries(app: Any, fraise: str | None, environment: str | None,
                     known: dict[tuple[str, str], Any]) -> list[dict[str, Any]]:
    """The open pull-request previews (`pr-<number>`): environments of the state database,
    not of fraises.yaml, shown like the others."""
    entries = []
    for preview in app.read_store.previews.find(fraise=fraise):
        if preview.status == "removed" or (environment and preview.environment != environment):
            continue
        # The health watch looks at configured environments only.
        entries.append(_status_entry(preview.fraise, preview.environment, preview.head_branch,
                                     known.get((preview.fraise, preview.environment), {}),
                                     None))
    return entries
