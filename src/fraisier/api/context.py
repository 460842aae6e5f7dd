"""What every resolver gets: the config, the store, dataloaders, limits and the caller.

Resolvers never call the store on the event loop: `read` runs a store call on the API's
database threads, `rows` does the same for a list and charges it to the operation's row
budget (api/budget.py), and `authorize` checks the token there too.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from strawberry.dataloader import DataLoader

from fraisier.api.auth import Principal, authorize, bearer_from_header, bearer_from_params
from fraisier.api.budget import RowBudget, current_budget
from fraisier.api.errors import bad_input, not_found
from fraisier.api.loaders import Loaders
from fraisier.api.threads import in_db_thread
from fraisier.domain.audit import Actor, ActorKind
from fraisier.domain.previews import preview_number
from fraisier.store.db import Row
from fraisier.store.tokens import Scope

if TYPE_CHECKING:
    from fraisier.api.types import Deployment, Environment

T = TypeVar("T")


class ApiContext:
    def __init__(self, config: Any, store: Any, *, authorization: str | None,
                 client: str = "") -> None:
        self.client = client  # the peer's address, for the audit log
        self.config = config
        self.store = store
        self.tokens = store.tokens
        self._authorization = authorization

    @property
    def loaders(self) -> Loaders:
        """The operation's dataloaders (a WebSocket context outlives its operations, and a
        dataloader belongs to the loop that first used it)."""
        budget = current_budget()
        found: Loaders | None = budget.loaders.get("api")
        if found is None:
            found = budget.loaders["api"] = Loaders(self.store)
        return found

    # -- off the event loop ---------------------------------------------------------------
    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on a database thread, in the operation's turn."""
        async with current_budget().reading_turn():
            return await in_db_thread(fn, *args)

    async def logs(self, deployment_id: int, after: int, limit: int) -> list[Row]:
        """One deployment's log lines, batched with the other deployments of the operation
        (one query per batch, not one per deployment) and charged to its budget."""
        limit = self.checked_limit(limit)
        budget = current_budget()
        budget.check()
        loader = budget.loaders.get("logs")
        if loader is None:
            loader = budget.loaders["logs"] = DataLoader(
                functools.partial(self._logs_batch, budget), cache=False)
        found: list[Row] = await loader.load((deployment_id, after, limit))
        return found

    async def _logs_batch(self, budget: RowBudget,
                          keys: list[tuple[int, int, int]]) -> list[list[Row]]:
        found: dict[tuple[int, int, int], list[Row]] = {}
        for (after, limit), ids in _group_by_page(keys).items():
            async with budget.reading_turn():
                total = budget.allowance(len(ids) * limit)
                lines = await in_db_thread(self.store.ledger.logs_for, ids, after=after,
                                           limit=limit, total=total)
                budget.charge(sum(len(rows) for rows in lines.values()))
            found.update({(i, after, limit): rows for i, rows in lines.items()})
        return [found.get(key, []) for key in keys]

    async def rows(self, limit: int, fetch: Callable[[int], list[T]], *,
                   top_level: bool = False) -> list[T]:
        """`fetch(n)` reads at most n rows: called with the checked `limit`, cut to what the
        operation's row budget has left, and charged for what it returns. A `top_level`
        list waits for the operation's other reads (RowBudget.settle) before returning."""
        limit = self.checked_limit(limit)
        budget = current_budget()
        budget.check()
        async with budget.reading_turn():
            allowed = budget.allowance(limit)
            found = await in_db_thread(fetch, allowed)
            budget.charge(len(found))
        if top_level:
            await budget.settle()
        return found

    @staticmethod
    def charge(rows: int) -> None:
        """Charge rows read some other way (dataloaders) to the operation's budget."""
        current_budget().charge(rows)

    async def authorize(self, scope: Scope, context: dict[str, Any]) -> Principal | None:
        """`require`, once per operation and scope: thirty aliases are one caller, not
        thirty token lookups."""
        checked: dict[Scope, asyncio.Future[Principal | None]] = (
            current_budget().loaders.setdefault("principals", {}))
        if scope not in checked:
            checked[scope] = asyncio.ensure_future(self.read(self.require, scope, context))
        return await asyncio.shield(checked[scope])

    # -- auth -----------------------------------------------------------------------------
    def require(self, scope: Scope, context: dict[str, Any]) -> Principal | None:
        """Blocking (reads the token table): call through `authorize` on the event loop."""
        token = bearer_from_header(self._authorization)
        if token is None:
            token = bearer_from_params(context.get("connection_params"))
        return authorize(token, scope, tokens=self.tokens,
                         anonymous_read=self.config.api.anonymous_read)

    def actor(self, principal: Principal | None) -> Actor:
        """Who is acting, for the audit log: the token's name, from the client address."""
        name = principal.name if principal is not None else "anonymous"
        return Actor(name, ActorKind.TOKEN, f"api from {self.client or 'unknown address'}")

    # -- inputs ---------------------------------------------------------------------------
    def checked_limit(self, limit: int) -> int:
        cap = self.config.api.max_limit
        if not 1 <= limit <= cap:
            raise bad_input(f"limit must be between 1 and {cap}")
        return int(limit)

    def fraise_config(self, fraise_id: str) -> Any:
        fraise = self.config.fraises.get(fraise_id)
        if fraise is None:
            raise not_found(f"no fraise {fraise_id!r}")
        return fraise

    def check_target(self, fraise_id: str, environment: str | None) -> None:
        fraise = self.fraise_config(fraise_id)
        if environment is not None and environment not in fraise.environments and not (
                fraise.previews is not None and preview_number(environment) is not None):
            raise not_found(f"fraise {fraise_id!r} has no environment {environment!r}")

    # -- shared reads ---------------------------------------------------------------------
    def environments(self, fraise_id: str) -> list[Environment]:
        from fraisier.api.types import Environment

        found = []
        for name in self.fraise_config(fraise_id).environments:
            target = self.config.target(fraise_id, name)
            found.append(Environment(fraise_id=fraise_id, name=name, branch=target.branch,
                                     app_path=str(target.app_path)))
        return found

    def preview_environments(self, fraise_id: str) -> list[Environment]:
        """The open previews of a fraise, as environments. Blocking: call through `read`."""
        from fraisier.api.types import Environment

        if self.fraise_config(fraise_id).previews is None:
            return []
        return [Environment(fraise_id=fraise_id, name=p.environment, branch=p.head_branch,
                            app_path=str(self.config.target(fraise_id, p.environment).app_path))
                for p in self.store.previews.find(fraise=fraise_id) if p.status != "removed"]

    async def history(self, fraise_id: str | None, environment: str | None, status: Any,
                      limit: int, offset: int, after: int | None, *, trigger: Any = None,
                      top_level: bool = False) -> list[Deployment]:
        from fraisier.api.types import Deployment

        if fraise_id is not None:
            self.check_target(fraise_id, environment)
        if offset < 0:
            raise bad_input("offset must not be negative")
        records = await self.rows(limit, lambda n: self.store.views.history(
            fraise=fraise_id, environment=environment,
            status=status.value if status else None, limit=n,
            offset=offset, before_id=after, with_steps=False,
            trigger=trigger.value if trigger else None), top_level=top_level)
        return [Deployment.of(r) for r in records]


def _group_by_page(keys: list[tuple[int, int, int]]) -> dict[tuple[int, int], list[int]]:
    """Deployment ids by the (after, limit) they were asked with, each id once."""
    pages: dict[tuple[int, int], dict[int, None]] = {}
    for deployment_id, after, limit in keys:
        pages.setdefault((after, limit), {})[deployment_id] = None
    return {page: list(ids) for page, ids in pages.items()}
