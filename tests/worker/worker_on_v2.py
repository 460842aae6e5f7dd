"""A `fraisier worker` process caught in the middle of a deployment: v1 deployed, then v2
committed with files that slow one of its steps down, and a worker process running v2."""

from __future__ import annotations

import subprocess
import sys

from fraisier.domain.model import Trigger
from fraisier.engine.service import request_deployment
from fraisier.store.records import DeploymentRecord
from tests.support.waiting import wait_for


def worker_on_v2(harness, message: str, files: dict[str, str | None]
                 ) -> tuple[DeploymentRecord, DeploymentRecord, subprocess.Popen[bytes]]:
    """Deploy v1, commit v2 with `files`, queue it and start a worker process (in a session of
    its own) that takes it. Returns (v1's deployment, v2's, the worker process)."""
    first = harness.deploy()
    assert first.status == "succeeded", first.error
    harness.ws.commit(message, {"VERSION": "v2\n", **files})
    queued = request_deployment(harness.store, harness.config, "hello", "production",
                                trigger=Trigger.CLI)
    worker = subprocess.Popen([sys.executable, "-m", "fraisier.cli.main", "-c",
                               str(harness.ws.config_path), "worker"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    return first, queued, worker


def worker_in_a_slow_build(harness) -> tuple[DeploymentRecord, DeploymentRecord,
                                             subprocess.Popen[bytes]]:
    """`worker_on_v2` with a build that runs for a minute, once the worker runs it."""
    first, queued, worker = worker_on_v2(harness, "v2 slow", {"SLOW_BUILD": "1"})
    try:
        wait_for(lambda: any(s.name == "build" and s.status == "running"
                             for s in harness.store.queue.get(queued.id).steps),
                 what="the build step")
    except BaseException:
        worker.kill()
        worker.wait(10)
        raise
    return first, queued, worker
