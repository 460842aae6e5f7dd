"""Each thread has its own connection, and it goes when the thread ends: a worker starts
threads for every deployment (heartbeat, command output, a batch's hosts), and connections
left behind by them would run the process out of file descriptors, or PostgreSQL out of
backends, after a few hundred deployments."""

from __future__ import annotations

import os
import threading

from fraisier.store import Store


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
    _write_from_a_thread(store, 0)
    before = _open_connections(store)
    for n in range(1, 21):
        _write_from_a_thread(store, n)
    assert _open_connections(store) == before
    assert store.events.last_id() >= 21  # every thread did write


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
