"""tb_worker: live workers."""

from __future__ import annotations

import os

from _store_support import ago

from fraisier.store import Store


def test_beat_registers_and_refreshes_a_worker(store: Store) -> None:
    assert store.workers.alive() == []
    store.workers.beat("worker-a", 60)
    first = store.workers.alive()
    assert [w["name"] for w in first] == ["worker-a"]
    assert first[0]["pid"] == os.getpid()
    assert first[0]["hostname"]
    store.workers.beat("worker-a", 600)
    again = store.workers.alive()
    assert len(again) == 1
    assert again[0]["expires_at"] > first[0]["expires_at"]
    assert again[0]["started_at"] == first[0]["started_at"]


def test_alive_lists_workers_by_name_and_remove_forgets_one(store: Store) -> None:
    store.workers.beat("worker-b", 60)
    store.workers.beat("worker-a", 60)
    assert [w["name"] for w in store.workers.alive()] == ["worker-a", "worker-b"]
    store.workers.remove("worker-a")
    assert [w["name"] for w in store.workers.alive()] == ["worker-b"]
    store.workers.remove("never-there")
    assert [w["name"] for w in store.workers.alive()] == ["worker-b"]


def test_an_expired_worker_is_not_alive(store: Store) -> None:
    store.workers.beat("gone", -5)
    store.workers.beat("here", 60)
    assert [w["name"] for w in store.workers.alive()] == ["here"]
    with store.db.transaction():
        store.db.execute("UPDATE tb_worker SET expires_at = ? WHERE name = ?", (ago(1), "here"))
    assert store.workers.alive() == []
    # A new beat brings it back.
    store.workers.beat("gone", 60)
    assert [w["name"] for w in store.workers.alive()] == ["gone"]
