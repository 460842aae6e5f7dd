"""Recover a deployment whose worker died: stop what it left running, then undo, from the
ledger, what its steps had done.

One path for every deployment, on one machine or a fleet: the plan selector rebuilds the
deployment's plan with the state its steps had reached (from the record and the ledger), and
every step that began and is not undone yet goes to the saga's own `compensate`, in the
order a live rollback would use.

- The commands the dead worker had started keep running in their own process groups. The
  ledger lists them (tb_deployment_process); they are stopped first, and waited for, so that
  nothing changes under the undo.
- A step that was `running` when the worker died may have done its work: it is undone.
- A step that `failed` is undone when the saga would undo it (`compensate_on_failure`).
- A step already compensated (the worker died during its own rollback) is not undone again.
- A `migrate` that was running is undone when its way back is known (the revision before it
  was recorded, and there is a way down: the same one a live rollback uses, a preset's or the
  raw `migrate.down`, from kinds/migrations.py through the rebuilt plan); when it was still
  listing the pending migrations, there is nothing to undo; otherwise the outcome is `rollback_failed`: "the
  migration may be partly applied: check the database". Never "compensated".
- If the rebuilt plan is not the one the ledger holds (hosts, strategy or steps edited
  since), nothing is undone: a step could now be bound to something else. The outcome lists
  the steps that had begun, for a person to look at.

The deployment ends `interrupted` when everything that began was put back (or nothing could
be tried), and `rollback_failed` when an undo failed or a migration may be partly applied.
Its environment is free either way; nothing is queued again.
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING

from fraisier.domain.model import DeploymentStatus, StepStatus
from fraisier.engine.context import DeploymentRun
from fraisier.engine.process import StartedProcess, stop_group
from fraisier.engine.saga import STARTED, compensate

if TYPE_CHECKING:
    from fraisier.config import FraisierConfig
    from fraisier.engine.runner import Planner
    from fraisier.store import Store
    from fraisier.store.records import DeploymentRecord

log = logging.getLogger("fraisier.recovery")

PARTLY_APPLIED = "migration may be partly applied: check the database"


def recover(store: Store, config: FraisierConfig, deployment_id: int,
            dead_owner: str | None = None, *, planner: Planner) -> DeploymentRecord:
    """Compensate an interrupted deployment (its lease already taken over by the caller,
    from `dead_owner`) and finish it. Returns the final DeploymentRecord."""
    from fraisier.config import UnknownTarget

    record = store.queue.get(deployment_id)
    reason = f"worker {dead_owner or '?'} stopped while running"
    from fraisier.secrets import SecretError, resolve_target

    try:
        target = config.target(record.fraise, record.environment)
    except UnknownTarget as exc:
        return store.queue.finish(deployment_id, DeploymentStatus.INTERRUPTED,
                                  f"{reason}; not compensated: {exc}")
    secret_problem: SecretError | None = None
    try:
        # The undo commands get the same secrets (fetched now) as the deployment's commands.
        target = resolve_target(config, target)
    except SecretError as exc:
        secret_problem = exc  # the leftover commands are still stopped below
    assert config.data_dir is not None  # set by validation
    run = DeploymentRun(store=store, target=target, deployment_id=deployment_id,
                        data_dir=config.data_dir, step_names=[s.name for s in record.steps],
                        branch=record.branch, options=dict(record.options), force=record.force,
                        recovering=True)
    run.commit_sha = record.commit_sha
    run.release_id = record.release
    run.previous_release_id = record.previous_release
    run.log(f"recovering deployment {deployment_id}: {reason}")
    still_running = stop_leftover_commands(run)
    if secret_problem is not None:
        error = "; ".join([reason, *still_running, f"not compensated: {secret_problem}"])
        run.log(f"deployment {deployment_id} interrupted: {error}")
        return store.queue.finish(deployment_id, DeploymentStatus.INTERRUPTED, error)
    try:
        problems, errors = _undo(run, record, planner, still_running)
    finally:
        run.close_connections()
    status = DeploymentStatus.ROLLBACK_FAILED if errors else DeploymentStatus.INTERRUPTED
    told = still_running + problems + errors
    error = reason + ("; " + "; ".join(told) if told else "; compensated")
    run.log(f"deployment {deployment_id} {status.value}: {error}")
    log.warning("deployment %s %s: %s", deployment_id, status.value, error)
    return store.queue.finish(deployment_id, status, error)


def stop_leftover_commands(run: DeploymentRun) -> list[str]:
    """Stop the process groups the dead worker left running on this machine; returns what
    could not be stopped (still running here, or on another machine)."""
    here = socket.gethostname()
    left: list[str] = []
    for row in run.store.ledger.commands_running(run.deployment_id):
        label, pid = row["label"], int(row["pid"])
        if row["hostname"] != here:
            left.append(f"{label} (pid {pid}) may still run on {row['hostname']}")
            continue
        if stop_group(StartedProcess(pid, int(row["start_ticks"]))):
            run.log(f"stopped {label} (process group {pid}) left running by the dead worker")
            run.store.ledger.command_ended(int(row["id"]))
        else:
            left.append(f"{label} (pid {pid}) could not be stopped")
    return left


def _undo(run: DeploymentRun, record: DeploymentRecord, planner: Planner,
          still_running: list[str]) -> tuple[list[str], list[str]]:
    """Run the compensations the ledger calls for: (what was not undone, what failed)."""
    ledger = {step.name: step for step in record.steps}
    try:
        steps = planner.recovery_plan(run, record, ledger)
    except Exception as exc:  # noqa: BLE001 - e.g. the machine holding the slots is down
        return [f"not compensated: {exc}"], []
    begun = [done for done in record.steps if done.status in STARTED
             and done.compensation_status != StepStatus.COMPENSATED.value]
    if [step.name for step in steps] != [done.name for done in record.steps]:
        return ["not compensated: the configuration changed since the deployment started "
                "(its steps differ); steps that had begun: "
                + ", ".join(done.name for done in begun)], []
    failures: list[str] = []
    to_undo: list[int] = []
    half_migrated = False
    for done in begun:
        step = steps[done.position]
        if step.compensate is None:
            continue
        if done.status == StepStatus.FAILED.value and not step.compensate_on_failure:
            continue
        if done.name == "migrate" and done.status == StepStatus.RUNNING.value:
            if done.data.get("phase") == "checking" and not still_running:
                # It was still listing what is pending: the database was not changed; its
                # compensation says so (kinds/migrations.py).
                to_undo.append(done.position)
                continue
            if still_running or "revision_before" not in run.options:
                failures.append(f"{PARTLY_APPLIED} (migrate was stopped half-way and "
                                + ("a command may still run" if still_running else
                                   "the revision before it was not recorded") + ")")
                run.store.ledger.mark_compensation(run.deployment_id, done.position,
                                                   StepStatus.COMPENSATION_FAILED,
                                                   PARTLY_APPLIED, context=run.context)
                continue
            half_migrated = True
        to_undo.append(done.position)
    errors, not_undone = compensate(steps, to_undo, run)
    if half_migrated:
        # A half-applied migration that cannot be taken back is not merely "not undone".
        stuck = [item for item in not_undone if item.startswith("migrate:")]
        not_undone = [item for item in not_undone if item not in stuck]
        errors += [f"{PARTLY_APPLIED} ({item})" for item in stuck]
        if stuck:
            run.store.ledger.mark_compensation(run.deployment_id, run.step_names.index("migrate"),
                                               StepStatus.COMPENSATION_FAILED, PARTLY_APPLIED,
                                               context=run.context)
    return [f"not undone: {item}" for item in not_undone], failures + errors
