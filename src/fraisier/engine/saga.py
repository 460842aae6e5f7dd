"""A deployment is a saga: ordered steps, each with an optional compensation.

When a step fails, the completed steps are compensated in reverse order. A clean rollback ends
`rolled_back`; a compensation that itself fails ends `rollback_failed` with the reason.

Three refinements a deployment needs:
- `compensate_last`: a restart is undone by restarting again, but only once everything else
  (the `current` link, the database) is back in place, so it runs after the others.
- `compensate_on_failure`: a step that failed half-way (a restart that stopped the service and
  then failed) must be compensated too, not only the ones that finished.
- `parallel`: the hosts of one rollout batch are worked on at once. Steps that follow one
  another with the same key run together on threads; the saga waits for all of them, and if
  any failed it rolls back everything done, theirs included.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from fraisier.domain.model import DeploymentStatus, StepStatus

# Ledger statuses of a step that began, and so may have changed something.
STARTED = frozenset({StepStatus.RUNNING.value, StepStatus.SUCCEEDED.value,
                     StepStatus.FAILED.value})


class StepFailed(Exception):
    """A step did not do its job; the message is what the user reads."""


class SkipStep(Exception):  # a signal, not an error
    """This step has nothing to do (e.g. no `build` configured); it needs no compensation."""


class Irreversible(Exception):  # a signal, not an error
    """A compensation that cannot be done (e.g. a migration with no `down`): the rollback goes
    on, and the outcome says plainly what was not undone."""


class FinishEarly(Exception):  # a signal, not an error
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
    # Steps in a row with the same key run at once (e.g. one per host of a batch); each is
    # still recorded on its own, and they are undone one by one like any other.
    parallel: str | None = None


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
    position = 0
    while position < len(steps):
        group = _group_at(steps, position)
        for member in group:
            recorder.step(member, StepStatus.RUNNING)
        if len(group) == 1:
            kind, value = result = _attempt(steps[position], cancel)
            if kind == "early":
                recorder.step(position, StepStatus.SUCCEEDED)
                for later in range(position + 1, len(steps)):
                    recorder.step(later, StepStatus.SKIPPED)
                recorder.log(value)
                return SagaOutcome(DeploymentStatus.SUCCEEDED, finished_early=value)
            _record(steps, recorder, position, result)
            results = [result]
        else:
            def attempt(member: int) -> tuple[str, Any]:
                kind, value = _attempt(steps[member], cancel)
                if kind == "early":  # not something one of several steps can do
                    kind, value = "failed", f"cannot finish early: {value}"
                _record(steps, recorder, member, (kind, value))  # as soon as it is known
                return kind, value

            with ThreadPoolExecutor(len(group), thread_name_prefix="saga") as pool:
                results = list(pool.map(attempt, group))
        failed = {member: value for member, (kind, value) in zip(group, results, strict=True)
                  if kind == "failed"}
        done += [member for member, (kind, _) in zip(group, results, strict=True)
                 if kind == "succeeded"]
        if failed:
            for later in range(group[-1] + 1, len(steps)):
                recorder.step(later, StepStatus.SKIPPED)
            return _roll_back(steps, recorder, done, failed)
        position = group[-1] + 1
    return SagaOutcome(DeploymentStatus.SUCCEEDED)


def _record(steps: list[Step], recorder: Recorder, position: int,
            result: tuple[str, Any]) -> None:
    kind, value = result
    if kind == "skipped":
        recorder.step(position, StepStatus.SKIPPED, error=value or None)
    elif kind == "succeeded":
        recorder.step(position, StepStatus.SUCCEEDED, data=value)
    else:
        recorder.step(position, StepStatus.FAILED, error=value)
        recorder.log(f"step {steps[position].name} failed: {value}")


def _group_at(steps: list[Step], position: int) -> list[int]:
    """The positions that run now: the step at `position`, with the steps after it that
    share its `parallel` key."""
    key = steps[position].parallel
    end = position + 1
    while key is not None and end < len(steps) and steps[end].parallel == key:
        end += 1
    return list(range(position, end))


def _attempt(step: Step, cancel: threading.Event | None) -> tuple[str, Any]:
    """Run one step: ("succeeded", data), ("skipped", why), ("early", reason) or
    ("failed", error)."""
    try:
        if cancel is not None and cancel.is_set():
            raise StepFailed("deployment cancelled")
        return "succeeded", step.run()
    except FinishEarly as early:
        return "early", early.reason
    except SkipStep as skip:
        return "skipped", str(skip)
    except Exception as exc:  # noqa: BLE001 - any failure of a step starts the rollback
        return "failed", str(exc) or type(exc).__name__


def _roll_back(steps: list[Step], recorder: Recorder, done: list[int],
               failed: dict[int, str]) -> SagaOutcome:
    """Undo what is done, and the failed steps that ask for it, then say how it ended."""
    to_undo = sorted(done + [p for p in failed if steps[p].compensate_on_failure])
    errors, not_undone = compensate(steps, to_undo, recorder)
    first = steps[min(failed)].name
    message = "; ".join(f"{steps[p].name}: {error}" for p, error in sorted(failed.items()))
    if not_undone:
        message += "; not undone: " + "; ".join(not_undone)
    if errors:
        return SagaOutcome(DeploymentStatus.ROLLBACK_FAILED,
                           error=f"{message}; rollback failed: " + "; ".join(errors),
                           failed_step=first, compensation_errors=errors, not_undone=not_undone)
    if not any(steps[p].compensate is not None for p in to_undo):
        # Nothing had been changed yet: there was nothing to roll back.
        return SagaOutcome(DeploymentStatus.FAILED, error=message, failed_step=first)
    return SagaOutcome(DeploymentStatus.ROLLED_BACK, error=message, failed_step=first,
                       not_undone=not_undone)


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
