"""The row budget of one GraphQL operation: how many rows and log lines it may read in total,
counted across all its fields and aliases (`api.max_rows_per_request`).

Per-field limits (`api.max_limit`) and the alias cap do not bound a request on their own:
thirty aliases of `deploymentHistory(limit: 500) { logs(limit: 500) }` stay inside both and
ask for 7.5 million lines. So every list a resolver reads is charged here, and a read never
asks the database for more than the budget has left (plus one row, which is how an
over-budget request is recognised). Once the budget is spent, reads raise instead of running,
and `RowBudgetExtension` answers the whole operation with one `BAD_USER_INPUT` error: a
client gets all of its answer or a clear refusal, never a silently shortened list.

An operation's store calls also take turns (`turn`): one request occupies at most one of the
API's database threads at a time, so a heavy client cannot take them all, and each read sees
what the reads before it used.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from fraisier.api.errors import Code

BUDGET_KEY = "api.max_rows_per_request"


class RowBudget:
    """Rows an operation may still read; `limit=None` is unbounded."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.used = 0
        self.turn = asyncio.Lock()
        # Store calls of this operation queued or running, and an event set whenever there
        # are none (or the budget is spent): see `settle`.
        self.reading = 0
        self.quiet = asyncio.Event()
        self.quiet.set()
        # Dataloaders whose batches are charged to this budget: one set per operation.
        self.loaders: dict[str, Any] = {}

    @property
    def exceeded(self) -> bool:
        return self.limit is not None and self.used > self.limit

    def allowance(self, wanted: int) -> int:
        """How many rows the next read may fetch: `wanted`, but never more than one past
        what is left (that row proves the operation over budget). Raises once it is."""
        if self.limit is None:
            return wanted
        self.check()
        return min(wanted, self.limit - self.used + 1)

    def charge(self, rows: int) -> None:
        """Count `rows`; raise if that took the operation over its budget."""
        self.used += rows
        if self.exceeded:
            self.quiet.set()
        self.check()

    @contextlib.asynccontextmanager
    async def reading_turn(self) -> AsyncIterator[None]:
        """The operation's turn for one store call, counted in `reading`."""
        if self.reading == 0:
            self.quiet.clear()
        self.reading += 1
        try:
            async with self.turn:
                yield
        finally:
            self.reading -= 1
            if self.reading == 0:
                self.quiet.set()

    async def settle(self) -> None:
        """Wait until none of the operation's store calls is queued or running, then raise
        if it is over budget. Top-level lists call it before returning their rows: all the
        top-level fields start together, so their reads are queued at once, and an
        operation over budget is refused before graphql-core builds a single object of its
        answer (thousands of them cost seconds of CPU)."""
        await self.quiet.wait()
        self.check()

    def check(self) -> None:
        """Raise once over budget. The error ends the operation early: every list field is
        non-null, so it reaches the root and graphql-core cancels the fields still running,
        instead of building objects for an answer that will be refused."""
        if self.exceeded:
            raise self.error()

    def reset(self) -> None:
        self.used = 0

    def error(self) -> GraphQLError:
        return GraphQLError(
            f"this request reads more than {self.limit} rows and log lines"
            f" ({BUDGET_KEY}); ask for fewer: smaller limits, fewer aliases or fields",
            extensions={"code": Code.BAD_USER_INPUT.value})


_current: ContextVar[RowBudget | None] = ContextVar("fraisier_row_budget", default=None)


def current_budget() -> RowBudget:
    """The running operation's budget (unbounded outside one, e.g. a bare test schema)."""
    budget = _current.get()
    if budget is None:
        budget = RowBudget(None)
        _current.set(budget)
    return budget


class RowBudgetExtension(SchemaExtension):
    """Gives each operation a fresh budget, and refuses it whole when it went over. A
    subscription's budget is per event: each event's answer is checked, then it starts
    again."""

    def __init__(self, *, limit: int) -> None:
        self.limit = limit
        self.budget = RowBudget(limit)
        self._streamed = False

    def on_operation(self) -> Iterator[None]:
        self.budget = RowBudget(self.limit)
        self._streamed = False
        token = _current.set(self.budget)
        try:
            yield
        finally:
            try:
                _current.reset(token)
            except ValueError:  # left in another context (a stream closed elsewhere)
                pass
        if not self._streamed:
            self._refuse_if_over(self.execution_context.result)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        self._streamed = True
        self._refuse_if_over(result)
        yield
        self.budget.reset()

    def _refuse_if_over(self, result: Any) -> None:
        if result is not None and self.budget.exceeded and hasattr(result, "errors"):
            result.data = None
            result.errors = [self.budget.error()]
