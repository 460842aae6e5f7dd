"""`fraisier notify test`, `fraisier notifications` (the delivery attempts) and `fraisier
notifier` (the notifier alone, when no worker runs on this machine)."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING, Any

import click

from fraisier.cli import render
from fraisier.cli.serve import log_format_option

if TYPE_CHECKING:
    from fraisier.cli.context import AppContext


@click.group()
def notify() -> None:
    """Notification channels."""


@notify.command("test")
@click.argument("channel", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def test(app: Any, channel: str | None, as_json: bool) -> None:
    """Send a test message to CHANNEL (default: every channel) and print what it answered.
    Exits 1 when a channel did not take it."""
    from fraisier.notify.notifier import test_channel

    try:
        answers = test_channel(app.config, channel)
    except KeyError as exc:
        raise click.ClickException(str(exc.args[0])) from exc
    if not answers:
        raise click.ClickException("no notification channel is configured "
                                   "(see docs/notifications.md)")
    if as_json:
        render.echo_json(answers)
    else:
        for answer in answers:
            verdict = "delivered" if answer["ok"] else "FAILED"
            http = f" HTTP {answer['http_status']}" if answer["http_status"] else ""
            detail = f": {answer['error']}" if answer["error"] else ""
            click.echo(f"{answer['channel']} ({answer['scheme']}): {verdict}{http} in "
                       f"{answer['duration_seconds']:.2f}s{detail}")
    raise SystemExit(0 if all(a["ok"] for a in answers) else 1)


@click.command()
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--deployment", "deployment_id", type=int, help="Only this deployment's.")
@click.option("--channel", help="Only this channel's (a name, or e.g. github:status).")
@click.option("--status", type=click.Choice(["delivered", "failed", "gave_up", "skipped"]))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def notifications(app: AppContext, limit: int, deployment_id: int | None, channel: str | None,
                  status: str | None, as_json: bool) -> None:
    """Delivery attempts of notifications, commit statuses and issues, newest first."""
    rows = app.read_store.notifications.attempts(limit=limit, deployment_id=deployment_id,
                                                 channel=channel, status=status)
    if as_json:
        render.echo_json(rows)
        return
    render.table("Notification attempts",
                 ["#", "when", "channel", "event", "deployment", "try", "status", "HTTP",
                  "took", "error / next retry"],
                 [[str(r["id"]), render.when(r["created_at"]), r["channel"], r["event"],
                   str(r["deployment_id"] or ""), str(r["attempt"]),
                   r["status"],
                   str(r["http_status"] or ""), render.seconds(r["duration_seconds"]),
                   (r["error"] or "")[:80]
                   + (f" (retry {render.when(r['next_retry_at'])})" if r["next_retry_at"]
                      else "")]
                  for r in rows])


@click.command()
@log_format_option
@click.pass_obj
def notifier(app: Any, log_format: str) -> None:
    """Deliver notifications from the state database until SIGTERM/SIGINT (for machines
    where no worker runs, or a notifier of its own)."""
    from fraisier.cli.serve import _logging
    from fraisier.notify.notifier import Notifier

    _logging(log_format)
    running = Notifier(app.config, app.store)

    def stop(signum: int, frame: Any) -> None:
        running.stop_thread(timeout=0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo("notifier running (Ctrl-C to stop)", err=True)
    running.run()
