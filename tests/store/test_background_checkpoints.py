"""Background WAL checkpoints (store/checkpoints.py): the log is copied by a thread of its
own, which finishes it after the writer's next commit while the writer waits before its next
write, so that SQLite starts it again; nothing committed is lost."""

import os
import sqlite3

import pytest

from fraisier.store.checkpoints import BackgroundCheckpoints
from fraisier.store.db import Database
from tests.support.waiting import wait_for

ROW_BYTES = 20_000  # five pages of 4 KiB per commit


@pytest.fixture
def db(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/state.db")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, blob BLOB NOT NULL)")
    yield db
    db.close()


def _commit(db: Database, n: int) -> None:
    with db.transaction():
        db.execute("INSERT INTO t (id, blob) VALUES (?, ?)", (n, os.urandom(ROW_BYTES)))


def _pages_in_log(path) -> int:
    """The pages the log holds since it last started again (from another connection)."""
    with sqlite3.connect(path) as other:
        busy, pages, _copied = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert busy == 0
    return pages


def test_the_thread_copies_the_log_and_the_writer_lets_it_start_again(db):
    # SQLite's own checkpoint on commit is pushed far away: only the thread copies here.
    # Its first copy starts at once; the next would wait `interval`, longer than the test,
    # so that none runs while the write below starts the log again (SQLite skips the
    # restart when a checkpoint holds the readers' locks at that moment).
    checkpoints = BackgroundCheckpoints(db, interval=60, limit_pages=100_000)
    try:
        assert db.scalar("PRAGMA wal_autocheckpoint") == 100_000
        for n in range(40):
            _commit(db, n)
        checkpoints.after_commit()  # the thread copies the 40 commits' pages
        wait_for(lambda: checkpoints.copies >= 1, 30, "a copy by the thread")
        checkpoints.before_write()
        _commit(db, 40)
        checkpoints.after_commit()  # the thread copies the rest: the log is all copied
        checkpoints.before_write()  # (once it has)
        _commit(db, 41)  # ... so this write starts it again from the beginning
        pages = _pages_in_log(db.path)
    finally:
        checkpoints.close()
    assert pages < 2 * ROW_BYTES // 4096 + 4, pages  # one commit's pages, not 42 commits'
    with sqlite3.connect(db.path) as other:
        assert other.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 42
        assert other.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_without_the_finishing_copy_the_log_keeps_growing(db):
    # The counterpart of the test above: SQLite starts the log again only when a checkpoint
    # has copied all of it before the next write, which the thread alone cannot ensure.
    db.conn.execute("PRAGMA wal_autocheckpoint = 100000")
    for n in range(40):
        _commit(db, n)
    assert _pages_in_log(db.path) >= 40 * (ROW_BYTES // 4096)


def test_close_stops_the_thread_and_the_writer_goes_on(db):
    checkpoints = BackgroundCheckpoints(db, interval=60)  # close() does not wait for it
    _commit(db, 1)
    checkpoints.after_commit()
    checkpoints.close()
    assert not checkpoints._thread.is_alive()
    checkpoints.after_commit()
    checkpoints.before_write()  # returns: there is no thread to wait for
    _commit(db, 2)
    assert db.scalar("SELECT COUNT(*) FROM t") == 2


def test_the_writer_never_waits_for_a_thread_that_failed(db, tmp_path):
    checkpoints = BackgroundCheckpoints(db, interval=0)
    _commit(db, 1)
    checkpoints.after_commit()
    wait_for(lambda: checkpoints.copies >= 1, 30, "a copy by the thread")
    checkpoints._copy = None  # the thread's next copy fails (a TypeError)
    _commit(db, 2)
    checkpoints.after_commit()  # asks the failing thread to finish the log
    checkpoints.before_write()  # returns once the thread has stopped
    assert not checkpoints._running
    _commit(db, 3)
    checkpoints.close()
    assert db.scalar("SELECT COUNT(*) FROM t") == 3


def test_only_for_sqlite():
    class NotSqlite:
        backend = "postgres"

    with pytest.raises(ValueError, match="SQLite"):
        BackgroundCheckpoints(NotSqlite())  # type: ignore[arg-type]
