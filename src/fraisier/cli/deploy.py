"""Commands that change what runs: deploy and rollback."""

from __future__ import annotations

import re
import threading
import time
from types import FrameType
from typing import TYPE_CHECKING

import click

from fraisier.cli import render

if TYPE_CHECKING:
    from fraisier.cli.context import AppContext
    from fraisier.config import FraisierConfig
    from fraisier.domain.model import StepStatus
    from fraisier.store import Store
    from fraisier.store.records import DeploymentRecord


class LiveProgress:
    """Prints each step as it changes (with how long it took), the commands' output, dimmed,
    and a line every STILL_RUNNING_EVERY seconds while a step goes on."""

    STILL_RUNNING_EVERY = 30.0

    def __init__(self, stderr: bool, show_output: bool = True) -> None:
        self.out = render.console(stderr=stderr)
        self.show_output = show_output
        self._started: dict[int, float] = {}
        self._ticker: threading.Event | None = None

    def on_step(self, position: int, name: str, status: StepStatus,
                error: str | None) -> None:
        marks = {"running": "[cyan]…[/cyan]", "succeeded": "[green]✓[/green]",
                 "failed": "[red]✗[/red]", "skipped": "[dim]-[/dim]"}
        if status.value == "running":
            self._started[position] = time.monotonic()
            self.out.print(f"{marks['running']} {name}")
            self._tick(name)
        elif status.value in marks:
            self._stop_ticking()
            started = self._started.pop(position, None)
            took = (f" [dim]({render.seconds(time.monotonic() - started)})[/dim]"
                    if started is not None and status.value != "skipped" else "")
            detail = f" [red]{error}[/red]" if error and status.value == "failed" else ""
            detail = f" [dim]({error})[/dim]" if error and status.value == "skipped" else detail
            self.out.print(f"{marks[status.value]} {name}{took}{detail}")

    def on_log(self, line: str) -> None:
        # The ledger also records a failed step's error and the final outcome as log lines
        # (for `fraisier logs`); here the step line and the summary already say them.
        if not self.show_output or _RESTATED.match(line):
            return
        if "[" not in line:
            self.out.print(f"    [dim]{line}[/dim]", markup=True, highlight=False,
                           soft_wrap=True)
        else:
            self.out.print(f"    {line}", markup=False, highlight=False, soft_wrap=True)

    def _tick(self, name: str) -> None:
        """A long step says it is still going, so a quiet build does not look stuck."""
        self._stop_ticking()
        stop = self._ticker = threading.Event()
        started = time.monotonic()

        def run() -> None:
            while not stop.wait(self.STILL_RUNNING_EVERY):
                self.out.print(f"[dim]… {name} still running "
                               f"({render.seconds(time.monotonic() - started)})[/dim]")

        threading.Thread(target=run, name="progress", daemon=True).start()

    def _stop_ticking(self) -> None:
        if self._ticker is not None:
            self._ticker.set()
            self._ticker = None

    def close(self) -> None:
        self._stop_ticking()


_RESTATED = re.compile(r"^(step \S+ failed: |deployment \d+ \w+: )")


def _run_interruptibly(store: Store, config: FraisierConfig, deployment_id: int,
                       progress: LiveProgress) -> DeploymentRecord:
    """Run here; a first Ctrl-C cancels cleanly (the command is stopped and the completed steps
    are undone), a second one stops at once."""
    import signal
    import threading

    from fraisier.worker.inline import deploy_now

    cancel = threading.Event()

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        progress.out.print("[yellow]cancelling: stopping the running command and undoing the "
                           "completed steps (Ctrl-C again to stop at once)[/yellow]")

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        return deploy_now(store, config, deployment_id, observer=progress, cancel=cancel)
    finally:
        signal.signal(signal.SIGINT, previous)


def _finish(record: DeploymentRecord, as_json: bool, ok: tuple[str, ...] = ("succeeded",)) -> None:
    if as_json:
        render.echo_json(record.to_json())
    else:
        # The steps were shown live: the summary says the outcome, not the steps again.
        render.show_deployment(record, steps=False)
    raise SystemExit(0 if record.status in ok else 1)


FOLLOW = click.option(
    "--follow/--no-follow", default=True, show_default=True,
    help="Follow it until it ends (running it here when no worker is alive), or return as "
         "soon as it is queued.")


def _see_through(app: AppContext, record: DeploymentRecord, as_json: bool, follow: bool,
                 progress: LiveProgress, ok: tuple[str, ...] = ("succeeded",)) -> None:
    """After queuing: follow it to its end and exit 0 when it ends in `ok`, or (with
    --no-follow) say it is queued and exit 0."""
    if not follow:
        if as_json:
            render.echo_json(record.to_json())
        else:
            progress.out.print(f"deployment {record.id}: queued"
                               + ("" if app.remote else "; a worker runs it"))
        raise SystemExit(0)
    final = app.backend.see_through(record, progress)
    # A blue-green hold that took a rollback ends `rolled_back`: traffic is back, as asked.
    _finish(final, as_json, ok=("succeeded", "rolled_back") if final.id != record.id else ok)


@click.command()
@click.argument("fraise")
@click.argument("environment")
@click.option("--commit", help="Deploy this commit (sha, tag or branch) instead of the branch head.")
@click.option("--force", is_flag=True, help="Deploy even if this commit is already live.")
@FOLLOW
@click.option("--json", "as_json", is_flag=True, help="Print the final deployment record as JSON.")
@click.option("--quiet", is_flag=True, help="Show steps but not the commands' output.")
@click.pass_obj
def deploy(app: AppContext, fraise: str, environment: str, commit: str | None, force: bool,
           follow: bool, as_json: bool, quiet: bool) -> None:
    """Deploy FRAISE to ENVIRONMENT now, with live step progress.

    Exits 0 when the deployment succeeded, 1 otherwise."""
    record = app.backend.deploy(fraise, environment, commit, force)
    progress = LiveProgress(stderr=as_json, show_output=not quiet)
    progress.out.print(f"deployment {record.id}: {fraise}/{environment}"
                       + (f" at {commit}" if commit else f" from branch {record.branch}"))
    _see_through(app, record, as_json, follow, progress)


def run_or_follow(app: AppContext, record: DeploymentRecord, progress: LiveProgress, *,
                  since: int = 0) -> DeploymentRecord:
    """With a live worker, leave the queued deployment to it and follow its events; without
    one, run it right here."""
    from fraisier.store import Conflict
    from fraisier.worker.inline import recover_orphans

    store = app.store
    try:
        if store.workers.alive():
            progress.out.print("[dim]a worker is running: queued for it, following[/dim]")
            return follow(store, record.id, progress, since=since)
        # No worker to notice a deployment whose process died (e.g. `fraisier deploy ... |
        # head`): recover it here, so it does not keep its environment blocked.
        for orphan in recover_orphans(store, app.config):
            progress.out.print(f"[yellow]deployment {orphan.id} ({orphan.fraise}/"
                               f"{orphan.environment}) had lost its process: recovered, "
                               f"{orphan.status}[/yellow]")
        return _run_interruptibly(store, app.config, record.id, progress)
    except Conflict as exc:
        store.queue.cancel_queued(record.id)
        holders = store.queue.running(record.fraise, record.environment)
        held = (f" (deployment {holders[0].id}, lease until {holders[0].lease_expires_at})"
                if holders else "")
        raise click.ClickException(
            f"{record.fraise}/{record.environment} already has a deployment running{held};"
            " try again when it ends (if its process died, the next command after its lease"
            " runs out recovers it, or `fraisier cancel` it)") from exc
    finally:
        progress.close()


def follow(store: Store, deployment_id: int, progress: LiveProgress, *, since: int = 0,
           poll: float = 0.2) -> DeploymentRecord:
    """Print a deployment's steps and output from the event outbox until it is final."""
    from fraisier.domain.model import ACTIVE_STATUSES, EventType, StepStatus
    from fraisier.store.tail import OutboxTail

    def finished() -> bool:
        return store.queue.get(deployment_id, with_steps=False).status not in ACTIVE_STATUSES

    tail = OutboxTail(store, after=since, deployment_id=deployment_id)
    for event in tail.follow(interval=poll, stop=finished):
        payload = event["payload"]
        if event["type"] == EventType.DEPLOYMENT_STEP and "status" in payload:
            progress.on_step(payload["position"], payload["name"],
                             StepStatus(payload["status"]), payload.get("error"))
        elif event["type"] == EventType.DEPLOYMENT_LOG:
            progress.on_log(payload["line"])
    return store.queue.get(deployment_id)


@click.command()
@click.argument("fraise")
@click.argument("environment")
@click.option("--to", "to", help="Release id or commit prefix (4+ characters) to go back to "
              "(default: the newest good release older than the live one).")
@click.option("--migrate-down", is_flag=True, help="Also take the database back.")
@FOLLOW
@click.option("--json", "as_json", is_flag=True, help="Print the final deployment record as JSON.")
@click.option("--quiet", is_flag=True, help="Show steps but not the commands' output.")
@click.pass_obj
def rollback(app: AppContext, fraise: str, environment: str, to: str | None, migrate_down: bool,
             follow: bool, as_json: bool, quiet: bool) -> None:
    """Re-activate a previous good release of FRAISE in ENVIRONMENT, restart, health-check."""
    record = app.backend.rollback(fraise, environment, to, migrate_down)
    progress = LiveProgress(stderr=as_json, show_output=not quiet)
    progress.out.print(f"rollback {record.id}: {fraise}/{environment}"
                       + (f" to {to}" if to else ""))
    _see_through(app, record, as_json, follow, progress)


def roll_back_here(app: AppContext, record: DeploymentRecord,
                   progress: LiveProgress) -> DeploymentRecord:
    """Run a queued rollback in this process; when another deployment holds the environment,
    wait behind it (or let a blue-green hold take it)."""
    from fraisier.store import Conflict

    try:
        return _run_interruptibly(app.store, app.config, record.id, progress)
    except Conflict:
        return _rollback_when_free(app.store, app.config, record, progress)


def _rollback_when_free(store: Store, config: FraisierConfig, record: DeploymentRecord,
                        progress: LiveProgress) -> DeploymentRecord:
    """Another deployment holds the environment. The rollback stays queued: a blue-green
    deployment in its hold takes it at once (it switches traffic back and retires the
    request); otherwise it runs here as soon as the environment is free, or a worker runs it."""
    import time

    from fraisier.store import Conflict

    holders = store.queue.running(record.fraise, record.environment)
    holder = holders[0].id if holders else None
    progress.out.print(f"deployment {holder} is running on {record.fraise}/"
                       f"{record.environment}; rollback {record.id} is queued behind it")
    while True:
        current = store.queue.get(record.id, with_steps=False)
        if current.status != "queued":
            break
        try:
            return _run_interruptibly(store, config, record.id, progress)
        except Conflict:
            time.sleep(0.5)
    if current.status == "cancelled" and holder is not None:
        # Retired by the holding deployment, which switches back as its own rollback: its
        # record is the one that tells what happened.
        progress.out.print(f"deployment {holder} took rollback {record.id} during its hold")
        return follow(store, holder, progress)
    return follow(store, record.id, progress)
