"""A deployment is a saga: ordered steps, each with an optional compensation.

When a step fails, the completed steps are compensated in reverse order. A clean rollback ends
`rolled_back`; a compensation that itself fails ends `rollback_failed` with the reason.

Two refinements a deployment needs:
- `compensate_last`: a restart is undone by restarting again, but only once everything else
  (the `current` link, the database) is back in place, so it runs after the others.
- `compensate_on_failure`: a step that failed half-way (a restart that stopped the service and
  then failed) must be compensated too, not only the ones that finished.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from fraisier.domain.model import DeploymentStatus, StepStatus

# Ledger statuses of a step that began, and so may have changed something.
STARTED = frozenset({StepStatus.RUNNING.value, StepStatus.SUCCEEDED.value,
                     StepStatus.FAILED.value})


class StepFailed(Exception):
    """A step did not do its job; the message is what the user reads."""


class SkipStep(Exception):  # noqa: N818 - a signal, not an error
    """This step has nothing to do (e.g. no `build` configured); it needs no compensation."""


class Irreversible(Exception):  # noqa: N818 - a signal, not an error
    """A compensation that cannot be done (e.g. a migration with no `down`): the rollback goes
    on, and the outcome says plainly what was not undone."""


class FinishEarly(Exception):  # noqa: N818 - a signal, not an error
    """Nothing more to do (e.g. the commit is already live): skip the remaining steps."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Step:
    name: str
    run: Callable[[], dict[str, Any] | None]
    compensate: Callable[[], None] | None = None
    compensate_last: bool = False
    compensate_on_failure: bool = False


class Recorder(Protocol):
    def step(self, position: int, status: StepStatus, *, error: str | None = None,
             data: dict[str, Any] | None = None) -> None: ...

    def compensation(self, position: int, status: StepStatus, error: str | None = None) -> None: ...

    def log(self, line: str) -> None: ...


@dataclass
class SagaOutcome:
    status: DeploymentStatus
    error: str | None = None
    failed_step: str | None = None
    finished_early: str | None = None
    compensation_errors: list[str] = field(default_factory=list)
    not_undone: list[str] = field(default_factory=list)


def run_saga(steps: list[Step], recorder: Recorder,
             cancel: threading.Event | None = None) -> SagaOutcome:
    done: list[int] = []
    for position, step in enumerate(steps):
        recorder.step(position, StepStatus.RUNNING)
        try:
            if cancel is not None and cancel.is_set():
                raise StepFailed("deployment cancelled")
            data = step.run()
        except FinishEarly as early:
            recorder.step(position, StepStatus.SUCCEEDED)
            for later in range(position + 1, len(steps)):
                recorder.step(later, StepStatus.SKIPPED)
            recorder.log(early.reason)
            return SagaOutcome(DeploymentStatus.SUCCEEDED, finished_early=early.reason)
        except SkipStep as skip:
            recorder.step(position, StepStatus.SKIPPED, error=str(skip) or None)
            continue
        except Exception as exc:  # noqa: BLE001 - any failure of a step starts the rollback
            error = str(exc) or type(exc).__name__
            recorder.step(position, StepStatus.FAILED, error=error)
            recorder.log(f"step {step.name} failed: {error}")
            for later in range(position + 1, len(steps)):
                recorder.step(later, StepStatus.SKIPPED)
            to_undo = done + ([position] if step.compensate_on_failure else [])
            errors, not_undone = compensate(steps, to_undo, recorder)
            message = f"{step.name}: {error}"
            if not_undone:
                message += "; not undone: " + "; ".join(not_undone)
            if errors:
                return SagaOutcome(DeploymentStatus.ROLLBACK_FAILED,
                                   error=f"{message}; rollback failed: " + "; ".join(errors),
                                   failed_step=step.name, compensation_errors=errors,
                                   not_undone=not_undone)
            if not any(steps[p].compensate is not None for p in to_undo):
                # Nothing had been changed yet: there was nothing to roll back.
                return SagaOutcome(DeploymentStatus.FAILED, error=message, failed_step=step.name)
            return SagaOutcome(DeploymentStatus.ROLLED_BACK, error=message,
                               failed_step=step.name, not_undone=not_undone)
        recorder.step(position, StepStatus.SUCCEEDED, data=data)
        done.append(position)
    return SagaOutcome(DeploymentStatus.SUCCEEDED)


def compensate(steps: list[Step], positions: list[int],
               recorder: Recorder) -> tuple[list[str], list[str]]:
    """Undo the steps at `positions` in reverse (`compensate_last` ones at the end); returns
    (errors, what could not be undone). Also used by recovery, on a rebuilt plan."""
    ordered = [p for p in reversed(positions) if not steps[p].compensate_last]
    ordered += [p for p in reversed(positions) if steps[p].compensate_last]
    errors: list[str] = []
    not_undone: list[str] = []
    for position in ordered:
        step = steps[position]
        if step.compensate is None:
            continue
        recorder.log(f"undoing {step.name}")
        try:
            step.compensate()
        except Irreversible as exc:
            not_undone.append(f"{step.name}: {exc}")
            recorder.compensation(position, StepStatus.SKIPPED, str(exc))
            recorder.log(f"cannot undo {step.name}: {exc}")
            continue
        except Exception as exc:  # noqa: BLE001 - recorded, and the outcome says so
            message = f"undo {step.name}: {exc}"
            errors.append(message)
            recorder.compensation(position, StepStatus.COMPENSATION_FAILED, str(exc))
            recorder.log(message)
            continue
        recorder.compensation(position, StepStatus.COMPENSATED)
    return errors, not_undone
