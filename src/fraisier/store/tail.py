"""Tail the tb_event outbox without ever skipping an event.

On SQLite, writers are serialized (BEGIN IMMEDIATE), so ids become visible in id order and
"everything after the last id seen" is exact. On PostgreSQL an identity id is taken when a
row is inserted but becomes visible only at COMMIT: a transaction holding id 10 may commit
after id 11 was read. A reader that only asked for `id > 11` would skip 10 for ever.

So the tailer keeps a *floor* and a set of ids already delivered above it. Each poll reads
`id > floor`, delivers the rows it has not delivered yet, and moves the floor up only past
rows older than `settle_seconds` (by their `created_at`). A gap below such a row belongs to
a transaction that has been open longer than the settle time; Fraisier's transactions last
milliseconds, so such a gap is a rolled-back insert. Delivery is at-least-once only across
a reconnect: a client resuming with `after=N` gets every event above N, plus (on
PostgreSQL) events at or below N that committed within the settle window — clients drop
ids they have already seen.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fraisier.domain.model import utc_now, utc_timestamp

if TYPE_CHECKING:
    from fraisier.store import Store

POSTGRES_SETTLE_SECONDS = 10.0

# Runs a blocking call off the event loop and awaits it (asyncio.to_thread's shape).
InThread = Callable[[Callable[[], Any]], Awaitable[Any]]


class OutboxTail:
    def __init__(self, store: Store, *, after: int, deployment_id: int | None = None,
                 types: tuple[str, ...] = (), settle_seconds: float | None = None,
                 batch: int = 500) -> None:
        self.store = store
        self.deployment_id = deployment_id
        self.types = types
        self.batch = batch
        if settle_seconds is None:
            settle_seconds = POSTGRES_SETTLE_SECONDS if store.backend == "postgres" else 0.0
        self.settle = timedelta(seconds=settle_seconds)
        self.floor = self._start_floor(after)
        self.delivered: set[int] = set()
        self.after = after

    def _start_floor(self, after: int) -> int:
        if not self.settle:
            return after
        # Re-read the recent events at or below `after`: one of them may have committed
        # after the client last read (see the module docstring).
        since = utc_timestamp(utc_now() - self.settle)
        row = self.store.db.fetchone(
            "SELECT MIN(id) AS id FROM tb_event WHERE id <= ? AND created_at >= ?",
            (after, since))
        first_recent = row["id"] if row and row["id"] is not None else None
        return min(after, first_recent - 1) if first_recent is not None else after

    def poll(self) -> list[dict[str, Any]]:
        """The events not delivered yet, in id order."""
        rows = self.store.events.after(self.floor, limit=self.batch,
                                       deployment_id=self.deployment_id, types=self.types)
        fresh = [row for row in rows if row["id"] not in self.delivered]
        if not self.settle:
            if rows:
                self.floor = rows[-1]["id"]
            return fresh
        self.delivered.update(row["id"] for row in fresh)
        settled_before = utc_timestamp(utc_now() - self.settle)
        for row in rows:
            if row["created_at"] >= settled_before:
                break
            self.floor = row["id"]
        self.delivered = {i for i in self.delivered if i > self.floor}
        return fresh

    def drain(self) -> Iterator[dict[str, Any]]:
        """Every event available now, however many batches that takes."""
        while True:
            events = self.poll()
            yield from events
            if len(events) < self.batch:
                return

    def follow(self, *, interval: float = 0.2, stop: Callable[[], bool] | None = None,
               sleep: Callable[[float], None] = time.sleep) -> Iterator[dict[str, Any]]:
        """Yield events for ever, or until `stop()` is true after a quiet poll. Blocking:
        for threads and the CLI; the event loop uses `follow_async`."""
        while True:
            yield from self.drain()
            if stop is not None and stop():
                # One more read: the event that made `stop` true may have arrived meanwhile.
                yield from self.drain()
                return
            sleep(interval)

    async def follow_async(self, *, interval: float = 0.2,
                           stop: Callable[[], bool] | None = None,
                           in_thread: InThread | None = None,
                           ) -> AsyncIterator[dict[str, Any]]:
        """`follow` for the event loop: every database read runs on a worker thread, so a
        slow query never stalls other requests. `in_thread` picks the threads (default:
        asyncio's), e.g. the API's own bounded pool."""
        run: InThread = in_thread or asyncio.to_thread
        while True:
            for event in await run(lambda: list(self.drain())):
                yield event
            if stop is not None and await run(stop):
                for event in await run(lambda: list(self.drain())):
                    yield event
                return
            await asyncio.sleep(interval)

    # -- a durable position (the notifier keeps one in the state database) -------------------
    @property
    def position(self) -> tuple[int, set[int]]:
        """What to save to resume later without repeating an event: the floor and the ids
        above it already delivered."""
        return self.floor, set(self.delivered)

    @classmethod
    def resume(cls, store: Store, floor: int, delivered: set[int], **options: Any) -> OutboxTail:
        """A tail that goes on exactly where `position` was taken: events above `floor` not
        in `delivered`. Nothing below the saved floor is read again (it had settled)."""
        tail = cls(store, after=floor, **options)
        tail.floor = floor
        tail.delivered = {i for i in delivered if i > floor}
        return tail
