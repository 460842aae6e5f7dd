"""Run one queued deployment right here, in the calling process (`fraisier deploy` with no
worker running, `fraisier demo`, tests), exactly as a worker slot would."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from fraisier.engine.context import Observer
from fraisier.engine.runner import execute
from fraisier.engine.service import owner_name
from fraisier.planner import PLANNER

if TYPE_CHECKING:
    from fraisier.config import FraisierConfig
    from fraisier.store import Store
    from fraisier.store.records import DeploymentRecord


def deploy_now(store: Store, config: FraisierConfig, deployment_id: int, *,
               observer: Observer | None = None,
               cancel: threading.Event | None = None) -> DeploymentRecord:
    """Claim a queued deployment and run it in this process; returns the final record."""
    owner = owner_name()
    lease = float(config.worker.lease_seconds)
    store.queue.claim(deployment_id, owner, lease)
    return execute(store, config, deployment_id, planner=PLANNER, owner=owner,
                   lease_seconds=lease, observer=observer, cancel=cancel)
