"""Time the two hot API queries over HTTP (`fraisier serve`) against a seeded database, with
the same reads done in-process through the store (Python sqlite3: no HTTP, no GraphQL) as
the baseline, in the same run.

Usage: python run.py DIR [REQUESTS]     (DIR made by seed.py)
"""

import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from fraisier.demo.workspace import free_port
from fraisier.store import open_store

HISTORY = """query { deploymentHistory(fraiseId: "app3", status: FAILED, limit: 50) {
  id fraiseId environment status trigger commitSha release queuedAt durationSeconds } }"""
STATS = """query { deploymentStatistics(timeRangeDays: 30) { totalDeployments successful
  failed rolledBack successRate averageDurationSeconds p95DurationSeconds } }"""


def full_scan_stats(store, days: int) -> None:
    """Statistics the way they were computed before the rollups: one aggregate over the
    window and a sort for the 95th percentile."""
    from datetime import timedelta

    from fraisier.domain.model import utc_now, utc_timestamp

    where = ("WHERE status IN ('succeeded', 'failed', 'rolled_back', 'rollback_failed',"
             " 'interrupted') AND queued_at >= ?")
    since = utc_timestamp(utc_now() - timedelta(days=days))
    row = store.db.fetchone("SELECT COUNT(*) AS n, AVG(duration_seconds) AS a,"
                            f" COUNT(duration_seconds) AS t FROM tb_deployment {where}", (since,))
    store.db.scalar(f"SELECT duration_seconds FROM tb_deployment {where} AND duration_seconds"
                    " IS NOT NULL ORDER BY duration_seconds LIMIT 1 OFFSET ?",
                    (since, max(0, int(row["t"] * 0.95) - 1)))


def timed(call, count: int) -> list[float]:
    call()  # warm caches
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"{name:<48} p50 {statistics.median(ordered):8.2f} ms   p95 {p95:8.2f} ms"


def main(folder: Path, count: int) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "fraisier", "-c", str(folder / "fraises.yaml"), "serve",
         "--no-worker", "--port", str(port)], start_new_session=True,
        stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        with httpx.Client(timeout=60) as client:
            for _ in range(300):
                try:
                    client.post(url, json={"query": "{ __typename }"})
                    break
                except httpx.TransportError:
                    time.sleep(0.1)

            def over_http(query):
                def call():
                    body = client.post(url, json={"query": query}).json()
                    assert "errors" not in body, body
                return call

            store = open_store(f"sqlite:///{folder / 'state.db'}", migrate=False)
            rows = store.db.scalar("SELECT COUNT(*) FROM tb_deployment")
            print(f"{rows} deployments, {count} requests each")
            print(summary("HTTP  deploymentHistory(fraiseId,status,50)",
                          timed(over_http(HISTORY), count)))
            print(summary("store views.history (baseline, in-process)", timed(
                lambda: store.views.history(fraise="app3", status="failed", limit=50,
                                            with_steps=False), count)))
            print(summary("HTTP  deploymentStatistics(timeRangeDays: 30)",
                          timed(over_http(STATS), max(10, count // 10))))
            print(summary("store views.stats (baseline, in-process)",
                          timed(lambda: store.views.stats(days=30), max(10, count // 10))))
            print(summary("full-scan SQL, no rollups (Python sqlite3)",
                          timed(lambda: full_scan_stats(store, 30), 5)))
            store.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 200)
