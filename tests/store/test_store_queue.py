"""tb_deployment as a queue: enqueue, supersede, claim, lease, finish, cancel."""

from __future__ import annotations

import pytest
from _store_support import ago, set_columns

from fraisier.domain.model import parse_timestamp
from fraisier.store import Conflict, NotFound, Store


def test_enqueue_gives_a_queued_deployment(store: Store) -> None:
    record = store.queue.enqueue("web", "production", trigger="cli", branch="main",
                                 requested_commit="abc1234", force=True, options={"k": 1})
    assert record.status == "queued"
    assert (record.fraise, record.environment, record.trigger) == ("web", "production", "cli")
    assert record.branch == "main"
    assert record.requested_commit == "abc1234"
    assert record.force is True
    assert record.options == {"k": 1}
    assert record.queued_at and record.started_at is None and record.lease_owner is None
    assert store.queue.get(record.id).status == "queued"


def test_get_of_a_missing_deployment_raises_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.queue.get(424242)


def test_a_newer_request_supersedes_the_queued_one_of_the_same_environment(store: Store) -> None:
    first = store.queue.enqueue("web", "production", trigger="webhook")
    staging = store.queue.enqueue("web", "staging", trigger="webhook")
    other_fraise = store.queue.enqueue("api", "production", trigger="webhook")
    second = store.queue.enqueue("web", "production", trigger="webhook")

    old = store.queue.get(first.id)
    assert old.status == "superseded"
    assert old.superseded_by == second.id
    assert old.completed_at is not None
    assert store.queue.get(second.id).status == "queued"
    assert store.queue.get(staging.id).status == "queued"
    assert store.queue.get(other_fraise.id).status == "queued"


def test_a_running_deployment_is_not_superseded(store: Store) -> None:
    running = store.queue.enqueue("web", "production", trigger="cli")
    store.queue.claim(running.id, "w1", 60)
    store.queue.enqueue("web", "production", trigger="cli")
    assert store.queue.get(running.id).status == "running"


def test_claim_next_takes_the_oldest_queued_and_sets_a_lease(store: Store) -> None:
    first = store.queue.enqueue("web", "production", trigger="cli")
    store.queue.enqueue("web", "staging", trigger="cli")
    claimed = store.queue.claim_next("worker-1", 60)
    assert claimed is not None
    assert claimed.id == first.id
    assert claimed.status == "running"
    assert claimed.lease_owner == "worker-1"
    assert claimed.started_at is not None
    assert parse_timestamp(claimed.lease_expires_at) > parse_timestamp(claimed.started_at)


def test_claim_next_skips_a_busy_environment(store: Store) -> None:
    busy = store.queue.enqueue("web", "production", trigger="cli")
    store.queue.claim(busy.id, "worker-1", 60)
    waiting = store.queue.enqueue("web", "production", trigger="cli")
    assert store.queue.claim_next("worker-2", 60) is None
    free = store.queue.enqueue("web", "staging", trigger="cli")
    claimed = store.queue.claim_next("worker-2", 60)
    assert claimed is not None and claimed.id == free.id
    assert store.queue.get(waiting.id).status == "queued"
    # Once the environment is free again its queued deployment can start.
    store.queue.finish(busy.id, "succeeded")
    claimed = store.queue.claim_next("worker-2", 60)
    assert claimed is not None and claimed.id == waiting.id


def test_claim_next_with_nothing_queued_returns_none(store: Store) -> None:
    assert store.queue.claim_next("worker-1", 60) is None


def test_the_database_refuses_a_second_running_deployment_per_environment(store: Store) -> None:
    first = store.queue.enqueue("web", "production", trigger="cli")
    store.queue.claim(first.id, "worker-1", 60)
    # The second stays queued: enqueue never supersedes a running deployment.
    second = store.queue.enqueue("web", "production", trigger="cli")
    with pytest.raises(Conflict):
        store.db.execute("UPDATE tb_deployment SET status = 'running' WHERE id = ?", (second.id,))
    with pytest.raises(Conflict), store.db.transaction():
        store.db.execute("UPDATE tb_deployment SET status = 'running' WHERE id = ?",
                         (second.id,))
    assert store.queue.get(second.id).status == "queued"
    assert [r.id for r in store.queue.running("web", "production")] == [first.id]
    with pytest.raises(Conflict):
        store.queue.claim(second.id, "worker-2", 60)
    assert store.queue.get(second.id).status == "queued"


def test_other_environments_may_run_at_the_same_time(store: Store) -> None:
    production = store.queue.enqueue("web", "production", trigger="cli")
    staging = store.queue.enqueue("web", "staging", trigger="cli")
    store.queue.claim(production.id, "w1", 60)
    store.queue.claim(staging.id, "w2", 60)
    assert {r.environment for r in store.queue.running("web")} == {"production", "staging"}


@pytest.mark.parametrize("final", ["succeeded", "cancelled", "superseded"])
def test_claim_of_a_deployment_that_is_not_queued_raises_conflict(store: Store,
                                                                  final: str) -> None:
    record = store.queue.enqueue("web", "production", trigger="cli")
    if final == "succeeded":
        store.queue.claim(record.id, "w1", 60)
        store.queue.finish(record.id, "succeeded")
    elif final == "cancelled":
        assert store.queue.cancel_queued(record.id) is True
    else:
        store.queue.enqueue("web", "production", trigger="cli")
    with pytest.raises(Conflict):
        store.queue.claim(record.id, "w2", 60)
    assert store.queue.get(record.id).status == final


def test_claim_of_a_missing_deployment_raises_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.queue.claim(9999, "w1", 60)


def test_renew_lease_only_for_its_owner(store: Store) -> None:
    record = store.queue.enqueue("web", "production", trigger="cli")
    claimed = store.queue.claim(record.id, "owner-a", 60)
    assert store.queue.renew_lease(record.id, "owner-a", 600) is True
    renewed = store.queue.get(record.id)
    assert renewed.lease_expires_at > claimed.lease_expires_at
    assert store.queue.renew_lease(record.id, "owner-b", 600) is False
    assert store.queue.get(record.id).lease_expires_at == renewed.lease_expires_at
    store.queue.finish(record.id, "succeeded")
    assert store.queue.renew_lease(record.id, "owner-a", 600) is False


def test_expired_lists_running_deployments_whose_lease_ran_out(store: Store) -> None:
    stale = store.queue.enqueue("web", "production", trigger="cli")
    fresh = store.queue.enqueue("web", "staging", trigger="cli")
    store.queue.claim(stale.id, "gone", 60)
    store.queue.claim(fresh.id, "alive", 60)
    set_columns(store, "tb_deployment", stale.id, lease_expires_at=ago(5))
    assert [r.id for r in store.queue.expired()] == [stale.id]
    # A lease given with a negative length is already over.
    late = store.queue.enqueue("api", "production", trigger="cli")
    store.queue.claim(late.id, "gone", -30)
    assert [r.id for r in store.queue.expired()] == [stale.id, late.id]
    store.queue.finish(stale.id, "interrupted")
    assert [r.id for r in store.queue.expired()] == [late.id]


def test_finish_records_the_outcome_and_clears_the_lease(store: Store) -> None:
    record = store.queue.enqueue("web", "production", trigger="cli")
    store.queue.claim(record.id, "w1", 60)
    last_event = store.events.last_id()
    done = store.queue.finish(record.id, "failed", "boom")
    assert done.status == "failed"
    assert done.error == "boom"
    assert done.completed_at is not None and done.completed_at >= done.started_at
    assert done.duration_seconds is not None and done.duration_seconds >= 0
    assert done.lease_owner is None and done.lease_expires_at is None
    events = store.events.after(last_event, deployment_id=record.id)
    assert [(e["type"], e["payload"]["status"]) for e in events] == [
        ("deployment.status", "failed")]
    assert events[0]["payload"]["error"] == "boom"
    # The environment is free again.
    nxt = store.queue.enqueue("web", "production", trigger="cli")
    assert store.queue.claim_next("w2", 60).id == nxt.id


def test_finish_by_its_owner_stops_once_the_lease_was_taken_over(store: Store) -> None:
    # Worker A stalled past its lease; worker B took the deployment over and recovered it.
    # When A wakes up and ends the run, B's outcome stands: A's finish records nothing.
    record = store.queue.enqueue("web", "production", trigger="cli")
    store.queue.claim(record.id, "worker-a/0", 60)
    set_columns(store, "tb_deployment", record.id, lease_expires_at=ago(5))
    assert store.queue.take_over(record.id, "worker-b/recovery", 60) is True
    assert store.queue.renew_lease(record.id, "worker-a/0", 60) is False
    store.queue.finish(record.id, "interrupted", "worker worker-a/0 stopped while running")
    last_event = store.events.last_id()
    late = store.queue.finish(record.id, "failed", "release directory vanished",
                              owner="worker-a/0")
    assert (late.status, late.error) == ("interrupted", "worker worker-a/0 stopped while running")
    assert store.events.after(last_event, deployment_id=record.id) == []
    # While it still holds the lease, its owner's finish is recorded as usual.
    other = store.queue.enqueue("web", "staging", trigger="cli")
    store.queue.claim(other.id, "worker-a/1", 60)
    assert store.queue.finish(other.id, "succeeded", owner="worker-a/1").status == "succeeded"
    # ...and not by another owner.
    third = store.queue.enqueue("api", "production", trigger="cli")
    store.queue.claim(third.id, "worker-a/2", 60)
    assert store.queue.finish(third.id, "failed", "x", owner="worker-b/0").status == "running"


def test_finish_of_a_deployment_that_never_started_has_no_duration(store: Store) -> None:
    record = store.queue.enqueue("web", "production", trigger="cli")
    done = store.queue.finish(record.id, "failed", "never ran")
    assert done.duration_seconds is None
    assert done.status == "failed"


def test_finish_rejects_an_unknown_status(store: Store) -> None:
    record = store.queue.enqueue("web", "production", trigger="cli")
    with pytest.raises(ValueError):
        store.queue.finish(record.id, "exploded")
    assert store.queue.get(record.id).status == "queued"


def test_cancel_queued(store: Store) -> None:
    record = store.queue.enqueue("web", "production", trigger="cli")
    assert store.queue.cancel_queued(record.id) is True
    cancelled = store.queue.get(record.id)
    assert cancelled.status == "cancelled" and cancelled.completed_at is not None
    assert store.queue.cancel_queued(record.id) is False
    running = store.queue.enqueue("web", "production", trigger="cli")
    store.queue.claim(running.id, "w1", 60)
    assert store.queue.cancel_queued(running.id) is False
    assert store.queue.get(running.id).status == "running"
    statuses = [e["payload"]["status"] for e in store.events.after(0, deployment_id=record.id)]
    assert statuses == ["queued", "cancelled"]


def test_update_changes_only_the_allowed_fields(store: Store) -> None:
    record = store.queue.enqueue("web", "production", trigger="cli")
    store.queue.update(record.id, commit_sha="f" * 40, release="r1", options={"to": "x"})
    updated = store.queue.get(record.id)
    assert (updated.commit_sha, updated.release, updated.options) == ("f" * 40, "r1", {"to": "x"})
    with pytest.raises(ValueError):
        store.queue.update(record.id, status="succeeded")
    assert store.queue.get(record.id).status == "queued"


def test_record_json_has_the_public_fields(store: Store) -> None:
    record = store.queue.enqueue("web", "production", trigger="cli", requested_commit="abc")
    data = record.to_json()
    for key in ("id", "fraise", "environment", "status", "trigger", "commit_sha", "branch",
                "release", "previous_release", "queued_at", "started_at", "completed_at",
                "duration_seconds", "error", "steps"):
        assert key in data
    # Before fetch pins the commit, the requested one stands in.
    assert data["commit_sha"] == "abc"
