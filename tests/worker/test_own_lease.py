"""A worker never recovers a deployment one of its own slots is still running: an expired
lease there means a late renewal on a loaded machine, not a dead worker."""

from __future__ import annotations

import threading

from fraisier.worker import Worker
from tests.support.waiting import wait_for


def test_an_expired_lease_of_a_deployment_this_worker_runs_is_left_alone(harness):
    worker = Worker(harness.config, harness.store)
    record = harness.store.queue.enqueue("hello", "production", trigger="cli", branch="main")
    claimed = harness.store.queue.claim_next(f"{worker.name}/0", 0.05)
    assert claimed is not None and claimed.id == record.id
    wait_for(lambda: [r.id for r in harness.store.queue.expired()] == [record.id],
             what="the lease to expire")
    worker._running[record.id] = threading.Event()  # as a slot running it registers it
    assert worker.recover_expired() == []
    assert harness.store.queue.get(record.id).status == "running"
    worker._running.pop(record.id)  # the slot is gone: now it is an orphan
    assert worker.recover_expired() == [record.id]
    wait_for(lambda: harness.store.queue.get(record.id).status != "running",
             what="the recovery to finish")
