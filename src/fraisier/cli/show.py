"""Read-only commands: list, status, history, stats, logs, releases."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from fraisier.cli import render
from fraisier.domain.model import DeploymentStatus

if TYPE_CHECKING:
    from fraisier.cli.context import AppContext


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def list_fraises(app: AppContext, as_json: bool) -> None:
    """List the configured fraises and their environments."""
    targets = app.summary.targets
    if as_json:
        render.echo_json([{
            "fraise": t.fraise, "environment": t.environment, "type": t.type,
            "branch": t.branch, "app_path": t.app_path, "repository": t.repository,
            "description": t.description,
        } for t in targets])
        return
    render.table("Fraises", ["fraise", "type", "env", "branch", "app path"],
                 [[t.fraise, t.type, t.environment, t.branch, t.app_path]
                  for t in targets])


@click.command()
@click.argument("fraise", required=False)
@click.argument("environment", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--hosts", "per_host", is_flag=True,
              help="Per-host (or per-slot) state of FRAISE ENVIRONMENT.")
@click.pass_obj
def status(app: AppContext, fraise: str | None, environment: str | None, as_json: bool,
           per_host: bool = False) -> None:
    """Show what is live in each environment and how its last deployment went."""
    if per_host and app.remote is not None:
        from fraisier.cli.backends import not_remote

        raise click.ClickException(not_remote("status --hosts"))
    if per_host:
        from fraisier.cli.hosts import show_hosts

        return show_hosts(app, fraise, environment, as_json)
    entries = app.backend.status_entries(fraise, environment)
    if environment and not entries:
        raise click.ClickException(f"unknown environment {environment!r} for fraise {fraise!r}")
    render.show_status(entries, as_json)


# A status that does not exist is an error, not an empty table.
DEPLOYMENT_STATUSES = [status.value for status in DeploymentStatus]


@click.command()
@click.option("--fraise", "fraise", help="Only this fraise.")
@click.option("--env", "environment", help="Only this environment.")
@click.option("--status", "status_", type=click.Choice(DEPLOYMENT_STATUSES),
              help="Only deployments with this status.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def history(app: AppContext, fraise: str | None, environment: str | None,
            status_: str | None, limit: int, as_json: bool) -> None:
    """List deployments, newest first."""
    records = app.backend.history(fraise, environment, status_, limit, with_steps=as_json)
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
def stats(app: AppContext, fraise: str | None, environment: str | None, days: int,
          as_json: bool) -> None:
    """Success rate and durations over the last N days."""
    data = app.backend.stats(fraise, environment, days)
    render.show_stats(data, days, as_json)


@click.command()
@click.argument("deployment_id", type=int)
@click.option("--follow", is_flag=True, help="Keep printing steps and output until it ends.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def logs(app: AppContext, deployment_id: int, follow: bool, as_json: bool) -> None:
    """Print the steps and the output of one deployment."""
    backend = app.backend
    if follow:
        from fraisier.cli.deploy import LiveProgress

        final = backend.follow(deployment_id, LiveProgress(stderr=as_json))
        if as_json:
            render.echo_json(final.to_json())
        else:
            render.show_deployment(final)
        return
    record = backend.deployment(deployment_id)
    lines = backend.logs(deployment_id)
    if as_json:
        render.echo_json({"deployment": record.to_json(), "logs": lines})
        return
    render.show_deployment(record)
    for line in lines:
        click.echo(f"{render.when(line['logged_at'])}  {line['line']}")


@click.command()
@click.argument("fraise")
@click.argument("environment")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def releases(app: AppContext, fraise: str, environment: str, as_json: bool) -> None:
    """List the releases of an environment, newest first."""
    from fraisier.engine.layout import Layout

    target = app.summary_target(fraise, environment)
    live = Layout(Path(target.app_path)).current_release_id()
    records = app.read_store.releases.list(fraise, environment)
    if as_json:
        render.echo_json([dict(r.to_json(), live=r.release_id == live) for r in records])
        return
    render.table(f"Releases of {fraise}/{environment}", ["release", "commit", "status", "live",
                                                        "created", "deployment"],
                 [[render.release_label(r.release_id), render.short(r.commit_sha),
                   render.styled(r.status),
                   "*" if r.release_id == live else "", render.when(r.created_at),
                   str(r.deployment_id or "-")] for r in records])
