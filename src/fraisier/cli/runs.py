"""Commands for runs outside deployments: run (an ETL script or a job), runs, jobs, scheduler."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import click

from fraisier.cli import render

if TYPE_CHECKING:
    from fraisier.cli.context import AppContext
    from fraisier.store.runs import RunRecord

RUN_COLUMNS = ["id", "target", "name", "trigger", "status", "exit", "started", "took", "error"]


def _run_rows(records: Iterable[RunRecord]) -> list[list[str]]:
    return [[str(r.id), f"{r.fraise}/{r.environment}", r.name, r.trigger,
             render.styled(r.status), "-" if r.exit_code is None else str(r.exit_code),
             render.when(r.started_at), render.seconds(r.duration_seconds),
             (r.error or "")[:60]] for r in records]


def _run_line(record: RunRecord) -> str:
    """What `fraisier run` says of each run after the output: one line (`fraisier runs`
    has the table)."""
    status = click.style(record.status, fg="green" if record.status == "succeeded" else "red")
    exit_code = "-" if record.exit_code is None else record.exit_code
    line = (f"run {record.id} {record.fraise}/{record.environment} {record.name}: {status}"
            f" (exit {exit_code}, {render.seconds(record.duration_seconds)})")
    return f"{line}: {render.one_line(record.error)}" if record.error else line


@click.command(name="run")
@click.argument("fraise")
@click.argument("environment")
@click.argument("job", required=False)
@click.option("--trigger", type=click.Choice(["cli", "schedule"]), default="cli", hidden=True)
@click.option("--json", "as_json", is_flag=True, help="Print the run record as JSON.")
@click.pass_obj
def run_command(app: AppContext, fraise: str, environment: str, job: str | None, trigger: str,
                as_json: bool) -> None:
    """Run the ETL script of FRAISE (or its JOB) on the active release, without deploying.

    The run is recorded (see `fraisier runs`). Exits 0 when it succeeded."""
    from fraisier.kinds.etl import NoActiveRelease, run_etl
    from fraisier.store import Conflict

    def echo(line: str) -> None:
        # The script's lines as it wrote them (stderr with --json, which owns stdout).
        click.echo(line, err=as_json)

    name = f"{fraise}/{environment}"
    try:
        if job is None:
            # The script's view comes from the configuration cache when it can: no models.
            record = run_etl(app.store, app.script_target(fraise, environment),
                             trigger=trigger, on_line=echo)
            followers: list[RunRecord] = []
        else:
            from fraisier.kinds.jobs import jobs_of, run_dependents, run_job

            target = app.resolved_target(fraise, environment)
            jobs = jobs_of(target)
            if job not in jobs:
                known = ", ".join(jobs) or "none"
                raise click.ClickException(f"{target.name} has no job {job!r} (jobs: {known})")
            record = run_job(app.store, target, jobs[job], trigger=trigger, on_line=echo)
            followers = (run_dependents(app.store, target, job, on_line=echo)
                         if record.status == "succeeded" else [])
    except NoActiveRelease as exc:
        raise click.ClickException(str(exc)) from exc
    except Conflict as exc:
        raise click.ClickException(f"{job or 'the script'} of {name} is already running")\
            from exc
    if as_json:
        render.echo_json(record.to_json())
    else:
        for done in (record, *followers):
            click.echo(_run_line(done))
    ok = record.status == "succeeded" and all(r.status == "succeeded" for r in followers)
    raise SystemExit(0 if ok else 1)


@click.command()
@click.argument("fraise")
@click.argument("environment", required=False)
@click.option("--job", "name", help="Only runs of this job.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500),
              help="How many runs, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def runs(app: AppContext, fraise: str, environment: str | None, name: str | None, limit: int,
         as_json: bool) -> None:
    """Recorded runs of ETL scripts, jobs and backups of FRAISE, newest first."""
    if environment:
        app.target(fraise, environment)
    records = app.store.runs.list(fraise, environment, name=name, limit=limit)
    if as_json:
        render.echo_json([r.to_json() for r in records])
    else:
        render.table(f"runs of {fraise}", RUN_COLUMNS, _run_rows(records))


@click.command()
@click.argument("fraise", required=False)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def jobs(app: AppContext, fraise: str | None, as_json: bool) -> None:
    """Scheduled jobs with their last run, its result, and the next run time (UTC)."""
    from fraisier.kinds.scheduler import job_overview

    if fraise and fraise not in app.config.fraises:
        raise click.ClickException(f"unknown fraise {fraise!r}")
    rows = job_overview(app.store, app.config, fraise)
    if as_json:
        render.echo_json(rows)
        return
    render.table("jobs", ["fraise", "env", "job", "schedule", "backend", "last run", "result",
                          "next run"],
                 [[r["fraise"], r["environment"], r["job"], _when_it_runs(r), r["scheduler"],
                   render.when(r["last_run"]), render.styled(r["last_status"]),
                   render.when(r["next_run"])] for r in rows])


def _when_it_runs(row: dict[str, Any]) -> str:
    parts = [row["schedule"]] if row["schedule"] else []
    if row["depends_on"]:
        parts.append("after " + ", ".join(row["depends_on"]))
    return "; ".join(parts) or "manual"


@click.command()
@click.option("--poll", default=10.0, show_default=True, help="Seconds between checks.")
@click.option("--once", is_flag=True,
              help="Run what fell due since each job's last recorded run, then exit.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None,
              help="Log to stderr (one line per run; `json`: one JSON object per line) "
                   "instead of printing the jobs' output.")
@click.pass_obj
def scheduler(app: AppContext, poll: float, once: bool, log_format: str | None) -> None:
    """Run the jobs of `scheduler: builtin` environments when they are due (UTC)."""
    import logging
    import signal
    import threading

    from fraisier.kinds.scheduler import Scheduler

    out = render.console()
    if log_format is not None:
        from fraisier.logformat import configure_logging

        configure_logging("json" if log_format == "json" else "text")
        job_log = logging.getLogger("fraisier.scheduler")

        def on_line(line: str) -> None:
            job_log.info(line)
    else:
        def on_line(line: str) -> None:
            out.print(line, markup=False, highlight=False)
    sched = Scheduler(app.store, app.config, on_line=on_line)
    if once:
        sched.run_pending()
        sched.close()
        return
    from fraisier.reloader import ConfigReloader

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    # SIGHUP, or an edit of fraises.yaml or .env, reloads the configuration.
    reloader = ConfigReloader(app.config, app.store, role="scheduler")
    reloader.listeners.append(lambda new: setattr(sched, "config", new))
    signal.signal(signal.SIGHUP, lambda *_: reloader.request())
    reloader.start(stop)
    on_line(f"scheduler running (poll every {poll}s); Ctrl-C to stop")
    sched.run_forever(stop, poll_seconds=poll)
