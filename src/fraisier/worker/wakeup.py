"""How a sleeping worker learns that there is work: a generation counter it can wait on.

In one process the store's listeners call `wake()` right after a commit; across processes a
PostgreSQL LISTEN connection calls it on NOTIFY; otherwise the wait times out (the short poll).
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger("fraisier.worker")


class Wakeup:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generation = 0

    def wake(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def mark(self) -> int:
        """Read before looking for work; pass to `wait` so a wake in between is not lost."""
        with self._cond:
            return self._generation

    def wait(self, seen: int, timeout: float, stopping: threading.Event) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._generation != seen or stopping.is_set(), timeout)


def listen_postgres(url: str, channel: str, wakeup: Wakeup, stopping: threading.Event) -> None:
    """Turn PostgreSQL NOTIFYs on `channel` into wake-ups until `stopping` is set."""
    import psycopg

    while not stopping.is_set():
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
                conn.execute(f"LISTEN {channel}")
                wakeup.wake()  # anything queued while we were not listening
                while not stopping.is_set():
                    for _ in conn.notifies(timeout=0.5, stop_after=1):
                        wakeup.wake()
        except Exception as exc:  # noqa: BLE001 - the poll still works; reconnect shortly
            log.warning("LISTEN %s failed (%s); retrying", channel, exc)
            stopping.wait(2.0)
