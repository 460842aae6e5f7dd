"""Dataloaders: a list of N things asks the database once per field, not once per item.

Caching is off: a WebSocket connection keeps one context for its whole life, and a cached
deployment would go stale; batching alone is what prevents N+1 queries. Each batch runs on
the API's database threads, never on the event loop.
"""

from __future__ import annotations

from typing import Any

from strawberry.dataloader import DataLoader

from fraisier.api.threads import in_db_thread
from fraisier.store.audit import Requester
from fraisier.store.db import Row
from fraisier.store.health import HealthState
from fraisier.store.records import DeploymentRecord, StepRecord


class Loaders:
    def __init__(self, store: Any) -> None:
        self.store = store
        self.status = DataLoader(self._status, cache=False)
        self.deployment = DataLoader(self._deployments, cache=False)
        self.steps = DataLoader(self._steps, cache=False)
        self.requesters = DataLoader(self._requesters, cache=False)
        self.health = DataLoader(self._health, cache=False)

    async def _status(self, keys: list[tuple[str, str]]) -> list[Row | None]:
        found = await in_db_thread(self.store.views.status_of, list(keys))
        return [found.get(key) for key in keys]

    async def _deployments(self, ids: list[int]) -> list[DeploymentRecord | None]:
        found = await in_db_thread(self.store.queue.get_many, list(dict.fromkeys(ids)))
        return [found.get(i) for i in ids]

    async def _steps(self, ids: list[int]) -> list[list[StepRecord]]:
        found = await in_db_thread(self.store.ledger.steps_for, list(dict.fromkeys(ids)))
        return [found[i] for i in ids]

    async def _requesters(self, ids: list[int]) -> list[Requester | None]:
        found = await in_db_thread(self.store.audit.requesters, list(dict.fromkeys(ids)))
        return [found.get(i) for i in ids]

    async def _health(self, keys: list[tuple[str, str]]) -> list[HealthState | None]:
        found = await in_db_thread(self.store.health.of, list(keys))
        return [found.get(key) for key in keys]
