"""WAL checkpoints of a busy SQLite writer, copied on a thread of their own.

In WAL mode a commit appends the pages it changed to the `-wal` file; a checkpoint copies
them into the database file and syncs both. SQLite runs one in the committing connection
when the log passes 1,000 pages, so a writer that commits all the time (the webhook ingest
process) stops every few batches to copy and fsync, and the requests of that batch wait
for it. With no checkpoints at all (an experiment: the log grows without end) the ingest
answered a fifth more requests a second.

Here a thread with its own connection copies the log (PASSIVE checkpoints, which never block
the writer) at most every `interval` seconds while the writer commits, and copies again
what was committed during its copy until little is left. It cannot finish the log while the
writer appends to it, so after the writer's next commit it copies the rest while the writer
answers and prepares its next batch, and the writer waits for that before it writes again:
the log is then all copied, and SQLite starts it again from the beginning at that write,
which keeps the file small. If the thread falls behind, SQLite's own checkpoint on commit
takes over at `limit_pages`.

Durability is SQLite's, unchanged: a commit is in the log before it is answered, and a
checkpoint syncs the log before it overwrites any page of the database.
"""

from __future__ import annotations

import logging
import threading
import time

from fraisier.store.db import Database

log = logging.getLogger("fraisier.store")

INTERVAL_SECONDS = 0.1
LIMIT_PAGES = 10_000  # SQLite's own checkpoint on commit, when this thread falls behind
AGAIN_ABOVE_PAGES = 256  # a round copies again while a copy found more new pages
MAX_PASSES = 4  # ... at most this many times in a row


class BackgroundCheckpoints:
    """Use from the one thread that writes through `db`: `before_write()` before each write
    transaction, `after_commit()` after each commit, `close()` at the end. SQLite only."""

    def __init__(self, db: Database, *, interval: float = INTERVAL_SECONDS,
                 limit_pages: int = LIMIT_PAGES):
        if db.backend != "sqlite":
            raise ValueError("background checkpoints are for SQLite state databases")
        self.db = db
        self.interval = interval
        db.conn.execute(f"PRAGMA wal_autocheckpoint = {int(limit_pages)}")
        self._state = threading.Condition()
        self._wanted = False  # the writer committed since the thread's last copy
        self._copied = False  # a copy is done: the log is finished after the next commit
        self._finishing = False  # ... which the writer waits for before it writes again
        self._running = True  # the thread is there to do it
        self.copies = 0  # rounds of copying done by the thread
        self._thread = threading.Thread(target=self._copy_forever,
                                        name="wal-checkpoints", daemon=True)
        self._thread.start()

    def after_commit(self) -> None:
        with self._state:
            if self._copied:
                # Only the pages committed during the thread's copy are left: it copies
                # them now, while the writer answers and prepares its next batch.
                self._copied, self._finishing = False, True
            else:
                self._wanted = True
            self._state.notify()

    def before_write(self) -> None:
        """Wait for the log to be finished, if it is being finished: the write that follows
        then starts it again from the beginning (SQLite does that when a write finds the
        whole log copied)."""
        with self._state:
            self._state.wait_for(lambda: not (self._finishing and self._running))

    def close(self) -> None:
        with self._state:
            self._running = False
            self._state.notify_all()
        self._thread.join()

    def _copy(self) -> int:
        """One PASSIVE checkpoint from this thread: the pages in the log when it began (-1
        when another checkpoint was running)."""
        row, = self.db.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        return -1 if row["busy"] else int(row["log"])

    def _copy_forever(self) -> None:
        last = 0.0
        try:
            while True:
                with self._state:
                    self._state.wait_for(lambda: self._finishing or not self._running
                                         or (self._wanted and not self._copied))
                    if not self._running:
                        return
                    finishing = self._finishing
                    if not finishing:
                        # At most one round per interval: fewer, larger copies copy a
                        # page changed by many commits once.
                        pause = last + self.interval - time.monotonic()
                        if pause > 0 and self._state.wait_for(lambda: not self._running,
                                                              pause):
                            return
                        self._wanted = False
                if finishing:
                    self._copy()  # the writer waits for it before writing: it copies the rest
                    with self._state:
                        self._finishing = False
                        self._state.notify_all()
                    continue
                # Copy again what was committed during the copy, until that is little.
                before, pages = -1, self._copy()
                for _ in range(MAX_PASSES):
                    if pages - before <= AGAIN_ABOVE_PAGES or pages < 0:
                        break
                    before, pages = pages, self._copy()
                last = time.monotonic()
                with self._state:
                    self._copied = True
                    self.copies += 1
        except Exception:  # SQLite's checkpoint on commit still runs
            log.exception("background WAL checkpoints stopped")
        finally:
            with self._state:
                self._running = False  # the writer never waits for a thread that is gone
                self._state.notify_all()
