"""The builtin scheduler: runs due jobs of `scheduler: builtin` environments itself.

- Due times come from the same cron parser systemd units are made from (UTC).
- A job is never run twice at once: an in-process set, and the database's unique index on
  running runs (so two schedulers sharing a state database cannot both start it either).
- Missed runs (the scheduler was down): `catch_up: once` (default) runs the job once for the
  latest missed time; `catch_up: skip` records the missed time as skipped and waits for the
  next one.
- The clock is injectable: tests call `run_pending(now)` with any time they like.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from fraisier.domain.model import parse_timestamp, utc_now, utc_timestamp
from fraisier.kinds.jobs import (
    JobSpec,
    dependents_of,
    jobs_of,
    run_job,
    unscheduled_backups,
)
from fraisier.kinds.runs import process_owner, start_run
from fraisier.store.db import Conflict

if TYPE_CHECKING:
    from fraisier.config import FraisierConfig
    from fraisier.config.resolve import Target
    from fraisier.store import Store
    from fraisier.store.runs import RunRecord

RunFuture = Future["RunRecord | None"]
JobKey = tuple[str, str, str]

logger = logging.getLogger(__name__)
# A slot is "on time" when the scheduler reaches it within this long; older ones were missed.
ON_TIME = timedelta(minutes=2)
_MAX_SLOTS_SCANNED = 100_000


class Scheduler:
    def __init__(self, store: Store, config: FraisierConfig, *,
                 clock: Callable[[], datetime] = utc_now, owner: str | None = None,
                 max_workers: int = 4,
                 on_line: Callable[[str], None] | None = None) -> None:
        self.store, self.config, self.clock = store, config, clock
        self.owner = owner or process_owner("scheduler")
        self.on_line = on_line
        self.started_at = clock()
        self._running: set[JobKey] = set()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="job")

    # -- what is due -----------------------------------------------------------------
    def targets(self) -> Iterator[Target]:
        for target in self.config.targets():
            kind = str(getattr(target.type, "value", target.type))
            if kind in ("scheduled", "backup") and target.kind.scheduler == "builtin":
                yield target

    def due_slot(self, target: Target, job: JobSpec, now: datetime) -> tuple[datetime, bool] | None:
        """(latest due time, on time?) or None when the job is not due."""
        if job.schedule is None:
            return None
        last = self.store.runs.last_scheduled(target.fraise, target.environment, job.name)
        anchor = parse_timestamp(last) if last else self.started_at
        slot = job.schedule.next_after(anchor)
        if slot > now:
            return None
        for _ in range(_MAX_SLOTS_SCANNED):  # find the latest missed time
            following = job.schedule.next_after(slot)
            if following > now:
                break
            slot = following
        return slot, now - slot <= ON_TIME

    # -- running ---------------------------------------------------------------------
    def run_pending(self, now: datetime | None = None, *, wait: bool = True) -> list[RunFuture]:
        """Start every due job; with `wait`, return only once they (and dependents) ended."""
        now = now or self.clock()
        started: list[RunFuture] = []
        for target in self.targets():
            jobs = jobs_of(target)
            for job in jobs.values():
                due = self.due_slot(target, job, now)
                if due is None:
                    continue
                slot, on_time = due
                if not on_time and target.kind.catch_up == "skip":
                    self._record_skipped(target, job, slot)
                    continue
                future = self._start(target, jobs, job, "schedule", utc_timestamp(slot))
                if future is not None:
                    started.append(future)
        if wait:
            for future in started:
                future.result()
        return started

    def _record_skipped(self, target: Target, job: JobSpec, slot: datetime) -> None:
        try:
            run_id = start_run(self.store, target, job.kind, job.name, trigger="schedule",
                               scheduled_for=utc_timestamp(slot), owner=self.owner)
        except Conflict:
            return
        self.store.runs.finish(run_id, "skipped", exit_code=None, duration_seconds=0.0,
                               error="missed while the scheduler was down (catch_up: skip)")

    def _start(self, target: Target, jobs: dict[str, JobSpec], job: JobSpec, trigger: str,
               scheduled_for: str | None) -> RunFuture | None:
        key = (target.fraise, target.environment, job.name)
        with self._lock:
            if key in self._running:
                return None
            self._running.add(key)
        return self._pool.submit(self._run, target, jobs, job, trigger, scheduled_for, key)

    def _run(self, target: Target, jobs: dict[str, JobSpec], job: JobSpec, trigger: str,
             scheduled_for: str | None, key: JobKey) -> RunRecord | None:
        from fraisier.secrets import SecretError, resolve_target

        try:
            # Secrets are fetched for each run, like for each deployment.
            target = resolve_target(self.config, target)
        except SecretError as exc:
            with self._lock:
                self._running.discard(key)
            try:
                run_id = start_run(self.store, target, job.kind, job.name, trigger=trigger,
                                   scheduled_for=scheduled_for, owner=self.owner)
            except Conflict:
                return None
            self.store.runs.finish(run_id, "failed", exit_code=None, duration_seconds=0.0,
                                   error=str(exc))
            return None
        try:
            record = run_job(self.store, target, job, trigger=trigger,
                             scheduled_for=scheduled_for, owner=self.owner,
                             on_line=self.on_line)
        except Conflict:
            logger.info("%s/%s job %s is already running elsewhere", *key)
            return None
        finally:
            with self._lock:
                self._running.discard(key)
        if record is not None and record.status == "succeeded":
            # The same rule as a manual run (jobs.run_dependents), but through this
            # scheduler's own bookkeeping, so a dependent is not started twice at once.
            for dependent in dependents_of(jobs, job.name):
                future = self._start(target, jobs, dependent, "dependency", None)
                if future is not None:
                    future.result()
        return record

    def run_forever(self, stop_event: threading.Event, poll_seconds: float = 10.0) -> None:
        while not stop_event.is_set():
            try:
                self.run_pending(self.clock(), wait=False)
            except Exception:  # one bad poll must not stop the scheduler
                logger.exception("scheduler poll failed")
            stop_event.wait(poll_seconds)
        self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def job_overview(store: Store, config: FraisierConfig, fraise: str | None = None, *,
                 now: datetime | None = None) -> list[dict[str, Any]]:
    """Each job of each target with its last run and next run time."""
    now = now or utc_now()
    rows: list[dict[str, Any]] = []
    for target in config.targets():
        if fraise and target.fraise != fraise:
            continue
        for job in jobs_of(target).values():
            last = store.runs.last(target.fraise, target.environment, job.kind, job.name)
            rows.append({
                "fraise": target.fraise, "environment": target.environment, "job": job.name,
                "kind": job.kind, "scheduler": target.kind.scheduler,
                "schedule": job.schedule.expression if job.schedule else None,
                "depends_on": list(job.depends_on),
                "last_run": last.started_at if last else None,
                "last_status": last.status if last else None,
                "last_exit_code": last.exit_code if last else None,
                "next_run": utc_timestamp(job.schedule.next_after(now)) if job.schedule else None,
            })
        for name in unscheduled_backups(target):
            last = store.runs.last(target.fraise, target.environment, "backup", name)
            rows.append({
                "fraise": target.fraise, "environment": target.environment, "job": name,
                "kind": "backup", "scheduler": target.kind.scheduler, "schedule": None,
                "depends_on": [],
                "last_run": last.started_at if last else None,
                "last_status": last.status if last else None,
                "last_exit_code": last.exit_code if last else None,
                "next_run": None,
            })
    return rows
