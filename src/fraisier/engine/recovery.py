"""Recover a deployment whose worker died: undo what the step ledger says was done.

The ledger is the only memory of a dead worker, so recovery reads it and runs the inverse of
every step that may have changed the world, in the order a live rollback would:

- `release` made a directory          → remove it (a half-made release is never reused)
- `migrate` completed and `down` exists → migrate.down to the recorded revision
- `activate` ran                       → point `current` back at the previous release
- `restart` ran                        → restart the previous release (after `current`)

A rollout (`hosts` or a `strategy`) has steps of its own; rollout/recovery.py undoes those.

The deployment ends `interrupted` and its environment is free; nothing is queued again: a
person (or the next push) decides whether to deploy again.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fraisier.domain.model import DeploymentStatus, ReleaseStatus, StepStatus, Trigger
from fraisier.engine import api
from fraisier.engine.context import DeploymentRun
from fraisier.engine.saga import STARTED, Irreversible

log = logging.getLogger("fraisier.recovery")


def recover(store, config, deployment_id: int, dead_owner: str | None = None) -> object:
    """Compensate an interrupted deployment (its lease already taken over by the caller,
    from `dead_owner`) and mark it `interrupted`. Returns the final DeploymentRecord."""
    from fraisier.config import UnknownTarget

    record = store.queue.get(deployment_id)
    reason = f"worker {dead_owner or '?'} stopped while running"
    try:
        target = config.target(record.fraise, record.environment)
    except UnknownTarget as exc:
        return store.queue.finish(deployment_id, DeploymentStatus.INTERRUPTED,
                                  f"{reason}; not compensated: {exc}")
    steps = {step.name: step for step in record.steps}
    run = DeploymentRun(store=store, target=target, deployment_id=deployment_id,
                        data_dir=Path(config.data_dir), step_names=[s.name for s in record.steps],
                        branch=record.branch, options=dict(record.options), force=record.force)
    run.commit_sha = record.commit_sha
    run.release_id = record.release
    run.previous_release_id = record.previous_release
    is_rollback = record.trigger == Trigger.ROLLBACK.value
    run.log(f"recovering deployment {deployment_id}: {reason}")
    if getattr(target, "rollout", None) is not None:
        from fraisier.rollout.recovery import recover_rollout

        return _interrupted(run, reason, recover_rollout(run, record))

    problems: list[str] = []

    def undo(name: str, action) -> None:
        step = steps.get(name)
        if step is None or step.status not in STARTED:
            return
        try:
            action()
        except Irreversible as exc:
            store.ledger.mark_compensation(deployment_id, step.position, StepStatus.SKIPPED,
                                           str(exc), context=run.context)
            problems.append(f"{name} not undone: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - recorded; the outcome says so
            store.ledger.mark_compensation(deployment_id, step.position,
                                           StepStatus.COMPENSATION_FAILED, str(exc),
                                           context=run.context)
            problems.append(f"undo {name}: {exc}")
            return
        store.ledger.mark_compensation(deployment_id, step.position, StepStatus.COMPENSATED,
                                       context=run.context)

    def migrate_down() -> None:
        if steps["migrate"].status != StepStatus.SUCCEEDED.value:
            return  # a migration killed half-way is left for a person to look at
        run.options["revision_before"] = steps["migrate"].data.get("revision_before", "")
        api.migrate_down(run)

    def restore_current() -> None:
        if is_rollback:
            from fraisier.engine.rollback import reactivate_live

            reactivate_live(run)
        elif run.layout.current_release_id() != run.previous_release_id or (
                not run.previous_release_id):
            api.deactivate(run)

    undo("migrate", migrate_down)
    undo("migrate_down", lambda: None)  # a rollback's migrate.down has no inverse to run
    undo("activate", restore_current)
    undo("restart", lambda: api.restart_previous(run))
    if not is_rollback:
        _remove_half_made_release(run, record, steps)
    return _interrupted(run, reason, problems)


def _interrupted(run: DeploymentRun, reason: str, problems: list[str]):
    error = reason + ("; " + "; ".join(problems) if problems else "; compensated")
    run.log(f"deployment {run.deployment_id} interrupted: {error}")
    log.warning("deployment %s interrupted: %s", run.deployment_id, error)
    return run.store.queue.finish(run.deployment_id, DeploymentStatus.INTERRUPTED, error)


def _remove_half_made_release(run: DeploymentRun, record, steps) -> None:
    run.layout.remove_partials()
    release = record.release
    if not release or release == run.layout.current_release_id():
        return
    run.layout.remove(release)
    if run.store.releases.get(run.target.fraise, run.target.environment, release):
        run.store.releases.set_status(run.target.fraise, run.target.environment, release,
                                      ReleaseStatus.FAILED)
    step = steps.get("release")
    if step is not None:
        run.store.ledger.mark_compensation(run.deployment_id, step.position,
                                           StepStatus.COMPENSATED, context=run.context)
