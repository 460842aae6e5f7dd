"""Group commit: concurrent webhook transactions share one database commit.

A commit is the most expensive part of recording a webhook. When requests arrive together,
the first becomes the leader: it takes every pending request (up to a batch), runs each in
its own savepoint inside ONE transaction, commits, and wakes the others with their results;
then it hands the leadership to the next pending request, if any. Each request still
returns only after the commit that holds its rows, so "202 means durable" is unchanged,
and one request failing rolls back only its own savepoint.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

MAX_BATCH = 64


class _Item:
    __slots__ = ("error", "event", "finished", "fn", "lead", "result")

    def __init__(self, fn: Callable[[], Any]):
        self.fn = fn
        self.event = threading.Event()
        self.lead = False
        self.finished = False
        self.result: Any = None
        self.error: BaseException | None = None


class GroupCommit:
    def __init__(self, db, max_batch: int = MAX_BATCH):
        self.db = db
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._pending: list[_Item] = []
        self._leading = False

    def run(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` inside a committed transaction (shared with others); its result or error."""
        item = _Item(fn)
        with self._lock:
            self._pending.append(item)
            if not self._leading:
                self._leading = item.lead = True
        while True:
            if item.lead and not item.finished:
                self._lead()
            if item.finished:
                break
            item.event.wait()
            item.event.clear()
        if item.error is not None:
            raise item.error
        return item.result

    def _lead(self) -> None:
        with self._lock:
            batch = self._pending[: self.max_batch]
            del self._pending[: len(batch)]
        self._commit(batch)
        with self._lock:
            if self._pending:
                following = self._pending[0]
                following.lead = True
                following.event.set()
            else:
                self._leading = False

    def _commit(self, batch: list[_Item]) -> None:
        try:
            with self.db.transaction():
                for item in batch:
                    try:
                        with _savepoint(self.db):
                            item.result = item.fn()
                    except Exception as exc:  # noqa: BLE001 - handed to its own caller
                        item.error = exc
        except BaseException as exc:  # the commit itself failed: nobody's rows exist
            for item in batch:
                item.result, item.error = None, exc
        for item in batch:
            item.finished = True
            item.event.set()


@contextmanager
def _savepoint(db):
    if db.backend == "postgres":
        with db.conn.transaction():  # psycopg nests this as a savepoint
            yield
        return
    db.execute("SAVEPOINT ingest_item")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK TO SAVEPOINT ingest_item")
        db.execute("RELEASE SAVEPOINT ingest_item")
        raise
    db.execute("RELEASE SAVEPOINT ingest_item")
