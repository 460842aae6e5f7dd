"""The step ledger and the deployment log."""

from __future__ import annotations

from fraisier.domain.model import StepStatus
from fraisier.store import Store

STEPS = ["fetch", "release", "build", "activate"]


def _deployment(store: Store) -> int:
    record = store.queue.enqueue("web", "production", trigger="cli")
    store.queue.claim(record.id, "w1", 60)
    return record.id


def test_plan_writes_every_step_pending_in_order(store: Store) -> None:
    deployment = _deployment(store)
    store.ledger.plan(deployment, STEPS)
    steps = store.ledger.steps(deployment)
    assert [(s.position, s.name, s.status) for s in steps] == [
        (i, name, "pending") for i, name in enumerate(STEPS)]
    assert all(s.started_at is None and s.completed_at is None for s in steps)


def test_planning_again_replaces_the_plan(store: Store) -> None:
    deployment = _deployment(store)
    store.ledger.plan(deployment, STEPS)
    store.ledger.plan(deployment, ["select", "activate"])
    assert [s.name for s in store.ledger.steps(deployment)] == ["select", "activate"]


def test_mark_sets_status_timestamps_error_output_and_data(store: Store) -> None:
    deployment = _deployment(store)
    store.ledger.plan(deployment, STEPS)
    store.ledger.mark(deployment, 0, StepStatus.RUNNING)
    running = store.ledger.steps(deployment)[0]
    assert running.status == "running"
    assert running.started_at is not None and running.completed_at is None

    store.ledger.mark(deployment, 0, StepStatus.SUCCEEDED, data={"commit_sha": "abc"},
                      output_tail="x" * 5000 + "END")
    fetch = store.ledger.steps(deployment)[0]
    assert fetch.status == "succeeded"
    assert fetch.completed_at is not None and fetch.completed_at >= fetch.started_at
    assert fetch.data == {"commit_sha": "abc"}
    assert fetch.output_tail.endswith("END") and len(fetch.output_tail) == 4000

    store.ledger.mark(deployment, 1, StepStatus.RUNNING)
    store.ledger.mark(deployment, 1, StepStatus.FAILED, error="disk full")
    store.ledger.mark(deployment, 2, StepStatus.SKIPPED)
    steps = store.ledger.steps(deployment)
    assert (steps[1].status, steps[1].error) == ("failed", "disk full")
    assert steps[1].completed_at is not None
    assert steps[2].status == "skipped" and steps[2].completed_at is not None
    assert steps[2].started_at is None
    assert steps[3].status == "pending"


def test_mark_compensation(store: Store) -> None:
    deployment = _deployment(store)
    store.ledger.plan(deployment, STEPS)
    store.ledger.mark_compensation(deployment, 3, StepStatus.COMPENSATED)
    store.ledger.mark_compensation(deployment, 1, StepStatus.COMPENSATION_FAILED, "still busy")
    steps = store.ledger.steps(deployment)
    assert (steps[3].compensation_status, steps[3].compensation_error) == ("compensated", None)
    assert (steps[1].compensation_status, steps[1].compensation_error) == (
        "compensation_failed", "still busy")
    assert steps[0].compensation_status is None
    events = store.events.after(0, deployment_id=deployment, types=("deployment.step",))
    assert [(e["payload"]["name"], e["payload"]["compensation_status"]) for e in events] == [
        ("activate", "compensated"), ("release", "compensation_failed")]


def test_log_lines_come_back_in_order_and_resume_after_an_id(store: Store) -> None:
    deployment = _deployment(store)
    other = store.queue.enqueue("web", "staging", trigger="cli").id
    ids = [store.ledger.log(deployment, f"line {i}") for i in range(5)]
    store.ledger.log(other, "not mine", stream="stderr")
    assert ids == sorted(ids)
    lines = store.ledger.logs(deployment)
    assert [row["line"] for row in lines] == [f"line {i}" for i in range(5)]
    assert [row["id"] for row in lines] == ids
    assert all(row["stream"] == "stdout" and row["logged_at"] for row in lines)
    later = store.ledger.logs(deployment, after=ids[2])
    assert [row["line"] for row in later] == ["line 3", "line 4"]
    assert [row["line"] for row in store.ledger.logs(deployment, limit=2)] == ["line 0", "line 1"]
    assert [(r["line"], r["stream"]) for r in store.ledger.logs(other)] == [("not mine", "stderr")]


def test_steps_for_several_deployments(store: Store) -> None:
    first = _deployment(store)
    second = store.queue.enqueue("web", "staging", trigger="cli").id
    third = store.queue.enqueue("api", "production", trigger="cli").id
    store.ledger.plan(first, STEPS)
    store.ledger.plan(second, ["select", "activate"])
    found = store.ledger.steps_for([second, first, third])
    assert set(found) == {first, second, third}
    assert [s.name for s in found[first]] == STEPS
    assert [s.name for s in found[second]] == ["select", "activate"]
    assert found[third] == []
    assert store.ledger.steps_for([]) == {}


def test_a_log_line_with_a_nul_byte_is_kept(store: Store) -> None:
    # Command output is decoded with errors="replace", which keeps NUL bytes as they are.
    deployment = _deployment(store)
    store.ledger.log(deployment, "binary\x00output")
    lines = [row["line"] for row in store.ledger.logs(deployment)]
    assert len(lines) == 1 and lines[0].startswith("binary")
