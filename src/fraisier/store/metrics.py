"""What /metrics reports, read from the state database at each scrape: the numbers are true
for every worker sharing the database, on this machine or others, and survive restarts."""

from __future__ import annotations

from dataclasses import dataclass, field

from fraisier.domain.model import utc_timestamp
from fraisier.store.db import Database

# Upper bounds (seconds) of the duration histograms; +Inf is implied.
DURATION_BUCKETS = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
FINISHED = ("succeeded", "failed", "rolled_back", "rollback_failed", "cancelled",
            "superseded", "interrupted")


@dataclass
class Histogram:
    labels: tuple[str, ...]
    count: int
    total: float
    cumulative: list[int] = field(default_factory=list)  # one per DURATION_BUCKETS entry


@dataclass
class Snapshot:
    deployments: list[tuple[str, str, str, str, int]]  # fraise, env, trigger, outcome, count
    in_progress: list[tuple[str, str, str, int]]  # fraise, env, status (queued|running), count
    deployment_durations: list[Histogram]  # labels: fraise, environment
    step_durations: list[Histogram]  # labels: step
    webhooks: list[tuple[str, str, int]]  # provider, outcome, count
    workers: list[tuple[str, str, float]]  # name, hostname, last heartbeat (unix seconds)
    notification_attempts: list[tuple[str, str, str, int]] = field(default_factory=list)
    # channel, kind (message, commit status, ...), status (delivered, failed, gave_up, ...)


def _seconds(backend: str, start: str, end: str) -> str:
    if backend == "postgres":
        return (f"EXTRACT(EPOCH FROM (CAST({end} AS timestamptz)"
                f" - CAST({start} AS timestamptz)))")
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


def _epoch(backend: str, column: str) -> str:
    if backend == "postgres":
        return f"EXTRACT(EPOCH FROM CAST({column} AS timestamptz))"
    return f"((julianday({column}) - 2440587.5) * 86400.0)"


def _histograms(db: Database, labels: tuple[str, ...], source: str,
                params: tuple[object, ...] = ()) -> list[Histogram]:
    """`source` selects the label columns and `d` (seconds); counted per bucket in SQL."""
    buckets = ", ".join(f"SUM(CASE WHEN d <= {bound!r} THEN 1 ELSE 0 END) AS b{i}"
                        for i, bound in enumerate(DURATION_BUCKETS))
    names = ", ".join(labels)
    rows = db.fetchall(f"SELECT {names}, COUNT(*) AS n, COALESCE(SUM(d), 0) AS total, {buckets}"
                       f" FROM ({source}) timed GROUP BY {names} ORDER BY {names}", params)
    return [Histogram(tuple(str(row[name]) for name in labels), int(row["n"]),
                      float(row["total"]),
                      [int(row[f"b{i}"] or 0) for i in range(len(DURATION_BUCKETS))])
            for row in rows]


def read_snapshot(db: Database) -> Snapshot:
    finished = ", ".join(f"'{status}'" for status in FINISHED)
    deployments = [
        (r["fraise"], r["environment"], r["trigger"], r["status"], int(r["n"]))
        for r in db.fetchall(
            "SELECT fraise, environment, trigger, status, COUNT(*) AS n FROM tb_deployment"
            f" WHERE status IN ({finished}) GROUP BY fraise, environment, trigger, status"
            " ORDER BY fraise, environment, trigger, status")]
    in_progress = [
        (r["fraise"], r["environment"], r["status"], int(r["n"]))
        for r in db.fetchall(
            "SELECT fraise, environment, status, COUNT(*) AS n FROM tb_deployment"
            " WHERE status IN ('queued', 'running') GROUP BY fraise, environment, status"
            " ORDER BY fraise, environment, status")]
    deployment_durations = _histograms(
        db, ("fraise", "environment"),
        "SELECT fraise, environment, duration_seconds AS d FROM tb_deployment"
        f" WHERE duration_seconds IS NOT NULL AND status IN ({finished})")
    step_seconds = _seconds(db.backend, "started_at", "completed_at")
    step_durations = _histograms(
        db, ("name",),
        f"SELECT name, {step_seconds} AS d FROM tb_deployment_step"
        " WHERE started_at IS NOT NULL AND completed_at IS NOT NULL")
    webhooks = [(r["provider"], r["outcome"], int(r["n"])) for r in db.fetchall(
        "SELECT provider, outcome, COUNT(*) AS n FROM tb_webhook_event"
        " GROUP BY provider, outcome ORDER BY provider, outcome")]
    workers = [(r["name"], r["hostname"], float(r["beat"])) for r in db.fetchall(
        f"SELECT name, hostname, {_epoch(db.backend, 'heartbeat_at')} AS beat FROM tb_worker"
        " WHERE expires_at > ? ORDER BY name", (utc_timestamp(),))]
    attempts = [(r["channel"], r["kind"], r["status"], int(r["n"])) for r in db.fetchall(
        "SELECT channel, kind, status, COUNT(*) AS n FROM tb_notification_attempt"
        " GROUP BY channel, kind, status ORDER BY channel, kind, status")]
    return Snapshot(deployments, in_progress, deployment_durations, step_durations, webhooks,
                    workers, attempts)
