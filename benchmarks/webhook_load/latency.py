"""202 → step `fetch` started, in one process (ingest and worker share the process, so the
wake-up is the in-process notification after commit).

    .venv/bin/python benchmarks/webhook_load/latency.py [--pushes 50]

Prints p50/p90/max in milliseconds. The goal is p50 <= 50 ms.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fraisier.config import load_config
from fraisier.demo import make_workspace
from fraisier.domain.model import parse_timestamp, utc_now
from fraisier.engine.service import open_state
from fraisier.ingest import WebhookRequest
from fraisier.ingest.handler import Ingest
from fraisier.ingest.sample_push import build_push
from fraisier.providers import Secrets
from fraisier.worker import Worker

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
    config = load_config(ws.config_path)
    store = open_state(config)
    ingest = Ingest(config, store)
    worker = Worker(config, store).start()
    head = ws.commit("latency", {"LATENCY": "1\n"})
    delays = []
    try:
        for n in range(args.pushes):
            headers, body = build_push("github", Secrets(webhook_secret="latency"),
                                       repository=str(ws.repo), branch="main", after=head,
                                       delivery=f"latency-{n}")
            result = ingest.handle(WebhookRequest({k.lower(): v for k, v in headers.items()},
                                                  body, "127.0.0.1"))
            accepted_at = utc_now()
            assert result.status_code == 202, result.body
            (deployment_id,) = result.body["deployments"]
            while True:
                record = store.queue.get(deployment_id)
                if record.status not in ("queued", "running"):
                    break
                time.sleep(0.01)
            fetch = next(s for s in record.steps if s.name == "fetch")
            delays.append((parse_timestamp(fetch.started_at) - accepted_at).total_seconds()
                          * 1000)
    finally:
        worker.stop()
        store.close()
    delays.sort()
    print(f"pushes={len(delays)} p50={statistics.median(delays):.1f}ms "
          f"p90={delays[int(len(delays) * 0.9) - 1]:.1f}ms max={delays[-1]:.1f}ms")


if __name__ == "__main__":
    main()
