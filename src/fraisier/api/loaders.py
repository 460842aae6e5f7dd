"""Dataloaders: a list of N things asks the database once per field, not once per item.

Caching is off: a WebSocket connection keeps one context for its whole life, and a cached
deployment would go stale; batching alone is what prevents N+1 queries.
"""

from __future__ import annotations

from strawberry.dataloader import DataLoader


class Loaders:
    def __init__(self, store):
        self.store = store
        self.status = DataLoader(self._status, cache=False)
        self.deployment = DataLoader(self._deployments, cache=False)
        self.steps = DataLoader(self._steps, cache=False)

    async def _status(self, keys: list[tuple[str, str]]) -> list[dict | None]:
        found = self.store.views.status_of(list(keys))
        return [found.get(key) for key in keys]

    async def _deployments(self, ids: list[int]):
        from fraisier.store import DeploymentRecord

        marks = ",".join("?" * len(ids))
        rows = self.store.db.fetchall(f"SELECT * FROM tb_deployment WHERE id IN ({marks})",
                                      list(ids))
        found = {int(row["id"]): DeploymentRecord.from_row(row) for row in rows}
        return [found.get(i) for i in ids]

    async def _steps(self, ids: list[int]):
        found = self.store.ledger.steps_for(list(dict.fromkeys(ids)))
        return [found[i] for i in ids]
