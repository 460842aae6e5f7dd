"""Recover a rollout whose worker died: undo, from the ledger, what it had done to the fleet.

The steps of a rollout are the strategy's own (`host:web2:activate`, `switch`,
`canary:50`, ...) and their compensations need what the steps had learnt: which slot was
live, each host's previous release. Each step recorded that in the ledger when it finished.
So recovery rebuilds the strategy's plan from the configuration, reloads that state from
the ledger (the strategy's `reload`), and hands every step that began and is not undone yet
to the saga's own `compensate`, in the order a live rollback would use.

- A step that was `running` when the worker died may have done its work: it is undone.
- A step that `failed` is undone when the saga would undo it (`compensate_on_failure`).
- A step already compensated (the worker died during its own rollback) is not undone again.
- A `migrate` that was still running is left for a person, as on a single machine.
- If the rebuilt plan is not the one the ledger holds (hosts or strategy edited since),
  nothing is undone: a step could now be bound to another host (the migration runs on the
  first host). The outcome lists the steps that had begun, for a person to look at.
"""

from __future__ import annotations

from fraisier.domain.model import StepStatus
from fraisier.engine.context import DeploymentRun
from fraisier.engine.saga import STARTED, compensate


def recover_rollout(run: DeploymentRun, record) -> list[str]:
    """Run the compensations the ledger of `record` calls for; returns what could not be
    undone or failed to be (empty: everything was put back)."""
    try:
        return _undo(run, record)
    finally:
        for close in getattr(run, "closers", ()):
            close()  # the SSH connections the compensations opened


def _undo(run: DeploymentRun, record) -> list[str]:
    from fraisier.rollout import recovery_plan_for

    ledger = {step.name: step for step in record.steps}
    try:
        steps = recovery_plan_for(run.target)(run, record, ledger)
    except Exception as exc:  # noqa: BLE001 - e.g. the machine holding the slots is down
        return [f"not compensated: {exc}"]
    begun = [done for done in record.steps if done.status in STARTED
             and done.compensation_status != StepStatus.COMPENSATED]
    if [step.name for step in steps] != [done.name for done in record.steps]:
        return ["not compensated: the configuration changed since the deployment started "
                "(its steps differ); steps that had begun: "
                + ", ".join(done.name for done in begun)]
    problems: list[str] = []
    to_undo: list[int] = []
    for done in begun:
        step = steps[done.position]
        if step.compensate is None:
            continue
        if done.status == StepStatus.FAILED and not step.compensate_on_failure:
            continue
        if done.name == "migrate" and done.status == StepStatus.RUNNING:
            problems.append("migrate not undone: it was stopped half-way (check the database)")
            continue
        to_undo.append(done.position)
    # The plan is the ledger's, position for position: the run records each compensation
    # straight into the interrupted deployment's ledger row.
    errors, not_undone = compensate(steps, to_undo, run)
    return problems + [f"not undone: {item}" for item in not_undone] + errors
