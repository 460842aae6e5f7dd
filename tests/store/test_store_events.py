"""The tb_event outbox."""

from __future__ import annotations

from fraisier.domain.model import StepStatus
from fraisier.store import Store


def test_every_state_change_emits_an_event_with_increasing_ids(store: Store) -> None:
    start = store.events.last_id()
    first = store.queue.enqueue("web", "production", trigger="cli")
    second = store.queue.enqueue("web", "production", trigger="cli")  # supersedes first
    store.queue.claim(second.id, "w1", 60)
    store.ledger.plan(second.id, ["fetch"])
    store.ledger.mark(second.id, 0, StepStatus.RUNNING,
                      context={"fraise": "web", "environment": "production"})
    store.ledger.log(second.id, "hello")
    store.queue.finish(second.id, "succeeded")
    events = store.events.after(start)
    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    summary = [(e["type"], e["deployment_id"], e["payload"].get("status")) for e in events]
    assert summary == [
        ("deployment.status", first.id, "queued"),
        ("deployment.status", first.id, "superseded"),
        ("deployment.status", second.id, "queued"),
        ("deployment.status", second.id, "running"),
        ("deployment.step", second.id, "running"),
        ("deployment.log", second.id, None),
        ("deployment.status", second.id, "succeeded"),
    ]
    assert events[1]["payload"]["superseded_by"] == second.id
    assert events[4]["fraise"] == "web" and events[4]["environment"] == "production"
    assert events[5]["payload"]["line"] == "hello"
    assert store.events.last_id() == ids[-1]


def test_after_filters_by_deployment_type_and_limit(store: Store) -> None:
    one = store.queue.enqueue("web", "production", trigger="cli")
    two = store.queue.enqueue("web", "staging", trigger="cli")
    store.ledger.log(one.id, "a")
    store.ledger.log(two.id, "b")
    store.ledger.log(one.id, "c")
    mine = store.events.after(0, deployment_id=one.id)
    assert {e["deployment_id"] for e in mine} == {one.id}
    assert len(mine) == 3
    logs = store.events.after(0, deployment_id=one.id, types=("deployment.log",))
    assert [e["payload"]["line"] for e in logs] == ["a", "c"]
    # Resuming from an id sees only what came after it.
    assert [e["payload"]["line"] for e in store.events.after(logs[0]["id"],
                                                             types=("deployment.log",))] == [
        "b", "c"]
    assert len(store.events.after(0, limit=2)) == 2
    assert store.events.after(store.events.last_id()) == []


def test_a_failed_transaction_leaves_no_event(store: Store) -> None:
    from fraisier.store import Conflict

    first = store.queue.enqueue("web", "production", trigger="cli")
    store.queue.claim(first.id, "w1", 60)
    second = store.queue.enqueue("web", "production", trigger="cli")
    before = store.events.last_id()
    try:
        store.queue.claim(second.id, "w2", 60)
    except Conflict:
        pass
    assert store.events.after(before) == []


def test_notify_wakes_listeners_after_enqueue(store: Store) -> None:
    woken: list[int] = []
    store.events.listeners.append(lambda: woken.append(store.events.last_id()))
    store.queue.enqueue("web", "production", trigger="cli")
    assert woken == [store.events.last_id()]
