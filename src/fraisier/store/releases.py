"""tb_release: the ledger of releases per fraise/environment/host.

The orchestrator owns this ledger, so a rollback re-activates exactly what ran, and a failed
release is never a rollback target.
"""

from __future__ import annotations

import builtins

from fraisier.domain.model import ReleaseStatus, utc_timestamp
from fraisier.store.db import Database
from fraisier.store.records import ReleaseRecord


class Releases:
    def __init__(self, db: Database):
        self.db = db

    def add(self, fraise: str, environment: str, release_id: str, commit_sha: str, path: str,
            *, deployment_id: int | None, host: str = "",
            status: ReleaseStatus = ReleaseStatus.BUILDING) -> None:
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO tb_release (fraise, environment, host, release_id, commit_sha, path,"
                " status, deployment_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (fraise, environment, host, release_id, commit_sha, path, status.value,
                 deployment_id, utc_timestamp()),
            )

    def set_status(self, fraise: str, environment: str, release_id: str, status: ReleaseStatus,
                   host: str = "") -> None:
        with self.db.transaction():
            self.db.execute(
                "UPDATE tb_release SET status = ? WHERE fraise = ? AND environment = ?"
                " AND host = ? AND release_id = ?",
                (status.value, fraise, environment, host, release_id),
            )

    def activate(self, fraise: str, environment: str, release_id: str, host: str = "") -> None:
        """Mark one release active; the one active before becomes `previous`."""
        with self.db.transaction():
            self.db.execute(
                "UPDATE tb_release SET status = ? WHERE fraise = ? AND environment = ?"
                " AND host = ? AND status = ? AND release_id <> ?",
                (ReleaseStatus.PREVIOUS.value, fraise, environment, host,
                 ReleaseStatus.ACTIVE.value, release_id),
            )
            self.db.execute(
                "UPDATE tb_release SET status = ?, activated_at = ? WHERE fraise = ?"
                " AND environment = ? AND host = ? AND release_id = ?",
                (ReleaseStatus.ACTIVE.value, utc_timestamp(), fraise, environment, host,
                 release_id),
            )

    def list(self, fraise: str, environment: str, host: str = "") -> list[ReleaseRecord]:
        rows = self.db.fetchall(
            "SELECT * FROM tb_release WHERE fraise = ? AND environment = ? AND host = ?"
            " ORDER BY release_id DESC",
            (fraise, environment, host),
        )
        return [ReleaseRecord.from_row(row) for row in rows]

    def get(self, fraise: str, environment: str, release_id: str,
            host: str = "") -> ReleaseRecord | None:
        row = self.db.fetchone(
            "SELECT * FROM tb_release WHERE fraise = ? AND environment = ? AND host = ?"
            " AND release_id = ?",
            (fraise, environment, host, release_id),
        )
        return ReleaseRecord.from_row(row) if row else None

    def active(self, fraise: str, environment: str, host: str = "") -> ReleaseRecord | None:
        row = self.db.fetchone(
            "SELECT * FROM tb_release WHERE fraise = ? AND environment = ? AND host = ?"
            " AND status = ? ORDER BY release_id DESC LIMIT 1",
            (fraise, environment, host, ReleaseStatus.ACTIVE.value),
        )
        return ReleaseRecord.from_row(row) if row else None

    def good(self, fraise: str, environment: str, host: str = ""
             ) -> builtins.list[ReleaseRecord]:
        """Releases that once ran fine and still exist on disk: rollback targets, newest first."""
        return [r for r in self.list(fraise, environment, host)
                if r.status in (ReleaseStatus.ACTIVE.value, ReleaseStatus.PREVIOUS.value)]
