"""Run one queued deployment right here, in the calling process (`fraisier deploy` with no
worker running, `fraisier demo`, tests), exactly as a worker slot would."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from fraisier.engine.context import ProgressObserver
from fraisier.engine.runner import execute
from fraisier.engine.service import owner_name
from fraisier.planner import PLANNER

if TYPE_CHECKING:
    from fraisier.config import FraisierConfig
    from fraisier.store import Store
    from fraisier.store.records import DeploymentRecord


def deploy_now(store: Store, config: FraisierConfig, deployment_id: int, *,
               observer: ProgressObserver | None = None,
               cancel: threading.Event | None = None) -> DeploymentRecord:
    """Claim a queued deployment and run it in this process; returns the final record."""
    owner = owner_name()
    lease = float(config.worker.lease_seconds)
    store.queue.claim(deployment_id, owner, lease)
    return execute(store, config, deployment_id, planner=PLANNER, owner=owner,
                   lease_seconds=lease, observer=observer, cancel=cancel)


def recover_orphans(store: Store, config: FraisierConfig, *,
                    deployment_id: int | None = None) -> list[DeploymentRecord]:
    """Recover, here and now, the deployments whose lease expired (their process died: a
    `fraisier deploy` killed, a worker gone), or only `deployment_id`: take each over (one
    winner among all processes) and run the same recovery a worker runs; returns their final
    records. Any process that finds an orphan may do this — `deploy` and `cancel` when no
    worker is alive, `serve` without its worker."""
    import logging

    from fraisier.engine.recovery import recover

    log = logging.getLogger("fraisier.recovery")
    owner = owner_name("recovery")
    lease = float(config.worker.lease_seconds)
    recovered = []
    for record in store.queue.expired():
        if deployment_id is not None and record.id != deployment_id:
            continue
        if not store.queue.take_over(record.id, owner, lease):
            continue  # another process got there first
        log.warning("deployment %s (%s/%s): its process (%s) stopped renewing its lease; "
                    "recovering it", record.id, record.fraise, record.environment,
                    record.lease_owner)
        done = threading.Event()

        renewer = threading.Thread(target=_renew, args=(store, record.id, owner, lease, done),
                                   daemon=True, name=f"renew-{record.id}")
        renewer.start()
        try:
            recovered.append(recover(store, config, record.id, record.lease_owner,
                                     planner=PLANNER))
        except Exception:  # leave it finished and say so; the environment must be freed
            log.exception("recovery of deployment %s failed", record.id)
            recovered.append(store.queue.finish(
                record.id, "interrupted", "its process died; recovery failed (see the log)"))
        finally:
            done.set()
            renewer.join(5)
    return recovered


def _renew(store: Store, deployment_id: int, owner: str, lease: float,
           done: threading.Event) -> None:
    """Keep the lease while recovering: undoing a rollout can outlast one lease."""
    while not done.wait(max(0.2, min(lease / 3, 2.0))):
        store.queue.renew_lease(deployment_id, owner, lease)
