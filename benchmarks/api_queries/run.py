"""Time the two hot API queries over HTTP against a seeded database, with the same reads
done in-process through the store (no HTTP, no GraphQL) as the baseline, in the same run.

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
    env = dict(os.environ, FRAISIER_CONFIG=str(folder / "fraises.yaml"))
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "fraisier.api.app:app_from_env",
         "--port", str(port), "--log-level", "warning"], env=env, start_new_session=True)
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
            store.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 200)
