"""Each thread has its own connection, and it goes when the thread ends: a worker starts
threads for every deployment (heartbeat, command output, a batch's hosts), and connections
left behind by them would run the process out of file descriptors, or PostgreSQL out of
backends, after a few hundred deployments."""

from __future__ import annotations

import os
import threading

from fraisier.store import Store
from tests.support.waiting import wait_for


def _open_connections(store: Store) -> int:
    if store.backend == "postgres":
        return int(store.db.scalar("SELECT COUNT(*) FROM pg_stat_activity"
                                   " WHERE datname = current_database()"))
    path = str(store.db.path)
    return sum(1 for fd in os.listdir("/proc/self/fd")
               if os.path.realpath(f"/proc/self/fd/{fd}").startswith(path))


def _write_from_a_thread(store: Store, n: int) -> None:
    thread = threading.Thread(target=lambda: store.events.emit("test", payload={"n": n}))
    thread.start()
    thread.join()


def test_threads_that_end_leave_no_connection_behind(store: Store) -> None:
    store.events.last_id()  # this thread's connection is open
    this_thread_only = _open_connections(store)
    _write_from_a_thread(store, 0)
    # SQLite may keep one descriptor of a closed connection open for reuse (its POSIX locks
    # are per process); a PostgreSQL backend leaves a moment after its client.
    before = _settled_count(store, at_most=this_thread_only + 1)
    for n in range(1, 21):
        _write_from_a_thread(store, n)
    _settled_count(store, at_most=before)  # 20 more if they were kept
    assert store.events.last_id() >= 21  # every thread did write


def _settled_count(store: Store, at_most: int) -> int:
    """The number of open connections, once it is down to `at_most` (this thread's own keeps
    it above zero). A PostgreSQL backend leaves pg_stat_activity a moment after its client
    closed the connection."""
    counts: list[int] = []

    def settled() -> int | None:
        counts.append(_open_connections(store))
        return counts[-1] if counts[-1] <= at_most else None

    return wait_for(settled, 30, lambda: f"at most {at_most} open connections ({counts[-1]})")


def test_close_closes_the_connections_of_live_threads(store: Store) -> None:
    opened, finish = threading.Event(), threading.Event()

    def hold() -> None:
        store.events.emit("test")
        opened.set()
        finish.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert opened.wait(30)
        held = list(store.db._all)
        assert len(held) == 2  # this thread's and the holding thread's
        store.db.close()
        assert all(_is_closed(h.conn) for h in held)
    finally:
        finish.set()
        thread.join()


def _is_closed(conn) -> bool:
    closed = getattr(conn, "closed", None)
    if closed is not None:  # psycopg
        return bool(closed)
    try:  # sqlite3 raises on any use of a closed connection
        conn.execute("SELECT 1")
    except Exception:  # noqa: BLE001
        return True
    return False
