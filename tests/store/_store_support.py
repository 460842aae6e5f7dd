"""Small helpers shared by the store tests (real databases only)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fraisier.domain.model import utc_now, utc_timestamp
from fraisier.store import DeploymentRecord, Store


def set_columns(store: Store, table: str, row_id: int, **columns: Any) -> None:
    """Write columns of one row directly, for states the API only reaches with time."""
    assignments = ", ".join(f"{name} = ?" for name in columns)
    with store.db.transaction():
        store.db.execute(f"UPDATE {table} SET {assignments} WHERE id = ?",
                         (*columns.values(), row_id))


def ago(seconds: float) -> str:
    return utc_timestamp(utc_now() - timedelta(seconds=seconds))


def finished(store: Store, fraise: str, environment: str, status: str,
             duration: float | None = None, owner: str = "tester") -> DeploymentRecord:
    """A deployment that went queued -> running -> `status`, optionally with a known duration."""
    record = store.queue.enqueue(fraise, environment, trigger="cli")
    store.queue.claim(record.id, owner, 60)
    done = store.queue.finish(record.id, status)
    if duration is not None:
        set_columns(store, "tb_deployment", record.id, duration_seconds=duration)
        done = store.queue.get(record.id)
    return done
