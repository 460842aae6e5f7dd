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
- A step of the ledger the rebuilt plan no longer has (the hosts were edited since) cannot
  be undone: the outcome names it.
"""

from __future__ import annotations

from fraisier.domain.model import StepStatus
from fraisier.engine.context import DeploymentRun
from fraisier.engine.saga import STARTED, compensate


def recover_rollout(run: DeploymentRun, record) -> list[str]:
    """Run the compensations the ledger of `record` calls for; returns what could not be
    undone or failed to be (empty: everything was put back)."""
    from fraisier.rollout import recovery_plan_for

    ledger = {step.name: step for step in record.steps}
    try:
        steps = recovery_plan_for(run.target)(run, record, ledger)
    except Exception as exc:  # noqa: BLE001 - e.g. the machine holding the slots is down
        _close(run)
        return [f"not compensated: {exc}"]
    index_of = {step.name: index for index, step in enumerate(steps)}
    problems: list[str] = []
    to_undo: list[int] = []
    positions: dict[int, int] = {}  # rebuilt plan index -> ledger position
    for done in record.steps:
        if done.status not in STARTED or done.compensation_status == StepStatus.COMPENSATED:
            continue
        index = index_of.get(done.name)
        if index is None:
            problems.append(f"{done.name} not undone: the configuration no longer has this "
                            "step (hosts or strategy changed since)")
            continue
        step = steps[index]
        if step.compensate is None:
            continue
        if done.status == StepStatus.FAILED and not step.compensate_on_failure:
            continue
        if done.name == "migrate" and done.status == StepStatus.RUNNING:
            problems.append("migrate not undone: it was stopped half-way (check the database)")
            continue
        to_undo.append(index)
        positions[index] = done.position
    try:
        errors, not_undone = compensate(steps, to_undo, _LedgerPositions(run, positions))
    finally:
        _close(run)
    return problems + [f"not undone: {item}" for item in not_undone] + errors


class _LedgerPositions:
    """The saga's recorder, writing to the ledger rows of the interrupted deployment."""

    def __init__(self, run: DeploymentRun, positions: dict[int, int]):
        self.run = run
        self.positions = positions

    def compensation(self, index: int, status: StepStatus, error: str | None = None) -> None:
        self.run.compensation(self.positions[index], status, error)

    def log(self, line: str) -> None:
        self.run.log(line)


def _close(run: DeploymentRun) -> None:
    for close in getattr(run, "closers", ()):
        close()  # the SSH connections the compensations opened
