"""The durable step ledger and the deployment log.

Recovery after a crash reads the ledger: which steps completed, and the data each step left
behind for its compensation (e.g. the release that was current before `activate`).
"""

from __future__ import annotations

import json
from typing import Any

from fraisier.domain.model import EventType, StepStatus, utc_timestamp
from fraisier.domain.redaction import redact, redact_optional
from fraisier.store.db import Database, Row
from fraisier.store.events import Events
from fraisier.store.records import StepRecord

OUTPUT_TAIL_CHARS = 4000


class Ledger:
    def __init__(self, db: Database, events: Events):
        self.db = db
        self.events = events

    def plan(self, deployment_id: int, names: list[str]) -> None:
        """Write every step as pending up front, so the ledger shows the whole saga."""
        with self.db.transaction():
            self.db.execute("DELETE FROM tb_deployment_step WHERE deployment_id = ?",
                            (deployment_id,))
            for position, name in enumerate(names):
                self.db.execute(
                    "INSERT INTO tb_deployment_step (deployment_id, position, name, status)"
                    " VALUES (?, ?, ?, ?)",
                    (deployment_id, position, name, StepStatus.PENDING.value),
                )

    def steps(self, deployment_id: int) -> list[StepRecord]:
        rows = self.db.fetchall(
            "SELECT * FROM tb_deployment_step WHERE deployment_id = ? ORDER BY position",
            (deployment_id,),
        )
        return [StepRecord.from_row(row) for row in rows]

    def steps_for(self, deployment_ids: list[int]) -> dict[int, list[StepRecord]]:
        """Steps of many deployments in one query (listings must not query per row)."""
        found: dict[int, list[StepRecord]] = {i: [] for i in deployment_ids}
        if not deployment_ids:
            return found
        marks = ",".join("?" * len(deployment_ids))
        rows = self.db.fetchall(
            f"SELECT * FROM tb_deployment_step WHERE deployment_id IN ({marks})"
            " ORDER BY deployment_id, position",
            deployment_ids,
        )
        for row in rows:
            found[int(row["deployment_id"])].append(StepRecord.from_row(row))
        return found

    def mark(self, deployment_id: int, position: int, status: StepStatus, *,
             error: str | None = None, output_tail: str | None = None,
             data: dict[str, Any] | None = None, context: dict[str, str] | None = None) -> None:
        # Every text the ledger keeps is redacted here, once, for every caller.
        error = redact_optional(error)
        now = utc_timestamp()
        sets = ["status = ?"]
        params: list[Any] = [status.value]
        if status == StepStatus.RUNNING:
            sets.append("started_at = ?")
            params.append(now)
        elif status in (StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED):
            sets.append("completed_at = ?")
            params.append(now)
        if error is not None:
            sets.append("error = ?")
            params.append(error)
        if output_tail is not None:
            sets.append("output_tail = ?")
            params.append(redact(output_tail)[-OUTPUT_TAIL_CHARS:])
        if data is not None:
            sets.append("data = ?")
            # Machine data for the undo (release ids, revisions): kept exact, not redacted.
            params.append(json.dumps(data))
        with self.db.transaction():
            row = self.db.fetchone(
                f"UPDATE tb_deployment_step SET {', '.join(sets)}"
                " WHERE deployment_id = ? AND position = ? RETURNING name",
                (*params, deployment_id, position),
            )
            self.events.emit(
                EventType.DEPLOYMENT_STEP, deployment_id=deployment_id,
                **(context or {}),
                payload={"position": position, "name": row["name"] if row else None,
                         "status": status.value, "error": error},
            )

    def mark_compensation(self, deployment_id: int, position: int, status: StepStatus,
                          error: str | None = None, context: dict[str, str] | None = None) -> None:
        error = redact_optional(error)
        with self.db.transaction():
            row = self.db.fetchone(
                "UPDATE tb_deployment_step SET compensation_status = ?, compensation_error = ?"
                " WHERE deployment_id = ? AND position = ? RETURNING name",
                (status.value, error, deployment_id, position),
            )
            self.events.emit(
                EventType.DEPLOYMENT_STEP, deployment_id=deployment_id, **(context or {}),
                payload={"position": position, "name": row["name"] if row else None,
                         "compensation_status": status.value, "error": error},
            )

    def note(self, deployment_id: int, position: int, data: dict[str, Any]) -> None:
        """Merge `data` into a running step's data (what its undo will need)."""
        with self.db.transaction():
            row = self.db.fetchone(
                "SELECT data FROM tb_deployment_step WHERE deployment_id = ? AND position = ?",
                (deployment_id, position))
            merged = {**json.loads(row["data"] or "{}"), **data} if row else data
            self.db.execute(
                "UPDATE tb_deployment_step SET data = ? WHERE deployment_id = ? AND position = ?",
                (json.dumps(merged), deployment_id, position))

    # -- commands running now (tb_deployment_process) ---------------------------------
    def command_started(self, deployment_id: int, pid: int, hostname: str, start_ticks: int,
                        label: str) -> int:
        return self.db.insert(
            "INSERT INTO tb_deployment_process (deployment_id, pid, start_ticks, hostname,"
            " label, started_at) VALUES (?, ?, ?, ?, ?, ?)",
            (deployment_id, pid, start_ticks, hostname, label, utc_timestamp()))

    def command_ended(self, process_id: int) -> None:
        self.db.execute("DELETE FROM tb_deployment_process WHERE id = ?", (process_id,))

    def commands_running(self, deployment_id: int) -> list[Row]:
        return self.db.fetchall(
            "SELECT * FROM tb_deployment_process WHERE deployment_id = ? ORDER BY id",
            (deployment_id,))

    # -- log -------------------------------------------------------------------------
    def log(self, deployment_id: int, line: str, stream: str = "stdout",
            context: dict[str, str] | None = None) -> int:
        line = redact(line)
        with self.db.transaction():
            log_id = self.db.insert(
                "INSERT INTO tb_deployment_log (deployment_id, logged_at, stream, line)"
                " VALUES (?, ?, ?, ?)",
                (deployment_id, utc_timestamp(), stream, line),
            )
            self.events.emit(EventType.DEPLOYMENT_LOG, deployment_id=deployment_id,
                             **(context or {}),
                             payload={"log_id": log_id, "stream": stream, "line": line})
        return log_id

    def logs_for(self, deployment_ids: list[int], *, after: int, limit: int,
                 total: int) -> dict[int, list[Row]]:
        """`logs(id, after=after, limit=limit)` of several deployments in one query, and at
        most `total` lines in all (in deployment, then line order)."""
        found: dict[int, list[Row]] = {i: [] for i in deployment_ids}
        if not deployment_ids or total <= 0:
            return found
        marks = ",".join("?" * len(deployment_ids))
        rows = self.db.fetchall(
            "SELECT id, deployment_id, logged_at, stream, line FROM ("
            " SELECT id, deployment_id, logged_at, stream, line, ROW_NUMBER() OVER"
            " (PARTITION BY deployment_id ORDER BY id) AS n FROM tb_deployment_log"
            f" WHERE deployment_id IN ({marks}) AND id > ?) AS numbered"
            " WHERE n <= ? ORDER BY deployment_id, id LIMIT ?",
            [*deployment_ids, after, limit, total])
        for row in rows:
            found[int(row.pop("deployment_id"))].append(row)
        return found

    def logs(self, deployment_id: int, *, after: int = 0, limit: int = 10_000) -> list[dict[str, Any]]:
        return self.db.fetchall(
            "SELECT id, logged_at, stream, line FROM tb_deployment_log"
            " WHERE deployment_id = ? AND id > ? ORDER BY id LIMIT ?",
            (deployment_id, after, limit),
        )
