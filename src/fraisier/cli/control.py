"""`fraisier cancel` and `fraisier retry`: act on one deployment by id."""

from __future__ import annotations

import time

import click

from fraisier.cli import render


def refused(exc: Exception) -> click.ClickException:
    """A refusal of the rules in engine/service.py, as the CLI says it."""
    return click.ClickException(str(exc))


@click.command()
@click.argument("deployment_id", type=int)
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Wait until a running deployment has stopped and been compensated.")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait at most.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def cancel(app, deployment_id: int, wait: bool, timeout: float, as_json: bool) -> None:
    """Cancel a deployment: a queued one never starts; a running one has its command's process
    group killed by its worker, then its completed steps are undone."""
    from fraisier.engine.service import RequestRefused, cancel_deployment

    store = app.store
    try:
        cancelled = cancel_deployment(store, deployment_id)
    except RequestRefused as exc:
        raise refused(exc) from None
    if cancelled.stopping:
        if not as_json:
            click.echo(f"deployment {deployment_id}: cancel requested; its worker stops it")
        deadline = time.monotonic() + timeout
        while wait and time.monotonic() < deadline:
            if store.queue.get(deployment_id, with_steps=False).status != "running":
                break
            time.sleep(0.2)
    final = store.queue.get(deployment_id)
    if as_json:
        render.echo_json(final.to_json())
    else:
        render.show_deployment(final)


@click.command()
@click.argument("deployment_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the final deployment record as JSON.")
@click.option("--quiet", is_flag=True, help="Show steps but not the commands' output.")
@click.pass_obj
def retry(app, deployment_id: int, as_json: bool, quiet: bool) -> None:
    """Deploy again the commit of a finished deployment (a new deployment, trigger `retry`)."""
    from fraisier.cli.deploy import LiveProgress, _finish, run_or_follow
    from fraisier.engine.service import RequestRefused, get_deployment, retry_deployment

    store = app.store
    try:
        old = get_deployment(store, deployment_id)
        app.target(old.fraise, old.environment)
        since = store.events.last_id()
        record = retry_deployment(store, app.config, deployment_id)
    except RequestRefused as exc:
        raise refused(exc) from None
    progress = LiveProgress(stderr=as_json, show_output=not quiet)
    progress.out.print(f"deployment {record.id}: retry of {old.id}, {old.fraise}/"
                       f"{old.environment} at {render.short(record.requested_commit)}")
    _finish(run_or_follow(app, record, progress, since=since), as_json)
