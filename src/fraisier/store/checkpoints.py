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
writer appends to it, so after the writer's next commit the writer copies the rest itself
(a few pages): the log is then all copied, and SQLite starts it again from the beginning at
the next write, which keeps the file small. If the thread falls behind, SQLite's own
checkpoint on commit takes over at `limit_pages`.

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
LEFT_TO_WRITER_PAGES = 256  # the thread copies again while a copy found more new pages
MAX_PASSES = 4  # ... at most this many times in a row


class BackgroundCheckpoints:
    """Use from the one thread that writes through `db`: `after_commit()` after each commit,
    `close()` at the end. SQLite only."""

    def __init__(self, db: Database, *, interval: float = INTERVAL_SECONDS,
                 limit_pages: int = LIMIT_PAGES):
        if db.backend != "sqlite":
            raise ValueError("background checkpoints are for SQLite state databases")
        self.db = db
        self.interval = interval
        db.conn.execute(f"PRAGMA wal_autocheckpoint = {int(limit_pages)}")
        self._state = threading.Condition()
        self._wanted = False  # the writer committed since the last copy
        self._copied = False  # a copy is done: the writer finishes the log after its commit
        self._stopping = False
        self.copies = 0  # rounds of copying done by the thread
        self._thread = threading.Thread(target=self._copy_forever,
                                        name="wal-checkpoints", daemon=True)
        self._thread.start()

    def after_commit(self) -> None:
        with self._state:
            finish = self._copied
        if finish:
            # Only the pages committed during the thread's copy are left: with them
            # copied, the next write starts the log again from the beginning.
            try:
                self.db.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except Exception:  # the commit stands; the next one tries again
                log.warning("WAL checkpoint failed", exc_info=True)
        with self._state:
            self._copied = False
            self._wanted = True
            self._state.notify()

    def close(self) -> None:
        with self._state:
            self._stopping = True
            self._state.notify()
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
                    while not (self._wanted and not self._copied) and not self._stopping:
                        self._state.wait()
                    if self._stopping:
                        return
                    # At most one copy per interval: fewer, larger copies copy a page
                    # changed by many commits once.
                    pause = last + self.interval - time.monotonic()
                    if pause > 0 and self._state.wait_for(lambda: self._stopping, pause):
                        return
                    self._wanted = False
                # Copy again what was committed during the copy, until that is little:
                # the writer then finishes the log with a short copy of its own.
                before, pages = -1, self._copy()
                for _ in range(MAX_PASSES):
                    if pages - before <= LEFT_TO_WRITER_PAGES or pages < 0:
                        break
                    before, pages = pages, self._copy()
                last = time.monotonic()
                with self._state:
                    self._copied = True
                    self.copies += 1
        except Exception:  # SQLite's checkpoint on commit still runs
            log.exception("background WAL checkpoints stopped")
