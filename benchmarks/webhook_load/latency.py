"""202 → step `fetch` started, through a real `fraisier serve` (HTTP in the server process,
verification and recording in its ingest child process, the worker back in the server
process, woken when the child's answer arrives).

    .venv/bin/python benchmarks/webhook_load/latency.py [--pushes 50]

Prints p50/p90/max in milliseconds. The goal is p50 <= 50 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from run import free_port, start, stop, wait_http

from fraisier.demo import make_workspace
from fraisier.domain.model import parse_timestamp, utc_now
from fraisier.ingest.sample_push import build_push
from fraisier.providers import Secrets
from fraisier.store import open_store

CONFIG = """\
state: {{url: "sqlite:///{root}/state.db"}}
git:
  github: {{webhook_secret: latency}}
webhook: {{duplicate_window_seconds: 0}}
worker: {{concurrency: 2, lease_seconds: 30, poll_interval: 1.0}}
fraises:
  app:
    repository: {repo}
    environments:
      production: {{branch: main, app_path: {root}/srv/app}}
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pushes", type=int, default=50)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="latency-"))
    ws = make_workspace(root / "ws")
    ws.config_path.write_text(CONFIG.format(root=root, repo=ws.repo))
    head = ws.commit("latency", {"LATENCY": "1\n"})
    port = free_port()
    server = start([sys.executable, "-m", "fraisier.cli.main", "-c", str(ws.config_path),
                    "serve", "--port", str(port)], root)
    url = f"http://127.0.0.1:{port}"
    store = open_store(f"sqlite:///{root}/state.db", migrate=False)
    delays = []
    try:
        wait_http(f"{url}/healthz", server)
        for n in range(args.pushes):
            headers, body = build_push("github", Secrets(webhook_secret="latency"),
                                       repository=str(ws.repo), branch="main", after=head,
                                       delivery=f"latency-{n}")
            response = httpx.post(f"{url}/webhook", headers=headers, content=body, timeout=30)
            accepted_at = utc_now()
            assert response.status_code == 202, response.text
            (deployment_id,) = response.json()["deployments"]
            while True:
                record = store.queue.get(deployment_id)
                if record.status not in ("queued", "running"):
                    break
                time.sleep(0.01)
            fetch = next(s for s in record.steps if s.name == "fetch")
            delays.append((parse_timestamp(fetch.started_at) - accepted_at).total_seconds()
                          * 1000)
    finally:
        stop(server)
        store.close()
    delays.sort()
    print(f"pushes={len(delays)} p50={statistics.median(delays):.1f}ms "
          f"p90={delays[int(len(delays) * 0.9) - 1]:.1f}ms max={delays[-1]:.1f}ms")


if __name__ == "__main__":
    main()
