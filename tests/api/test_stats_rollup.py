"""Statistics read from the daily rollups agree with a brute-force count over the rows."""

from __future__ import annotations

import math
import random
from datetime import timedelta

import pytest

from fraisier.domain.model import utc_now, utc_timestamp
from fraisier.store import open_store
from fraisier.store.stats import COUNTED

STATUSES = ["succeeded", "failed", "rolled_back", "rollback_failed", "interrupted",
            "cancelled", "superseded", "queued"]


def _brute_force(store, days, fraise=None):
    since = utc_timestamp(utc_now() - timedelta(days=days))
    rows = [r for r in store.db.fetchall("SELECT * FROM tb_deployment")
            if r["queued_at"] >= since and r["status"] in COUNTED
            and (fraise is None or r["fraise"] == fraise)]
    durations = sorted(r["duration_seconds"] for r in rows if r["duration_seconds"] is not None)
    p95 = durations[max(0, math.ceil(len(durations) * 0.95) - 1)] if durations else None
    return rows, durations, p95


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    url = (f"sqlite:///{tmp_path}/state.db" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    opened = open_store(url)
    yield opened
    opened.close()


def test_rollups_match_the_rows(store):
    rng = random.Random(3)
    now = utc_now()
    with store.db.transaction():
        for i in range(400):
            queued = now - timedelta(hours=rng.uniform(0, 24 * 50))
            status = rng.choice(STATUSES)
            duration = rng.choice([None, rng.uniform(0.5, 5000)]) if status in COUNTED else None
            store.db.execute(
                "INSERT INTO tb_deployment (fraise, environment, status, trigger, queued_at,"
                " duration_seconds) VALUES (?, ?, ?, 'cli', ?, ?)",
                (f"app{i % 3}", "production", status, utc_timestamp(queued), duration))
    # Through the queue, as a worker does it: queued -> running -> finished.
    record = store.queue.enqueue("app0", "staging", trigger="cli")
    store.queue.claim(record.id, "test", 60)
    store.queue.finish(record.id, "succeeded")
    # A finished status changing again is moved, not counted twice.
    changed = store.db.scalar("SELECT MIN(id) FROM tb_deployment WHERE status = 'interrupted'")
    store.db.execute("UPDATE tb_deployment SET status = 'rolled_back' WHERE id = ?", (changed,))

    for days, fraise in ((30, None), (7, "app1"), (365, None)):
        stats = store.views.stats(days=days, fraise=fraise)
        rows, durations, p95 = _brute_force(store, days, fraise)
        assert stats["total_deployments"] == len(rows)
        assert stats["successful"] == sum(r["status"] == "succeeded" for r in rows)
        assert stats["rolled_back"] == sum(r["status"] == "rolled_back" for r in rows)
        assert stats["interrupted"] == sum(r["status"] == "interrupted" for r in rows)
        assert stats["average_duration_seconds"] == pytest.approx(
            sum(durations) / len(durations), abs=0.002)
        assert stats["p95_duration_seconds"] == round(p95, 3)
