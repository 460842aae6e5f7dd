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
                before_id: int | None = None, with_steps: bool = True,
                trigger: str | None = None) -> list[DeploymentRecord]:
        """Deployments newest first."""
        where, params = matching(fraise=fraise, environment=environment, status=status,
                                 trigger=trigger)
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

    def status_of(self, targets: list[tuple[str, str]]) -> dict[tuple[str, str], Row]:
        """The v_fraise_status rows of these (fraise, environment) targets, in one statement.
        The view finds the last deployment of every target with one GROUP BY over the whole
        history (a scan of a million index entries on a large one); here each target's last
        deployment is one index seek, so the overview costs the same at any history size."""
        keys = list(dict.fromkeys(targets))
        found: dict[tuple[str, str], Row] = {}
        for first in range(0, len(keys), 400):
            chunk = keys[first:first + 400]
            values = ", ".join("(?, ?)" for _ in chunk)
            rows = self.db.fetchall(
                f"WITH t (fraise, environment) AS (VALUES {values})"
                " SELECT d.fraise, d.environment, d.id AS last_deployment_id,"
                " d.status AS last_status, d.commit_sha AS last_commit_sha,"
                " d.completed_at AS last_completed_at,"
                " r.release_id AS current_release, r.commit_sha AS current_commit_sha"
                " FROM tb_deployment d LEFT JOIN tb_release r ON r.id = ("
                "   SELECT MAX(id) FROM tb_release WHERE fraise = d.fraise"
                "   AND environment = d.environment AND host = '' AND status = 'active')"
                " WHERE d.id IN (SELECT (SELECT MAX(x.id) FROM tb_deployment x"
                "   WHERE x.fraise = t.fraise AND x.environment = t.environment) FROM t)",
                [value for key in chunk for value in key])
            found.update({(row["fraise"], row["environment"]): row for row in rows})
        return found

    def stats(self, *, fraise: str | None = None, environment: str | None = None,
              days: int | None = 30) -> dict[str, Any]:
        """Counts, success rate, average and p95 duration of finished deployments."""
        from fraisier.store.stats import deployment_stats

        return deployment_stats(self.db, fraise=fraise, environment=environment, days=days)

    def daily(self, *, fraise: str | None = None, environment: str | None = None,
              days: int = 30) -> list[dict[str, Any]]:
        """Finished deployments per day (UTC), oldest first, from the daily rollups."""
        from fraisier.store.stats import daily_stats

        return daily_stats(self.db, fraise=fraise, environment=environment, days=days)

    def commit(self, fraise: str, sha: str) -> Row | None:
        """A commit seen by a fetch of `fraise` (message, author, time), or None."""
        return self.db.fetchone(
            "SELECT sha, branch, message, author, committed_at FROM tb_git_commit"
            " WHERE fraise = ? AND sha = ?", (fraise, sha))
