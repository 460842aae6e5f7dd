"""Group commit: webhook writes share database transactions, on one writer thread.

A commit is the most expensive part of recording a webhook, and SQLite lets one writer in at
a time anyway. So one dedicated thread owns the writing: it takes every pending item (up to a
batch), hands the whole batch to `write` inside ONE transaction, commits, and only then gives
each caller its result. "Answered" still means "committed". When a batch fails, its items are
written again one per transaction, so a bad item fails alone and the others still land.

Callers either block (`run`, for synchronous code) or pass a callback (`submit`, for an event
loop, which must not wait on a thread). The database driver releases the GIL while SQLite
works, so the writer's SQL overlaps with the HTTP work of the event loop thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fraisier.store import StoreUnavailable
from fraisier.store.db import Database

MAX_BATCH = 64

Done = Callable[[Any, "BaseException | None"], None]
WriteBatch = Callable[[list[Any]], list[Any]]  # items -> their results, in order, in a transaction


class _Item:
    __slots__ = ("done", "item")

    def __init__(self, item: Any, done: Done):
        self.item = item
        self.done = done


class GroupCommit:
    def __init__(self, db: Database, write: WriteBatch, max_batch: int = MAX_BATCH):
        self.db = db
        self.write = write
        self.max_batch = max_batch
        self._wake = threading.Condition(threading.Lock())
        self._pending: list[_Item] = []
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, item: Any, done: Done) -> None:
        """Write `item` in a committed transaction; then `done(result, error)` is called on
        the writer thread (error is None on success)."""
        with self._wake:
            self._pending.append(_Item(item, done))
            if self._thread is None:
                self._thread = threading.Thread(target=self._write_forever,
                                                name="ingest-writer", daemon=True)
                self._thread.start()
            self._wake.notify()

    def run(self, item: Any) -> Any:
        """Write `item` in a committed transaction (shared with others); its result, or its
        error raised. Not from inside a transaction of the same database: the writer would
        wait for it."""
        finished = threading.Event()
        outcome: list[Any] = []

        def done(result: Any, error: BaseException | None) -> None:
            outcome[:] = [result, error]
            finished.set()

        self.submit(item, done)
        finished.wait()
        result, error = outcome
        if error is not None:
            raise error
        return result

    def close(self) -> None:
        """Finish what is pending, then stop the writer thread (a later `submit` starts a
        new one)."""
        with self._wake:
            self._closed = True
            thread = self._thread
            self._wake.notify()
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        with self._wake:
            self._closed = False

    def _write_forever(self) -> None:
        self.db.write_in_batches()
        while True:
            with self._wake:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if not self._pending:
                    self._thread = None
                    return
                batch = self._pending[: self.max_batch]
                del self._pending[: len(batch)]
            self._commit(batch)

    def _commit(self, batch: list[_Item]) -> None:
        outcomes = commit_batch(self.db, self.write, [entry.item for entry in batch])
        for entry, (result, error) in zip(batch, outcomes, strict=True):
            try:
                entry.done(result, error)
            except Exception:  # noqa: BLE001 - a caller's callback must not stop the writer
                pass


def commit_batch(db: Database, write: WriteBatch, items: list[Any]
                 ) -> list[tuple[Any, Exception | None]]:
    """`write(items)` in one transaction: (result, None) per item once committed. If that
    fails, each item is written again in a transaction of its own, so only the culprit gets
    its error; when the database itself is unavailable, every item gets that error."""
    try:
        with db.transaction():
            results = write(items)
        return [(result, None) for result in results]
    except Exception as exc:  # noqa: BLE001 - handed to the callers
        if len(items) > 1 and not isinstance(exc, StoreUnavailable):
            return [outcome for item in items for outcome in commit_batch(db, write, [item])]
        return [(None, exc)] * len(items)
