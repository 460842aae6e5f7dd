"""The tb_event outbox: every state change and log line, in id order.

Writers call `emit` inside the transaction that makes the change, so an event exists if and
only if the change does. Readers (subscriptions, `deploy --follow`) tail by id.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fraisier.domain.model import utc_timestamp
from fraisier.domain.redaction import redact
from fraisier.store.db import Database, Row
from fraisier.store.filters import matching

compact_json = json.JSONEncoder(separators=(",", ":")).encode  # built once, used per event


class Events:
    def __init__(self, db: Database):
        self.db = db
        # In-process wake-up callbacks, called after commit.
        self.listeners: list[Callable[[], None]] = []

    def emit(self, type_: str, *, deployment_id: int | None = None, fraise: str | None = None,
             environment: str | None = None, payload: dict[str, Any] | None = None) -> int:
        return self.db.insert(
            "INSERT INTO tb_event (created_at, type, deployment_id, fraise, environment, payload)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (utc_timestamp(), type_, deployment_id, fraise, environment,
             redact(compact_json(payload or {}))),
        )

    def emit_many(self, type_: str, rows: list[tuple[Any, ...]]) -> None:
        """Several events of one type: rows of (created_at, deployment_id, fraise,
        environment, payload as JSON text)."""
        self.db.insert_many(
            "tb_event", ("created_at", "type", "deployment_id", "fraise", "environment",
                         "payload"),
            [(created_at, type_, *rest) for created_at, *rest in rows])

    def after(self, last_id: int, *, limit: int = 500, deployment_id: int | None = None,
              types: tuple[str, ...] = ()) -> list[Row]:
        where, params = matching(deployment_id=deployment_id)
        sql = f"SELECT * FROM tb_event WHERE id > ?{where}"
        params.insert(0, last_id)
        if types:
            sql += f" AND type IN ({','.join('?' * len(types))})"
            params.extend(types)
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)
        rows = self.db.fetchall(sql, params)
        for row in rows:
            row["payload"] = json.loads(row["payload"] or "{}")
        return rows

    def last_id(self) -> int:
        return int(self.db.scalar("SELECT COALESCE(MAX(id), 0) FROM tb_event") or 0)

    def notify(self) -> None:
        """Wake in-process listeners (a worker sharing the process with the server)."""
        for listener in list(self.listeners):
            listener()
