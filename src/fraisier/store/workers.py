"""tb_worker: which workers are alive, so `fraisier deploy` knows whether to queue or run."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from fraisier.domain.model import utc_now, utc_timestamp
from fraisier.store.db import Database, Row


class Workers:
    def __init__(self, db: Database):
        self.db = db

    def beat(self, name: str, ttl_seconds: float) -> None:
        now = utc_now()
        with self.db.transaction():
            updated = self.db.fetchone(
                "UPDATE tb_worker SET heartbeat_at = ?, expires_at = ? WHERE name = ? RETURNING name",
                (utc_timestamp(now), utc_timestamp(now + timedelta(seconds=ttl_seconds)), name),
            )
            if updated is None:
                self.db.execute(
                    "INSERT INTO tb_worker (name, hostname, pid, started_at, heartbeat_at,"
                    " expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (name, socket.gethostname(), os.getpid(), utc_timestamp(now),
                     utc_timestamp(now), utc_timestamp(now + timedelta(seconds=ttl_seconds))),
                )

    def remove(self, name: str) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM tb_worker WHERE name = ?", (name,))

    def alive(self) -> list[Row]:
        return self.db.fetchall("SELECT * FROM tb_worker WHERE expires_at > ? ORDER BY name",
                                (utc_timestamp(),))
