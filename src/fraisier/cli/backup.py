"""`fraisier backup run|list|restore`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import click

from fraisier.cli import render

if TYPE_CHECKING:
    from fraisier.cli.context import AppContext
    from fraisier.store.runs import BackupRecord


@click.group()
def backup() -> None:
    """Take, list and restore backups of backup fraises (and backup_before_deploy)."""


@backup.command(name="run")
@click.argument("fraise")
@click.argument("environment")
@click.argument("job", required=False)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def run_backup(app: AppContext, fraise: str, environment: str, job: str | None,
               as_json: bool) -> None:
    """Take a backup now: JOB, or every backup job of FRAISE. Exits 1 if one failed."""
    from fraisier.kinds.backup_step import pre_deploy_jobs
    from fraisier.kinds.backups import take_backup
    from fraisier.kinds.jobs import run_dependents
    from fraisier.store import Conflict

    target = app.resolved_target(fraise, environment)
    jobs = pre_deploy_jobs(target)
    if job is not None:
        if job not in jobs:
            raise click.ClickException(
                f"{target.name} has no backup job {job!r} (jobs: {', '.join(jobs) or 'none'})")
        jobs = {job: jobs[job]}
    if not jobs:
        raise click.ClickException(f"{target.name} has no backup jobs")
    out = render.console(stderr=as_json)
    records = []
    for name, config in jobs.items():
        try:
            records.append(take_backup(app.store, target, name, config, trigger="cli",
                                       log=lambda line: out.print(line, markup=False)))
        except Conflict as exc:
            raise click.ClickException(f"backup {name} of {target.name} is already running") \
                from exc
    # Jobs with `depends_on` this backup run after each good one, as after a scheduled backup.
    followers = [follower for record in records if record.status == "good"
                 for follower in run_dependents(app.store, target, record.job,
                                                on_line=lambda line: out.print(line,
                                                                               markup=False))]
    if as_json:
        render.echo_json([r.to_json() for r in records])
    else:
        _table(records)
    ok = all(r.status == "good" for r in records) and all(
        f.status == "succeeded" for f in followers)
    raise SystemExit(0 if ok else 1)


def _table(records: Iterable[BackupRecord]) -> None:
    render.table(None, ["id", "job", "kind", "status", "taken", "size", "verified", "synced",
                        "path", "error"],
                 [[str(r.id), r.job, r.kind, render.styled(r.status), render.when(r.started_at),
                   "-" if r.size_bytes is None else f"{r.size_bytes:,}", r.verified or "-",
                   r.synced or "-", r.path or "-", (r.error or "")[:60]] for r in records])


@backup.command(name="list")
@click.argument("fraise")
@click.argument("environment")
@click.option("--job", help="Only backups of this job.")
@click.option("--all", "show_all", is_flag=True, help="Include failed and pruned backups.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_backups(app: AppContext, fraise: str, environment: str, job: str | None, show_all: bool,
                 as_json: bool) -> None:
    """Backups of FRAISE in ENVIRONMENT, newest first (good ones unless --all)."""
    app.target(fraise, environment)
    records = app.store.backups.list(fraise, environment, job=job,
                                     status=None if show_all else "good")
    if as_json:
        render.echo_json([r.to_json() for r in records])
    else:
        _table(records)


@backup.command(name="restore")
@click.argument("fraise")
@click.argument("environment")
@click.argument("backup_id", type=int)
@click.option("--to", "to", required=True,
              help="Database to restore into: postgresql://... or sqlite:///path.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Restore even over a database that is not empty.")
@click.pass_obj
def restore(app: AppContext, fraise: str, environment: str, backup_id: int, to: str, yes: bool,
            force: bool) -> None:
    """Restore backup BACKUP_ID into the database given by --to."""
    from fraisier.kinds.backups import BackupError, restore_backup
    from fraisier.kinds.libpq import redact

    app.target(fraise, environment)
    record = app.store.backups.get(backup_id)
    if record is None or (record.fraise, record.environment) != (fraise, environment):
        raise click.ClickException(f"no backup {backup_id} for {fraise}/{environment}")
    if not yes:
        click.confirm(f"Restore backup {backup_id} ({record.job}, {render.when(record.started_at)})"
                      f" into {redact(to)}?", abort=True)
    out = render.console()
    try:
        restore_backup(record, to, force=force, log=lambda line: out.print(line, markup=False))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored backup {backup_id} into {redact(to)}")
