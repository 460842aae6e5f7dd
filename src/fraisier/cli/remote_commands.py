"""The commands that work against a remote server (`fraisier --server URL ...`): the same
options and the same output as local mode, through the GraphQL API."""

from __future__ import annotations

import click

from fraisier.cli import render

DEPLOYMENT_FIELDS = """id fraiseId environment status trigger commitSha branch release
  previousRelease queuedAt startedAt completedAt durationSeconds errorMessage supersededBy retryOf
  steps { position name status startedAt completedAt error compensationStatus compensationError }"""

LOG_EVENTS = """subscription($id: Int!, $after: Int! = 0) { deploymentLogs(id: $id, after: $after) {
  eventId kind line stepPosition stepName stepStatus status errorMessage } }"""


def not_remote(command: str) -> str:
    return (f"`fraisier {command}` is not available with --server: run it on the server, "
            "or without --server / FRAISIER_SERVER")


def _lower(value: str | None) -> str | None:
    return value.lower() if value else value


def to_record(data: dict):
    """A GraphQL Deployment as the DeploymentRecord the local renderers take."""
    from fraisier.store.records import DeploymentRecord, StepRecord

    record = DeploymentRecord(
        id=data["id"], fraise=data["fraiseId"], environment=data["environment"],
        status=_lower(data["status"]), trigger=_lower(data["trigger"]),
        requested_commit=data["commitSha"], commit_sha=data["commitSha"],
        branch=data["branch"], release=data["release"],
        previous_release=data["previousRelease"], force=False, options={},
        queued_at=data["queuedAt"], started_at=data["startedAt"],
        completed_at=data["completedAt"], duration_seconds=data["durationSeconds"],
        error=data["errorMessage"], lease_owner=None, lease_expires_at=None,
        superseded_by=data["supersededBy"], retry_of=data["retryOf"], webhook_event_id=None)
    record.steps = [StepRecord(
        deployment_id=data["id"], position=s["position"], name=s["name"],
        status=_lower(s["status"]), started_at=s["startedAt"], completed_at=s["completedAt"],
        error=s["error"], compensation_status=_lower(s["compensationStatus"]),
        compensation_error=s["compensationError"]) for s in data.get("steps") or []]
    return record


def _deployment(api, deployment_id: int):
    data = api.execute(f"query($id: Int!) {{ deployment(id: $id) {{ {DEPLOYMENT_FIELDS} }} }}",
                       {"id": deployment_id})
    return to_record(data["deployment"])


# -- reads ---------------------------------------------------------------------------------
@click.command()
@click.argument("fraise", required=False)
@click.argument("environment", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--hosts", "per_host", is_flag=True, help="Not available with --server.")
@click.pass_obj
def status(app, fraise: str | None, environment: str | None, as_json: bool,
           per_host: bool) -> None:
    """Show what is live in each environment and how its last deployment went."""
    if per_host:
        raise click.ClickException(not_remote("status --hosts"))
    data = app.remote.execute("""{ fraises { id environments { name branch currentRelease
        currentCommitSha lastDeployment { id status completedAt } } } }""")
    known = {f["id"] for f in data["fraises"]}
    if fraise and fraise not in known:
        raise click.ClickException(f"unknown fraise {fraise!r}")
    entries = []
    for found in data["fraises"]:
        for env in found["environments"]:
            if (fraise and found["id"] != fraise) or (environment and env["name"] != environment):
                continue
            last = env["lastDeployment"] or {}
            entries.append({
                "fraise": found["id"], "environment": env["name"], "branch": env["branch"],
                "current_release": env["currentRelease"],
                "current_commit_sha": env["currentCommitSha"],
                "last_deployment_id": last.get("id"), "last_status": _lower(last.get("status")),
                "last_completed_at": last.get("completedAt"),
            })
    if environment and not entries:
        raise click.ClickException(f"unknown environment {environment!r} for fraise {fraise!r}")
    render.show_status(entries, as_json)


@click.command()
@click.option("--fraise", "fraise", help="Only this fraise.")
@click.option("--env", "environment", help="Only this environment.")
@click.option("--status", "status_", help="Only deployments with this status.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def history(app, fraise, environment, status_, limit: int, as_json: bool) -> None:
    """List deployments, newest first."""
    data = app.remote.execute(
        "query($f: String, $e: String, $s: DeploymentStatus, $l: Int!) {"
        " deploymentHistory(fraiseId: $f, environment: $e, status: $s, limit: $l) {"
        f" {DEPLOYMENT_FIELDS} }} }}",
        {"f": fraise, "e": environment, "s": status_.upper() if status_ else None, "l": limit})
    records = [to_record(d) for d in data["deploymentHistory"]]
    if as_json:
        render.echo_json([r.to_json() for r in records])
        return
    render.table("Deployments", render.DEPLOYMENT_COLUMNS, render.deployment_rows(records))


@click.command()
@click.option("--fraise", "fraise", help="Only this fraise.")
@click.option("--env", "environment", help="Only this environment.")
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 3650))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def stats(app, fraise, environment, days: int, as_json: bool) -> None:
    """Success rate and durations over the last N days."""
    got = app.remote.execute(
        "query($f: String, $e: String, $d: Int!) { deploymentStatistics(fraiseId: $f,"
        " environment: $e, timeRangeDays: $d) { totalDeployments successful failed rolledBack"
        " rollbackFailed interrupted successRate averageDurationSeconds p95DurationSeconds } }",
        {"f": fraise, "e": environment, "d": days})["deploymentStatistics"]
    data = {"fraise": fraise, "environment": environment, "days": days,
            "total_deployments": got["totalDeployments"], "successful": got["successful"],
            "failed": got["failed"], "rolled_back": got["rolledBack"],
            "rollback_failed": got["rollbackFailed"], "interrupted": got["interrupted"],
            "success_rate": got["successRate"],
            "average_duration_seconds": got["averageDurationSeconds"],
            "p95_duration_seconds": got["p95DurationSeconds"]}
    render.show_stats(data, days, as_json)


def _all_logs(api, deployment_id: int) -> list[dict]:
    lines, after = [], 0
    while True:
        page = api.execute("query($id: Int!, $a: Int!) { deployment(id: $id) {"
                           " logs(after: $a, limit: 500) { id loggedAt stream line } } }",
                           {"id": deployment_id, "a": after})["deployment"]["logs"]
        lines += [{"id": r["id"], "logged_at": r["loggedAt"], "stream": r["stream"],
                   "line": r["line"]} for r in page]
        if len(page) < 500:
            return lines
        after = page[-1]["id"]


@click.command()
@click.argument("deployment_id", type=int)
@click.option("--follow", is_flag=True, help="Keep printing steps and output until it ends.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def logs(app, deployment_id: int, follow: bool, as_json: bool) -> None:
    """Print the steps and the output of one deployment."""
    if follow:
        from fraisier.cli.deploy import LiveProgress

        final = follow_deployment(app.remote, deployment_id, LiveProgress(stderr=as_json))
        if as_json:
            render.echo_json(final.to_json())
        else:
            render.show_deployment(final)
        return
    record = _deployment(app.remote, deployment_id)
    lines = _all_logs(app.remote, deployment_id)
    if as_json:
        render.echo_json({"deployment": record.to_json(), "logs": lines})
        return
    render.show_deployment(record)
    for line in lines:
        click.echo(f"{render.when(line['logged_at'])}  {line['line']}")


@click.command()
@click.option("--limit", default=50, show_default=True, type=int)
@click.option("--provider", type=click.Choice(["github", "gitlab", "gitea", "forgejo",
                                               "bitbucket"]))
@click.option("--outcome", type=click.Choice(["queued", "ignored", "duplicate", "rejected",
                                              "pong"]))
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def webhooks(app, limit: int, provider: str | None, outcome: str | None, as_json: bool) -> None:
    """Recent webhook requests and what became of them."""
    found = app.remote.execute(
        "query($l: Int!, $p: String, $o: WebhookOutcome) { webhookEvents(limit: $l,"
        " provider: $p, outcome: $o) { id receivedAt provider eventType deliveryId repository"
        " ref branch tag commitSha sender outcome reason deploymentIds } }",
        {"l": limit, "p": provider, "o": outcome.upper() if outcome else None})["webhookEvents"]
    rows = [{"id": r["id"], "received_at": r["receivedAt"], "provider": r["provider"],
             "event_type": r["eventType"], "delivery_id": r["deliveryId"],
             "repository": r["repository"], "ref": r["ref"], "branch": r["branch"],
             "tag": r["tag"], "commit_sha": r["commitSha"], "sender": r["sender"],
             "outcome": _lower(r["outcome"]), "reason": r["reason"],
             "deployment_ids": r["deploymentIds"]} for r in found]
    render.show_webhook_events(rows, as_json)


# -- changes -------------------------------------------------------------------------------
def follow_deployment(api, deployment_id: int, progress):
    """Print steps and output from the deploymentLogs subscription until the deployment ends;
    return its final record."""
    from fraisier.domain.model import StepStatus

    for data in api.subscribe(LOG_EVENTS, {"id": deployment_id}):
        event = data["deploymentLogs"]
        if event["kind"] == "STEP" and event["stepStatus"]:
            progress.on_step(event["stepPosition"], event["stepName"],
                             StepStatus(event["stepStatus"].lower()), event["errorMessage"])
        elif event["kind"] == "LOG":
            progress.on_log(event["line"])
    return _deployment(api, deployment_id)


def _finish_remote(app, record, as_json: bool, follow: bool, quiet: bool) -> None:
    from fraisier.cli.deploy import LiveProgress

    if not follow:
        if as_json:
            render.echo_json(record.to_json())
        else:
            click.echo(f"deployment {record.id}: queued on the server")
        return
    progress = LiveProgress(stderr=as_json, show_output=not quiet)
    final = follow_deployment(app.remote, record.id, progress)
    if as_json:
        render.echo_json(final.to_json())
    else:
        render.show_deployment(final)
    raise SystemExit(0 if final.status == "succeeded" else 1)


@click.command()
@click.argument("fraise")
@click.argument("environment")
@click.option("--commit", help="Deploy this commit (sha, tag or branch) instead of the branch head.")
@click.option("--force", is_flag=True, help="Deploy even if this commit is already live.")
@click.option("--follow/--no-follow", default=True, show_default=True,
              help="Show the live steps and output until the deployment ends.")
@click.option("--json", "as_json", is_flag=True, help="Print the final deployment record as JSON.")
@click.option("--quiet", is_flag=True, help="Show steps but not the commands' output.")
@click.pass_obj
def deploy(app, fraise, environment, commit, force, follow, as_json, quiet) -> None:
    """Queue FRAISE to ENVIRONMENT on the server and follow it.

    Exits 0 when the deployment succeeded, 1 otherwise."""
    data = app.remote.execute(
        "mutation($f: String!, $e: String!, $c: String, $force: Boolean!) {"
        f" deploy(fraiseId: $f, environment: $e, commitSha: $c, force: $force) {{"
        f" {DEPLOYMENT_FIELDS} }} }}",
        {"f": fraise, "e": environment, "c": commit, "force": force})
    record = to_record(data["deploy"])
    if not as_json:
        click.echo(f"deployment {record.id}: {fraise}/{environment}"
                   + (f" at {commit}" if commit else f" from branch {record.branch}"))
    _finish_remote(app, record, as_json, follow, quiet)


@click.command()
@click.argument("fraise")
@click.argument("environment")
@click.option("--to", "to", help="Release id to go back to (default: the previous one).")
@click.option("--migrate-down", is_flag=True, help="Also run migrate.down of the live release.")
@click.option("--follow/--no-follow", default=True, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the final deployment record as JSON.")
@click.pass_obj
def rollback(app, fraise, environment, to, migrate_down, follow, as_json) -> None:
    """Re-activate a previous good release of FRAISE in ENVIRONMENT, on the server."""
    data = app.remote.execute(
        "mutation($f: String!, $e: String!, $to: String, $down: Boolean!) { rollback("
        f"fraiseId: $f, environment: $e, toRelease: $to, migrateDown: $down) {{"
        f" {DEPLOYMENT_FIELDS} }} }}",
        {"f": fraise, "e": environment, "to": to, "down": migrate_down})
    record = to_record(data["rollback"])
    if not as_json:
        click.echo(f"rollback {record.id}: {fraise}/{environment}" + (f" to {to}" if to else ""))
    _finish_remote(app, record, as_json, follow, False)


@click.command()
@click.argument("deployment_id", type=int)
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Wait until a running deployment has stopped and been compensated.")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait at most.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def cancel(app, deployment_id: int, wait: bool, timeout: float, as_json: bool) -> None:
    """Cancel a deployment on the server: a queued one never starts; a running one is
    stopped by its worker, then its completed steps are undone."""
    import time

    data = app.remote.execute("mutation($id: Int!) { cancelDeployment(id: $id) {"
                              " status cancelRequested } }", {"id": deployment_id})
    if data["cancelDeployment"]["cancelRequested"]:
        if not as_json:
            click.echo(f"deployment {deployment_id}: cancel requested; its worker stops it")
        deadline = time.monotonic() + timeout
        while wait and time.monotonic() < deadline:
            if _deployment(app.remote, deployment_id).status != "running":
                break
            time.sleep(0.2)
    final = _deployment(app.remote, deployment_id)
    if as_json:
        render.echo_json(final.to_json())
    else:
        render.show_deployment(final)


@click.command()
@click.argument("deployment_id", type=int)
@click.option("--follow/--no-follow", default=True, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the final deployment record as JSON.")
@click.option("--quiet", is_flag=True, help="Show steps but not the commands' output.")
@click.pass_obj
def retry(app, deployment_id: int, follow: bool, as_json: bool, quiet: bool) -> None:
    """Deploy again, on the server, the commit of a finished deployment."""
    data = app.remote.execute(f"mutation($id: Int!) {{ retryDeployment(id: $id) {{"
                              f" {DEPLOYMENT_FIELDS} }} }}", {"id": deployment_id})
    record = to_record(data["retryDeployment"])
    if not as_json:
        click.echo(f"deployment {record.id}: retry of {deployment_id}, {record.fraise}/"
                   f"{record.environment} at {render.short(record.commit_sha)}")
    _finish_remote(app, record, as_json, follow, quiet)
