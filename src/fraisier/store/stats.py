"""Deployment statistics from the daily rollups (migration 0041): counts and the average
from the rollups, the 95th percentile located by the duration histogram and read exactly
from the rows of one bucket.

The window "the last N days" starts mid-day: whole days come from the rollups, the first,
partial day from tb_deployment itself (a short range scan on ix_deployment_stats, which
begins with queued_at).
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from fraisier.domain.model import utc_now, utc_timestamp
from fraisier.store.db import Database
from fraisier.store.filters import matching

COUNTED = ("succeeded", "failed", "rolled_back", "rollback_failed", "interrupted")


def duration_bucket(seconds: float) -> int:
    """Lower bound of the bucket holding `seconds` (same rule as the SQL in 0041)."""
    for limit, width in ((60, 1), (600, 5), (3600, 30)):
        if seconds < limit:
            return int(seconds // width) * width
    return int(seconds // 300) * 300


def bucket_width(lower: int) -> int:
    return 1 if lower < 60 else 5 if lower < 600 else 30 if lower < 3600 else 300


def deployment_stats(db: Database, *, fraise: str | None = None,
                     environment: str | None = None, days: int | None = 30) -> dict[str, Any]:
    target, params = matching(fraise=fraise, environment=environment)

    counts = {status: 0 for status in COUNTED}
    timed, duration_sum = 0, 0.0
    histogram: dict[int, int] = {}
    day_filter, day_params, since_text = "", [], None
    if days:
        since = utc_now() - timedelta(days=days)
        since_text = utc_timestamp(since)
        first_whole_day = (since + timedelta(days=1)).strftime("%Y-%m-%d")
        day_filter, day_params = " AND day >= ?", [first_whole_day]
        # The partial first day, from the deployments themselves.
        marks = ",".join("?" * len(COUNTED))
        for row in db.fetchall(
                f"SELECT status, duration_seconds FROM tb_deployment WHERE queued_at >= ?"
                f" AND queued_at < ? AND status IN ({marks}){target}",
                [since_text, first_whole_day, *COUNTED, *params]):
            counts[row["status"]] += 1
            if row["duration_seconds"] is not None:
                timed += 1
                duration_sum += row["duration_seconds"]
                bucket = duration_bucket(row["duration_seconds"])
                histogram[bucket] = histogram.get(bucket, 0) + 1

    for row in db.fetchall(
            "SELECT status, SUM(deployments) AS n, SUM(timed) AS timed,"
            f" SUM(duration_sum) AS total FROM tb_deployment_daily WHERE 1 = 1{day_filter}"
            f"{target} GROUP BY status", [*day_params, *params]):
        counts[row["status"]] = counts.get(row["status"], 0) + int(row["n"] or 0)
        timed += int(row["timed"] or 0)
        duration_sum += float(row["total"] or 0)
    for row in db.fetchall(
            "SELECT bucket, SUM(deployments) AS n FROM tb_deployment_duration_daily"
            f" WHERE 1 = 1{day_filter}{target} GROUP BY bucket", [*day_params, *params]):
        histogram[int(row["bucket"])] = histogram.get(int(row["bucket"]), 0) + int(row["n"])

    total = sum(counts.values())
    p95 = None
    if timed:
        # Nearest-rank 95th percentile: the ceil(0.95 n)-th smallest duration. The histogram
        # says which bucket holds it; the rows of that one bucket give the exact value.
        rank, below = max(0, math.ceil(timed * 0.95) - 1), 0
        for lower in sorted(histogram):
            if below + histogram[lower] > rank:
                p95 = _exact_in_bucket(db, lower, rank - below, since_text, target, params)
                break
            below += histogram[lower]
    return {
        "fraise": fraise,
        "environment": environment,
        "days": days,
        "total_deployments": total,
        "successful": counts["succeeded"],
        "failed": counts["failed"],
        "rolled_back": counts["rolled_back"],
        "rollback_failed": counts["rollback_failed"],
        "interrupted": counts["interrupted"],
        "success_rate": round(counts["succeeded"] / total, 4) if total else None,
        "average_duration_seconds": round(duration_sum / timed, 3) if timed else None,
        "p95_duration_seconds": round(p95, 3) if p95 is not None else None,
    }


def _exact_in_bucket(db: Database, lower: int, offset: int, since: str | None, target: str,
                     params: list[Any]) -> float:
    marks = ",".join("?" * len(COUNTED))
    window = " AND queued_at >= ?" if since else ""
    value = db.scalar(
        "SELECT duration_seconds FROM tb_deployment WHERE duration_seconds >= ?"
        f" AND duration_seconds < ?{window} AND status IN ({marks}){target}"
        " ORDER BY duration_seconds LIMIT 1 OFFSET ?",
        [lower, lower + bucket_width(lower), *([since] if since else []), *COUNTED, *params,
         offset])
    # Only a row the histogram counted but this range cannot see (a negative duration
    # from a clock step) lands here; the bucket's upper edge is then the best answer.
    return float(value) if value is not None else float(lower + bucket_width(lower))


def daily_stats(db: Database, *, fraise: str | None = None, environment: str | None = None,
                days: int = 30) -> list[dict[str, Any]]:
    """One row per UTC day of the last `days` with finished deployments: counts per status and
    the average duration, read from the daily rollups (a few rows per day, whatever the
    number of deployments)."""
    since = (utc_now() - timedelta(days=days - 1)).strftime("%Y-%m-%d")
    where, params = " WHERE day >= ?", [since]
    if fraise:
        where += " AND fraise = ?"
        params.append(fraise)
    if environment:
        where += " AND environment = ?"
        params.append(environment)
    found: dict[str, dict[str, Any]] = {}
    for row in db.fetchall(
            "SELECT day, status, SUM(deployments) AS n, SUM(timed) AS timed,"
            f" SUM(duration_sum) AS total FROM tb_deployment_daily{where}"
            " GROUP BY day, status ORDER BY day", params):
        day = found.setdefault(row["day"], {"day": row["day"], "timed": 0, "duration_sum": 0.0,
                                            **{status: 0 for status in COUNTED}})
        day[row["status"]] = day.get(row["status"], 0) + int(row["n"] or 0)
        day["timed"] += int(row["timed"] or 0)
        day["duration_sum"] += float(row["total"] or 0)
    days_found = []
    for day in found.values():
        total = sum(day[status] for status in COUNTED)
        if total == 0:
            continue
        day["total"] = total
        day["success_rate"] = day["succeeded"] / total
        day["average_duration_seconds"] = (day["duration_sum"] / day["timed"]
                                           if day["timed"] else None)
        days_found.append(day)
    return days_found
