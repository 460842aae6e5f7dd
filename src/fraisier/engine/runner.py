"""Execute one claimed deployment: choose its plan, run the saga, record the outcome.

While it runs, a heartbeat renews the lease; when the lease is lost (the deployment was
cancelled or recovered by another worker) the running command is stopped.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Protocol

from fraisier.domain.model import DeploymentStatus
from fraisier.engine.context import DeploymentRun, Observer, ProgressObserver
from fraisier.engine.saga import Step, run_saga

if TYPE_CHECKING:
    from fraisier.config import FraisierConfig
    from fraisier.store import Store
    from fraisier.store.records import DeploymentRecord, StepRecord

log = logging.getLogger("fraisier.runner")
# One line per finished deployment (the process log; the deployment log has the detail).
outcomes = logging.getLogger("fraisier.deployments")


class Planner(Protocol):
    """Chooses a deployment's steps (fraisier.planner.Planner is the one in use). The
    engine only runs them."""

    def plan(self, run: DeploymentRun, record: DeploymentRecord) -> list[Step]: ...

    def recovery_plan(self, run: DeploymentRun, record: DeploymentRecord,
                      ledger: dict[str, StepRecord]) -> list[Step]: ...


def execute(store: Store, config: FraisierConfig, deployment_id: int, *, planner: Planner,
            owner: str, lease_seconds: float = 30.0, observer: ProgressObserver | None = None,
            cancel: threading.Event | None = None) -> DeploymentRecord:
    """Run a deployment this owner has claimed; returns the final DeploymentRecord.

    Whatever goes wrong in here ends the deployment `failed` with the error, so its
    environment is never left blocked by a deployment that nothing runs any more."""
    from fraisier.config import UnknownTarget

    record = store.queue.get(deployment_id, with_steps=False)
    try:
        target = config.target(record.fraise, record.environment)
    except UnknownTarget as exc:
        return store.queue.finish(deployment_id, DeploymentStatus.FAILED, str(exc), owner=owner)
    # Secrets are fetched now, for this deployment: a rotated one is used from the next
    # deployment on, and a backend that is down fails it before anything has changed.
    from fraisier.secrets import SecretError, resolve_target

    try:
        target = resolve_target(config, target)
    except SecretError as exc:
        return store.queue.finish(deployment_id, DeploymentStatus.FAILED, str(exc), owner=owner)
    assert config.data_dir is not None  # set by validation
    try:
        run = DeploymentRun(
            store=store, target=target, deployment_id=deployment_id,
            data_dir=config.data_dir, observer=observer or Observer(),
            cancel=cancel or threading.Event(), branch=record.branch,
            options=dict(record.options), force=record.force,
        )
        run.previous_release_id = run.layout.current_release_id()
        store.queue.update(deployment_id, previous_release=run.previous_release_id)
        steps = planner.plan(run, record)
    except Exception as exc:  # nothing has changed yet: fail and free it
        log.exception("deployment %s could not start", deployment_id)
        return store.queue.finish(deployment_id, DeploymentStatus.FAILED,
                                  f"could not start: {exc}", owner=owner)
    run.step_names = [step.name for step in steps]
    store.ledger.plan(deployment_id, run.step_names)

    heartbeat = _Heartbeat(store, deployment_id, owner, lease_seconds, run)
    heartbeat.start()
    try:
        outcome = run_saga(steps, run, cancel=run.cancel)
    finally:
        heartbeat.stop()
        run.close_connections()
    status, error = outcome.status, outcome.error
    if status == DeploymentStatus.ROLLED_BACK and not run.previous_release_id:
        # Nothing to roll back to: the first deployment simply failed (and left no `current`).
        status = DeploymentStatus.FAILED
    if run.cancel.is_set() and status != DeploymentStatus.SUCCEEDED:
        if heartbeat.lost:
            error = f"lease lost (recovered or cancelled elsewhere); {error}"
        status = DeploymentStatus.CANCELLED if status != DeploymentStatus.ROLLBACK_FAILED else status
    run.close_log()
    if heartbeat.lost:
        # Another worker took the lease (recovery) and decides this deployment's fate, even
        # if it has not finished yet: do not overwrite it.
        return store.queue.get(deployment_id)
    run.log(f"deployment {deployment_id} {status.value}" + (f": {error}" if error else ""))
    # Fenced by the lease: if this process stalled past it and another worker took the
    # deployment over since the last beat, the recovery's outcome stands, not this one.
    final = store.queue.finish(deployment_id, status, error, owner=owner)
    if final.status != status.value:
        log.warning("deployment %s: its lease was taken over before it ended %s; %s stands",
                    deployment_id, status.value, final.status)
        return final
    return log_outcome(final)


def log_outcome(record: DeploymentRecord) -> DeploymentRecord:
    """One line per finished deployment in the process log (the deployment's own log has
    the detail); returns the record."""
    commit = (record.commit_sha or record.requested_commit or "")[:12]
    duration = f", {record.duration_seconds:.1f} s" if record.duration_seconds else ""
    failed = record.status != DeploymentStatus.SUCCEEDED.value
    outcomes.log(logging.WARNING if failed else logging.INFO,
                 "deployment %s %s/%s %s (trigger %s%s%s)%s", record.id, record.fraise,
                 record.environment, record.status, record.trigger,
                 f", commit {commit}" if commit else "", duration,
                 f": {record.error}" if failed and record.error else "",
                 extra={"deployment_id": record.id, "fraise": record.fraise,
                        "environment": record.environment, "outcome": record.status,
                        "trigger": record.trigger, "commit": commit or None,
                        "duration_seconds": record.duration_seconds})
    return record


class _Heartbeat(threading.Thread):
    def __init__(self, store: Store, deployment_id: int, owner: str, lease_seconds: float,
                 run: DeploymentRun):
        super().__init__(name=f"heartbeat-{deployment_id}", daemon=True)
        self.store, self.deployment_id, self.owner = store, deployment_id, owner
        self.lease_seconds, self.run_ = lease_seconds, run
        self._stop_event = threading.Event()
        self.lost = False

    def run(self) -> None:
        interval = max(0.2, min(self.lease_seconds / 3, 2.0))
        while not self._stop_event.wait(interval):
            try:
                still_ours = self.store.queue.renew_lease(self.deployment_id, self.owner,
                                                          self.lease_seconds)
            except Exception:  # noqa: BLE001 - a missed beat is retried at the next interval
                continue
            if not still_ours:
                self.lost = True
                self.run_.cancel.set()
                return
            try:
                if self.store.queue.cancel_requested(self.deployment_id):
                    # `fraisier cancel`: stop the command; the compensations then run here.
                    self.run_.cancel.set()
            except Exception:  # noqa: BLE001 - asked again at the next beat
                pass

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)
