"""kill -9 a worker in every step; a new worker recovers from the ledger alone."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fraisier.domain.model import Trigger
from fraisier.engine.service import request_deployment
from fraisier.worker import Worker
from tests.support.waiting import children_of, wait_for
from tests.worker.worker_on_v2 import worker_in_a_slow_build, worker_on_v2

pytestmark = pytest.mark.slow

CRASH_WORKER = Path(__file__).with_name("crash_worker.py")
STEPS = ["fetch", "release", "install", "build", "migrate", "activate", "restart",
         "health_check", "cleanup"]


def _recover_with_a_new_worker(harness, deployment_id):
    worker = Worker(harness.config, harness.store).start()
    try:
        return wait_for(lambda: (r := harness.store.queue.get(deployment_id)).status
                        != "running" and r, what="recovery")
    finally:
        worker.stop()


@pytest.mark.parametrize("step", STEPS)
def test_worker_killed_in_step(harness, step):
    first = harness.deploy()
    assert first.status == "succeeded", first.error
    harness.ws.commit("v2", {"VERSION": "v2\n", "MIGRATION": "r2\n"})
    queued = request_deployment(harness.store, harness.config, "hello", "production",
                                trigger=Trigger.CLI)
    crashed = subprocess.run([sys.executable, str(CRASH_WORKER), str(harness.ws.config_path),
                              step], capture_output=True, timeout=120)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr.decode()[-2000:]
    assert harness.store.queue.get(queued.id).status == "running"

    record = _recover_with_a_new_worker(harness, queued.id)
    assert record.status == "interrupted", record.error
    assert harness.current == first.release
    assert harness.serving() == "v1"
    assert harness.store.releases.active("hello", "production").release_id == first.release
    # The half-made release is gone and never a rollback target.
    assert harness.release_dirs() == [first.release]
    if step in ("activate", "restart", "health_check", "cleanup"):
        # migrate had completed: its `down` ran.
        assert harness.db_revisions() == []
    # Nothing was queued again by recovery, and the environment deploys normally.
    assert [r.status for r in harness.store.views.history(limit=10, with_steps=False)] == \
        ["interrupted", "succeeded"]
    again = harness.deploy()
    assert again.status == "succeeded", again.error
    assert harness.serving() == "v2"


def test_kill_9_from_outside_during_a_slow_build(harness):
    first, queued, worker = worker_in_a_slow_build(harness)
    children: list[int] = []
    try:
        wait_for(lambda: children.extend(children_of(worker.pid)) or children,
                 what="the build process")
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
        for pid in children:  # the build runs in its own process group: end it too
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    record = _recover_with_a_new_worker(harness, queued.id)
    assert record.status == "interrupted"
    assert harness.current == first.release
    assert harness.serving() == "v1"
    harness.ws.commit("v3", {"VERSION": "v3\n", "SLOW_BUILD": None})
    assert harness.deploy().status == "succeeded"
    assert harness.serving() == "v3"



def test_a_long_recovery_keeps_its_lease_and_its_worker_alive(harness):
    """Undoing can outlast a lease (a rollout restores hosts one by one): the recovering
    worker keeps beating and renewing the recovery's lease, so nobody takes it over."""
    first = harness.deploy()
    assert first.status == "succeeded", first.error
    harness.ws.commit("v2", {"VERSION": "v2\n", "MIGRATION": "r2\n", "HELD_DOWN": "1\n"})
    queued = request_deployment(harness.store, harness.config, "hello", "production",
                                trigger=Trigger.CLI)
    crashed = subprocess.run([sys.executable, str(CRASH_WORKER), str(harness.ws.config_path),
                              "activate"], capture_output=True, timeout=120)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr.decode()[-2000:]

    worker = Worker(harness.config, harness.store).start()
    app = harness.ws.app_path
    try:
        # Recovery is inside migrate.down, which waits for the test.
        wait_for(lambda: (app / "down.started").exists(), what="migrate.down")
        beats, leases = set(), set()

        def advancing() -> bool:
            alive = {w["name"]: w for w in harness.store.workers.alive()}
            assert worker.name in alive, "the recovering worker stopped beating"
            beats.add(alive[worker.name]["heartbeat_at"])
            leases.add(harness.store.queue.get(queued.id, with_steps=False).lease_expires_at)
            return len(beats) >= 3 and len(leases) >= 3

        wait_for(advancing, what="heartbeats and lease renewals during recovery")
        (app / "down.release").write_text("go")
        record = wait_for(lambda: (r := harness.store.queue.get(queued.id)).status
                          != "running" and r, what="recovery")
    finally:
        (app / "down.release").write_text("go")
        worker.stop()
    assert record.status == "interrupted", record.error
    # The outcome names the worker that died, not the one that recovered.
    assert record.error.startswith("worker worker:") and worker.name not in record.error
    assert harness.db_revisions() == []
    assert harness.current == first.release
    logs = [entry["line"] for entry in harness.store.ledger.logs(queued.id)]
    assert sum(line.startswith(f"recovering deployment {queued.id}") for line in logs) == 1


def _kill_worker_during_migrate(harness) -> int:
    """Deploy v1, then run v2 in a `fraisier worker` process that is killed with SIGKILL
    while `migrate.up` is half-way (one revision written, still running). Returns the
    queued deployment's id and leaves the migration's process to recovery."""
    _, queued, worker = worker_on_v2(harness, "v2 slow migration",
                                     {"MIGRATION": "r2\n", "SLOW_MIGRATE": "1"})
    try:
        log = harness.ws.app_path / "m.log"
        wait_for(lambda: log.exists() and "up-start" in log.read_text(),
                 what="the migration to start")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    return queued.id


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_migration_left_running_by_a_dead_worker_is_stopped_then_taken_down(harness):
    deployment_id = _kill_worker_during_migrate(harness)
    migration = int((harness.ws.app_path / "migrate.pid").read_text())
    assert _alive(migration), "the migration outlives its worker (own process group)"

    record = _recover_with_a_new_worker(harness, deployment_id)
    # Stopped before anything was decided, so it can never finish after the undo.
    assert not _alive(migration)
    assert "up-done" not in (harness.ws.app_path / "m.log").read_text()
    # Its revision before was noted while it ran: `down` took the database back there.
    assert record.status == "interrupted", record.error
    assert harness.db_revisions() == []
    steps = {s.name: s for s in record.steps}
    assert steps["migrate"].compensation_status == "compensated"
    logs = [entry["line"] for entry in harness.store.ledger.logs(deployment_id)]
    assert any(line.startswith("stopped migrate up (process group") for line in logs)
    assert harness.store.ledger.commands_running(deployment_id) == []
    assert harness.serving() == "v1"


def test_a_half_applied_migration_with_no_way_back_ends_rollback_failed(harness):
    # Without `migrate.status` the revision before is unknown: nothing can take it back.
    config = harness.ws.config_path.read_text()
    harness.ws.config_path.write_text(
        "\n".join(line for line in config.splitlines() if "migrate-status" not in line) + "\n")
    harness.reload_config()
    deployment_id = _kill_worker_during_migrate(harness)
    migration = int((harness.ws.app_path / "migrate.pid").read_text())

    record = _recover_with_a_new_worker(harness, deployment_id)
    assert not _alive(migration)
    assert record.status == "rollback_failed", record.error
    assert "migration may be partly applied: check the database" in record.error
    assert "compensated" not in record.error.split("; ")[-1]
    steps = {s.name: s for s in record.steps}
    assert steps["migrate"].compensation_status == "compensation_failed"
    assert harness.db_revisions() == ["r2"]  # left as it is, and said so
    assert harness.serving() == "v1"
