"""The saga's own rules, with steps that only record what happened to them."""

from __future__ import annotations

import threading

from fraisier.domain.model import DeploymentStatus, StepStatus
from fraisier.engine.saga import Step, StepFailed, run_saga


class Ledger:
    """Keeps what the saga records, as the step ledger would."""

    def __init__(self):
        self.status: dict[int, StepStatus] = {}
        self.compensated: dict[int, StepStatus] = {}
        self.lines: list[str] = []

    def step(self, position, status, *, error=None, data=None):
        self.status[position] = status

    def compensation(self, position, status, error=None):
        self.compensated[position] = status

    def log(self, line):
        self.lines.append(line)


def test_a_parallel_group_runs_at_once_and_a_failure_in_it_undoes_the_whole_group():
    started = threading.Barrier(3, timeout=30)  # breaks unless all three run together
    undone: list[str] = []

    def host(name: str, fail: bool = False):
        def run():
            started.wait()
            if fail:
                raise StepFailed(f"{name} broke")
            return {"host": name}
        return Step(f"host:{name}:restart", run, compensate=lambda: undone.append(name),
                    compensate_on_failure=name == "b", parallel="batch 1 restart")

    steps = [Step("release", lambda: None, compensate=lambda: undone.append("release")),
             host("a"), host("b", fail=True), host("c"),
             Step("after", lambda: None)]
    ledger = Ledger()
    outcome = run_saga(steps, ledger)

    assert outcome.status == DeploymentStatus.ROLLED_BACK
    assert outcome.failed_step == "host:b:restart"
    assert outcome.error == "host:b:restart: b broke"
    assert [ledger.status[p] for p in range(5)] == [
        StepStatus.SUCCEEDED, StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SUCCEEDED,
        StepStatus.SKIPPED]
    # Undone in reverse order of the plan, the failed step too (compensate_on_failure).
    assert undone == ["c", "b", "a", "release"]
    assert set(ledger.compensated) == {0, 1, 2, 3}


def test_steps_alone_in_their_group_run_on_the_calling_thread():
    threads = []

    def step(name, key):
        return Step(name, lambda: threads.append(threading.current_thread()), parallel=key)

    outcome = run_saga([step("a", None), step("b", None), step("c", "x"), step("d", "y")],
                       Ledger())
    assert outcome.status == DeploymentStatus.SUCCEEDED
    assert threads == [threading.current_thread()] * 4
