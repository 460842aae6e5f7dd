"""The jobs of one target, whatever their origin: `jobs` of a scheduled fraise, and `backups`
that carry a `schedule`. Both backends (systemd, builtin) and `fraisier run` use this list."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fraisier.config.commands import CommandSpec
from fraisier.config.kinds import BackupJobConfig
from fraisier.domain.cron import CronSchedule, parse_cron
from fraisier.kinds.runs import (
    LineCallback,
    active_release_dir,
    execute_run,
    recorded_run,
    start_run,
    target_env,
)

if TYPE_CHECKING:
    from fraisier.config.resolve import Target
    from fraisier.store import Store
    from fraisier.store.runs import RunRecord


@dataclass(frozen=True)
class JobSpec:
    name: str
    kind: str  # "job" or "backup"
    schedule: CronSchedule | None
    timeout: float
    depends_on: tuple[str, ...] = ()
    command: CommandSpec | None = None
    backup: BackupJobConfig | None = None


def jobs_of(target: Target) -> dict[str, JobSpec]:
    found: dict[str, JobSpec] = {}
    for name, job in target.kind.jobs.items():
        found[name] = JobSpec(name, "job", parse_cron(job.schedule) if job.schedule else None,
                              job.timeout or target.timeout, tuple(job.depends_on),
                              command=job.command)
    followed = {dep for job in target.kind.jobs.values() for dep in job.depends_on}
    for name, backup in target.kind.backups.items():
        if (backup.schedule or name in followed) and name not in found:
            found[name] = JobSpec(name, "backup",
                                  parse_cron(backup.schedule) if backup.schedule else None,
                                  backup.timeout or target.timeout, backup=backup)
    return found


def dependents_of(jobs: dict[str, JobSpec], name: str) -> list[JobSpec]:
    return [job for job in jobs.values() if name in job.depends_on]


def run_dependents(store: Store, target: Target, name: str, *, owner: str | None = None,
                   on_line: LineCallback | None = None,
                   cancel: threading.Event | None = None) -> list[RunRecord]:
    """The one rule for `depends_on`, whatever ran `name` (the scheduler, `fraisier run`,
    `fraisier backup run`): once it succeeded, each job that depends on it runs (trigger
    `dependency`), then, after each success, the jobs that depend on that one. Returns their
    RunRecords in the order they ran. A dependent already running elsewhere is skipped."""
    from fraisier.store.db import Conflict

    jobs = jobs_of(target)
    records: list[RunRecord] = []
    pending = [job.name for job in dependents_of(jobs, name)]
    seen = {name}
    while pending:
        job = jobs[pending.pop(0)]
        if job.name in seen:
            continue
        seen.add(job.name)
        try:
            record = run_job(store, target, job, trigger="dependency", owner=owner,
                             on_line=on_line, cancel=cancel)
        except Conflict:
            if on_line is not None:
                on_line(f"{job.name} is already running: not started again after {name}")
            continue
        records.append(record)
        if record.status == "succeeded":
            pending += [dependent.name for dependent in dependents_of(jobs, job.name)]
    return records


def unscheduled_backups(target: Target) -> list[str]:
    """Backup jobs that nothing runs by itself: taken only with `fraisier backup run` (or
    before a deployment); listed by `fraisier jobs` all the same."""
    listed = jobs_of(target)
    return [name for name in target.kind.backups if name not in listed]


def run_job(store: Store, target: Target, job: JobSpec, *, trigger: str,
            scheduled_for: str | None = None, owner: str | None = None,
            on_line: LineCallback | None = None,
            cancel: threading.Event | None = None) -> RunRecord:
    """Run one job now and record it; returns its RunRecord. Raises store.Conflict when the
    job is already running."""
    if job.kind == "backup":
        assert job.backup is not None  # jobs_of gives every backup job its settings
        from fraisier.kinds.backups import take_backup

        backup = take_backup(store, target, job.name, job.backup, trigger=trigger, owner=owner,
                             scheduled_for=scheduled_for, log=on_line)
        assert backup.run_id is not None  # take_backup records every backup as a run
        return recorded_run(store, backup.run_id)
    assert job.command is not None  # jobs_of gives every `job` its command
    release, release_dir = active_release_dir(target)
    if release_dir is None:
        run_id = start_run(store, target, "job", job.name, trigger=trigger,
                           scheduled_for=scheduled_for, owner=owner)
        store.runs.finish(run_id, "failed", exit_code=None, duration_seconds=0.0,
                          error="no active release: deploy the fraise first")
        return recorded_run(store, run_id)
    extra = {"FRAISIER_JOB": job.name}
    for dependency in job.depends_on:
        # A job that follows a backup job gets the newest good backup of it, e.g. to upload.
        if dependency in target.kind.backups:
            good = store.backups.list(target.fraise, target.environment, job=dependency,
                                      status="good", limit=1)
            if good and good[0].path:
                extra.update(FRAISIER_BACKUP_FILE=good[0].path,
                             FRAISIER_BACKUP_ID=str(good[0].id))
    record, _ = execute_run(
        store, target, "job", job.name, job.command.argv, cwd=release_dir,
        env=target_env(target, release_dir, **extra), timeout=job.timeout,
        trigger=trigger, release=release, scheduled_for=scheduled_for, owner=owner,
        on_line=on_line, cancel=cancel)
    return record
