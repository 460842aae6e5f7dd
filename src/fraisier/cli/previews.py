"""`fraisier previews` and `fraisier preview destroy`: the pull-request previews of the
local state database, through the same rules as webhooks and the API
(fraisier.previews.service)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from fraisier.cli import render

if TYPE_CHECKING:
    from fraisier.cli.context import AppContext


@click.command()
@click.argument("fraise", required=False)
@click.option("--all", "include_removed", is_flag=True, help="Include removed previews.")
@click.option("--json", "as_json", is_flag=True, help="Print the previews as JSON.")
@click.pass_obj
def previews(app: AppContext, fraise: str | None, include_removed: bool, as_json: bool) -> None:
    """List the previews of pull requests: open ones (active, or being removed), with
    --all also removed ones and why."""
    from fraisier.previews.service import list_previews

    found = list_previews(app.store, fraise=fraise, include_removed=include_removed)
    if as_json:
        render.echo_json([preview.as_dict() for preview in found])
        return
    if not found:
        click.echo("no previews" + ("" if include_removed else " open (--all shows removed ones)"))
        return
    render.table(None, ["fraise", "environment", "status", "url", "port", "database", "commit",
                        "updated", "reason"],
                 [[p.fraise, p.environment, p.status, p.url or "-", str(p.port),
                   p.database or "-", p.head_sha[:12], render.when(p.updated_at),
                   p.reason or "-"] for p in found])


@click.group()
def preview() -> None:
    """Act on one pull request's preview."""


@preview.command()
@click.argument("fraise")
@click.argument("number", type=click.IntRange(min=1))
@click.option("--follow/--no-follow", default=True, show_default=True,
              help="Follow the removal until it ends (running it here when no worker is "
                   "alive), or return as soon as it is queued.")
@click.option("--json", "as_json", is_flag=True, help="Print the final deployment as JSON.")
@click.pass_obj
def destroy(app: AppContext, fraise: str, number: int, follow: bool, as_json: bool) -> None:
    """Remove the preview of pull request NUMBER of FRAISE: stop it, drop its database,
    delete its releases and directory (its history is kept). Exits 1 if that failed."""
    from fraisier.cli.deploy import LiveProgress, _see_through
    from fraisier.engine.service import RequestRefused
    from fraisier.previews.service import destroy as destroy_preview

    try:
        deployment_id = destroy_preview(app.store, app.config, fraise, number)
    except RequestRefused as exc:
        raise click.ClickException(str(exc)) from exc
    record = app.store.queue.get(deployment_id, with_steps=False)
    progress = LiveProgress(stderr=as_json, show_output=True)
    progress.out.print(f"deployment {record.id}: removing {fraise}/pr-{number}")
    _see_through(app, record, as_json, follow, progress)
