"""Questions `fraisier doctor` asks the state database, without changing it: which migrations
are missing, whether a write is accepted (rolled back), whether LISTEN/NOTIFY delivers."""

from __future__ import annotations

import os
import socket

from fraisier.store.db import Database
from fraisier.store.migrate import available_migrations


class _RolledBack(Exception):
    pass


def missing_migrations(db: Database) -> tuple[int, list[str]]:
    """(how many migrations ship, names of those not applied)."""
    wanted = {number: name for number, name, _ in available_migrations(db.backend)}
    try:
        rows = db.fetchall("SELECT version FROM tb_schema_version")
    except Exception:  # noqa: BLE001 - no version table yet: nothing applied
        rows = []
    done = {int(row["version"]) for row in rows}
    return len(wanted), [wanted[number] for number in sorted(set(wanted) - done)]


def try_write(db: Database) -> None:
    """A real write, rolled back; raises what the database said when it refuses. A SELECT
    passes on a read-only SQLite file or a read-only PostgreSQL role; an INSERT does not."""
    try:
        with db.transaction():
            db.execute(
                "INSERT INTO tb_worker (name, hostname, pid, started_at, heartbeat_at,"
                " expires_at) VALUES (?, ?, ?, '', '', '')",
                (f"doctor:{socket.gethostname()}:{os.getpid()}", socket.gethostname(),
                 os.getpid()))
            raise _RolledBack
    except _RolledBack:
        return


def notification_arrives(url: str, timeout: float = 5.0) -> bool:
    """LISTEN on one connection, NOTIFY from another: does the notification arrive?
    Raises psycopg's error when either is refused."""
    import psycopg

    channel = f"fraisier_doctor_{os.getpid()}"
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as listener, \
            psycopg.connect(url, autocommit=True, connect_timeout=10) as sender:
        listener.execute(f"LISTEN {channel}")
        sender.execute(f"NOTIFY {channel}")  # the statement the queue sends
        return any(note.channel == channel for note in listener.notifies(timeout=timeout,
                                                                         stop_after=1))
