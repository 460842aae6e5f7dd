"""Execute one claimed deployment: choose its plan, run the saga, record the outcome.

While it runs, a heartbeat renews the lease; when the lease is lost (the deployment was
cancelled or recovered by another worker) the running command is stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from fraisier.domain.model import DeploymentStatus, Trigger
from fraisier.engine.context import DeploymentRun, Observer
from fraisier.engine.saga import Step, run_saga

# type name -> (step names, plan builder). Fraise types register themselves here.
PlanBuilder = Callable[[DeploymentRun, str | None], list[Step]]
PLANS: dict[str, PlanBuilder] = {}


def register_plan(fraise_type: str, builder: PlanBuilder) -> None:
    PLANS[fraise_type] = builder


def _load_plans() -> None:
    if PLANS:
        return
    from fraisier.engine.api import api_plan

    register_plan("api", api_plan)
    try:
        from fraisier import kinds  # noqa: F401 - registers the other fraise types
    except ImportError:
        pass


def _rollout_builder(target, trigger: str) -> PlanBuilder | None:
    """Environments with `hosts` or a `strategy` are deployed by fraisier.rollout."""
    if getattr(target, "rollout", None) is None:
        return None
    from fraisier.rollout import plan_for

    return plan_for(target, trigger)


def execute(store, config, deployment_id: int, *, owner: str, lease_seconds: float = 30.0,
            observer: Observer | None = None, cancel: threading.Event | None = None):
    """Run a deployment this owner has claimed; returns the final DeploymentRecord."""
    from fraisier.config import UnknownTarget

    record = store.queue.get(deployment_id, with_steps=False)
    try:
        target = config.target(record.fraise, record.environment)
    except UnknownTarget as exc:
        return store.queue.finish(deployment_id, DeploymentStatus.FAILED, str(exc))

    run = DeploymentRun(
        store=store, target=target, deployment_id=deployment_id,
        data_dir=Path(config.data_dir), observer=observer or Observer(),
        cancel=cancel or threading.Event(), branch=record.branch, options=dict(record.options),
        force=record.force,
    )
    run.previous_release_id = run.layout.current_release_id()
    store.queue.update(deployment_id, previous_release=run.previous_release_id)

    rollout_builder = _rollout_builder(target, record.trigger)
    if rollout_builder is not None:
        steps = rollout_builder(run, record.requested_commit)
        run.step_names = [step.name for step in steps]
    elif record.trigger == Trigger.ROLLBACK.value:
        from fraisier.engine.rollback import ROLLBACK_STEPS, rollback_plan

        steps = rollback_plan(run, record.options.get("to"))
        run.step_names = ROLLBACK_STEPS
    else:
        _load_plans()
        builder = PLANS.get(target.type.value if hasattr(target.type, "value") else target.type)
        if builder is None:
            return store.queue.finish(deployment_id, DeploymentStatus.FAILED,
                                      f"fraise type {target.type!s} cannot be deployed")
        steps = builder(run, record.requested_commit)
        run.step_names = [step.name for step in steps]
    store.ledger.plan(deployment_id, run.step_names)

    heartbeat = _Heartbeat(store, deployment_id, owner, lease_seconds, run)
    heartbeat.start()
    try:
        outcome = run_saga(steps, run, cancel=run.cancel)
    finally:
        heartbeat.stop()
        for close in getattr(run, "closers", ()):
            close()  # e.g. the SSH connections a rollout opened
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
    return store.queue.finish(deployment_id, status, error)


class _Heartbeat(threading.Thread):
    def __init__(self, store, deployment_id: int, owner: str, lease_seconds: float,
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
