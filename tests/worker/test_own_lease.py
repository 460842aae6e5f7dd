"""A worker never recovers a deployment one of its own slots is still running: an expired
lease there means a late renewal on a loaded machine, not a dead worker."""

from __future__ import annotations

import signal
import threading

from fraisier.worker import Worker
from tests.support.waiting import wait_for
from tests.worker.worker_on_v2 import worker_in_a_slow_build


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


def test_a_worker_stalled_past_its_lease_does_not_overwrite_the_recovery(harness):
    # Worker A (a process) is stopped with SIGSTOP during a slow build, past its 1 s lease:
    # to everyone else it is dead. Worker B recovers the deployment (`interrupted`). When A
    # runs again, its heartbeat finds the lease gone, or, should its run end first, its
    # finish is refused (store/queue.py fences it by the lease owner): B's outcome stands.
    first, queued, stalled = worker_in_a_slow_build(harness)
    recovering = None
    try:
        stalled.send_signal(signal.SIGSTOP)
        recovering = Worker(harness.config, harness.store).start()
        recovered = wait_for(lambda: (r := harness.store.queue.get(queued.id)).status
                             != "running" and r, what="the recovery")
        assert recovered.status == "interrupted", recovered.error
        stalled.send_signal(signal.SIGCONT)
        # A wakes up; the recovery has stopped its build. A graceful stop lets its slot end
        # that run before the process exits.
        stalled.terminate()
        assert stalled.wait(30) == 0
    finally:
        stalled.send_signal(signal.SIGCONT)
        stalled.terminate()
        stalled.wait(30)
        if recovering is not None:
            recovering.stop()
    final = harness.store.queue.get(queued.id)
    assert (final.status, final.error) == (recovered.status, recovered.error)
    statuses = [e["payload"]["status"] for e in harness.store.events.after(
        0, deployment_id=queued.id, types=("deployment.status",))]
    assert statuses == ["queued", "running", "interrupted"]
    assert harness.current == first.release
