"""`fraisier cancel` and `fraisier retry`: act on one deployment by id."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click

from fraisier.cli import render
from fraisier.cli.deploy import FOLLOW

if TYPE_CHECKING:
    from fraisier.cli.context import AppContext


@click.command()
@click.argument("deployment_id", type=int)
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Wait until a running deployment has stopped and been compensated.")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait at most.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def cancel(app: AppContext, deployment_id: int, wait: bool, timeout: float, as_json: bool) -> None:
    """Cancel a deployment: a queued one never starts; a running one has its command's process
    group killed by its worker, then its completed steps are undone; one whose process died
    is recovered here. Exits 1 when it is still running after --timeout."""
    backend = app.backend
    _, stopping = backend.cancel(deployment_id)
    if stopping:
        if not as_json:
            click.echo(f"deployment {deployment_id}: cancel requested; its worker stops it")
        deadline = time.monotonic() + timeout
        while wait and time.monotonic() < deadline:
            if not app.remote:
                # Its process may be gone (its lease ran out): then nobody else will stop
                # it, so this process recovers it (a server does so by itself).
                from fraisier.worker.inline import recover_orphans

                recover_orphans(app.store, app.config, deployment_id=deployment_id)
            if backend.deployment(deployment_id).status != "running":
                break
            time.sleep(0.2)
    final = backend.deployment(deployment_id)
    if as_json:
        render.echo_json(final.to_json())
    else:
        render.show_deployment(final)
    if wait and final.status == "running":
        raise click.ClickException(
            f"deployment {deployment_id} is still running after {timeout:g} s: its worker "
            "did not stop it (the cancel stays requested; see the worker's log)")


@click.command()
@click.argument("deployment_id", type=int)
@FOLLOW
@click.option("--json", "as_json", is_flag=True, help="Print the final deployment record as JSON.")
@click.option("--quiet", is_flag=True, help="Show steps but not the commands' output.")
@click.pass_obj
def retry(app: AppContext, deployment_id: int, follow: bool, as_json: bool, quiet: bool) -> None:
    """Deploy again the commit of a deployment that ended without succeeding (a new
    deployment, trigger `retry`)."""
    from fraisier.cli.deploy import LiveProgress, _see_through

    record = app.backend.retry(deployment_id)
    progress = LiveProgress(stderr=as_json, show_output=not quiet)
    progress.out.print(f"deployment {record.id}: retry of {deployment_id}, {record.fraise}/"
                       f"{record.environment} at {render.short(record.commit_sha)}")
    _see_through(app, record, as_json, follow, progress)
