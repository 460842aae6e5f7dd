"""Group commit: webhook transactions share database commits, on one writer thread.

A commit is the most expensive part of recording a webhook, and SQLite lets one writer in at
a time anyway. So one dedicated thread owns the writing: it takes every pending piece of work
(up to a batch), runs each in its own savepoint inside ONE transaction, commits, and only
then hands each caller its result. "Answered" still means "committed", and one piece failing
rolls back only its own savepoint.

Callers either block (`run`, for synchronous code) or pass a callback (`submit`, for an event
loop, which must not wait on a thread). The database driver releases the GIL while SQLite
works, so the writer's SQL overlaps with the HTTP work of the event loop thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

MAX_BATCH = 64

Done = Callable[[Any, "BaseException | None"], None]


class _Item:
    __slots__ = ("done", "fn")

    def __init__(self, fn: Callable[[], Any], done: Done):
        self.fn = fn
        self.done = done


class GroupCommit:
    def __init__(self, db, max_batch: int = MAX_BATCH):
        self.db = db
        self.max_batch = max_batch
        self._wake = threading.Condition(threading.Lock())
        self._pending: list[_Item] = []
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, fn: Callable[[], Any], done: Done) -> None:
        """Run `fn` inside a committed transaction; then `done(result, error)` is called on
        the writer thread (error is None on success)."""
        with self._wake:
            self._pending.append(_Item(fn, done))
            if self._thread is None:
                self._thread = threading.Thread(target=self._write_forever,
                                                name="ingest-writer", daemon=True)
                self._thread.start()
            self._wake.notify()

    def run(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` inside a committed transaction (shared with others); its result or error.
        Not from inside a transaction of the same database: the writer would wait for it."""
        finished = threading.Event()
        outcome: list = []

        def done(result: Any, error: BaseException | None) -> None:
            outcome[:] = [result, error]
            finished.set()

        self.submit(fn, done)
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
        outcomes: list[tuple[Any, BaseException | None]] = []
        try:
            with self.db.transaction():
                for item in batch:
                    try:
                        with _savepoint(self.db):
                            outcomes.append((item.fn(), None))
                    except Exception as exc:  # noqa: BLE001 - handed to its own caller
                        outcomes.append((None, exc))
        except BaseException as exc:  # noqa: BLE001 - the commit failed: nobody's rows exist
            outcomes = [(None, exc)] * len(batch)
        for item, (result, error) in zip(batch, outcomes, strict=True):
            try:
                item.done(result, error)
            except Exception:  # noqa: BLE001 - a caller's callback must not stop the writer
                pass


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
