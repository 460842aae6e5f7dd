"""Read side: history, status and statistics, through the v_ views."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from fraisier.domain.model import utc_now, utc_timestamp
from fraisier.store.db import Database, Row
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
        sql = "SELECT * FROM tb_deployment WHERE 1 = 1"
        params: list[Any] = []
        for column, value in (("fraise", fraise), ("environment", environment),
                              ("status", status)):
            if value:
                sql += f" AND {column} = ?"
                params.append(value)
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
        sql = "SELECT * FROM v_fraise_status WHERE 1 = 1"
        params: list[Any] = []
        if fraise:
            sql += " AND fraise = ?"
            params.append(fraise)
        if environment:
            sql += " AND environment = ?"
            params.append(environment)
        return self.db.fetchall(sql + " ORDER BY fraise, environment", params)

    def stats(self, *, fraise: str | None = None, environment: str | None = None,
              days: int | None = 30) -> dict[str, Any]:
        where = "WHERE status NOT IN ('queued', 'running', 'superseded', 'cancelled')"
        params: list[Any] = []
        if fraise:
            where += " AND fraise = ?"
            params.append(fraise)
        if environment:
            where += " AND environment = ?"
            params.append(environment)
        if days:
            where += " AND queued_at >= ?"
            params.append(utc_timestamp(utc_now() - timedelta(days=days)))
        row = self.db.fetchone(
            "SELECT COUNT(*) AS total,"
            " SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END) AS succeeded,"
            " SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,"
            " SUM(CASE WHEN status = 'rolled_back' THEN 1 ELSE 0 END) AS rolled_back,"
            " SUM(CASE WHEN status = 'rollback_failed' THEN 1 ELSE 0 END) AS rollback_failed,"
            " SUM(CASE WHEN status = 'interrupted' THEN 1 ELSE 0 END) AS interrupted,"
            " AVG(duration_seconds) AS average_duration_seconds,"
            " COUNT(duration_seconds) AS timed"
            f" FROM tb_deployment {where}",
            params,
        ) or {}
        total = int(row.get("total") or 0)
        succeeded = int(row.get("succeeded") or 0)
        timed = int(row.get("timed") or 0)
        p95 = None
        if timed:
            # Nearest-rank 95th percentile: the ceil(0.95 n)-th smallest duration.
            offset = max(0, math.ceil(timed * 0.95) - 1)
            p95 = self.db.scalar(
                f"SELECT duration_seconds FROM tb_deployment {where}"
                " AND duration_seconds IS NOT NULL ORDER BY duration_seconds LIMIT 1 OFFSET ?",
                (*params, offset),
            )
        average = row.get("average_duration_seconds")
        return {
            "fraise": fraise,
            "environment": environment,
            "days": days,
            "total_deployments": total,
            "successful": succeeded,
            "failed": int(row.get("failed") or 0),
            "rolled_back": int(row.get("rolled_back") or 0),
            "rollback_failed": int(row.get("rollback_failed") or 0),
            "interrupted": int(row.get("interrupted") or 0),
            "success_rate": round(succeeded / total, 4) if total else None,
            "average_duration_seconds": round(float(average), 3) if average is not None else None,
            "p95_duration_seconds": round(float(p95), 3) if p95 is not None else None,
        }
