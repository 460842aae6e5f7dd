"""Read side: history, status and statistics, through the v_ views."""

from __future__ import annotations

from typing import Any

from fraisier.store.db import Database, Row
from fraisier.store.filters import matching
from fraisier.store.ledger import Ledger
from fraisier.store.records import DeploymentRecord

MAX_LIMIT = 500


class Views:
    def __init__(self, db: Database, ledger: Ledger):
        self.db = db
        self.ledger = ledger

    def history(self, *, fraise: str | None = None, environment: str | None = None,
                status: str | None = None, limit: int = 50, offset: int = 0,
                before_id: int | None = None, with_steps: bool = True) -> list[DeploymentRecord]:
        """Deployments newest first."""
        where, params = matching(fraise=fraise, environment=environment, status=status)
        sql = f"SELECT * FROM tb_deployment WHERE 1 = 1{where}"
        if before_id is not None:
            sql += " AND id < ?"
            params.append(before_id)
        sql += " ORDER BY id DESC LIMIT ? OFFSET ?"
        params.extend([max(0, min(limit, MAX_LIMIT)), max(0, offset)])
        records = [DeploymentRecord.from_row(row) for row in self.db.fetchall(sql, params)]
        if with_steps:
            steps = self.ledger.steps_for([r.id for r in records])
            for record in records:
                record.steps = steps[record.id]
        return records

    def status(self, fraise: str | None = None, environment: str | None = None) -> list[Row]:
        """The last deployment and the active release of every environment deployed so far."""
        where, params = matching(fraise=fraise, environment=environment)
        return self.db.fetchall(
            f"SELECT * FROM v_fraise_status WHERE 1 = 1{where} ORDER BY fraise, environment",
            params)

    def status_of(self, fraises: list[str]) -> list[Row]:
        """`status` of several fraises in one query (the API batches per request)."""
        if not fraises:
            return []
        marks = ",".join("?" * len(fraises))
        return self.db.fetchall(f"SELECT * FROM v_fraise_status WHERE fraise IN ({marks})",
                                list(fraises))

    def stats(self, *, fraise: str | None = None, environment: str | None = None,
              days: int | None = 30) -> dict[str, Any]:
        """Counts, success rate, average and p95 duration of finished deployments."""
        from fraisier.store.stats import deployment_stats

        return deployment_stats(self.db, fraise=fraise, environment=environment, days=days)
