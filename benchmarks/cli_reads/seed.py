"""Seed a state database with N finished deployments (and their steps) for the read benchmarks.

Usage: python benchmarks/cli_reads/seed.py STATE_URL N FRAISES ENVIRONMENTS
Rows go through the same schema migrations as Fraisier's own; inserted in bulk for speed.
"""

import random
import sys
from datetime import timedelta

from fraisier.domain.model import utc_now, utc_timestamp
from fraisier.store import open_store

STATUSES = ["succeeded"] * 8 + ["rolled_back", "failed"]
STEPS = ["fetch", "release", "install", "build", "migrate", "activate", "restart",
         "health_check", "cleanup"]


def main(url: str, count: int, fraises: int, environments: int) -> None:
    store = open_store(url)
    db = store.db
    rng = random.Random(7)
    start = utc_now() - timedelta(days=60)
    step = timedelta(days=60) / count
    batch = 5000
    with db.transaction():
        for first in range(0, count, batch):
            deployments = []
            for i in range(first, min(first + batch, count)):
                queued = start + step * i
                duration = rng.uniform(5, 120)
                sha = f"{rng.getrandbits(160):040x}"
                deployments.append((
                    f"app{i % fraises}", f"env{(i // fraises) % environments}",
                    rng.choice(STATUSES), "webhook", sha, sha, "main",
                    f"{queued:%Y%m%dT%H%M%S%fZ}-{sha[:7]}", utc_timestamp(queued),
                    utc_timestamp(queued), utc_timestamp(queued + timedelta(seconds=duration)),
                    duration))
            for row in deployments:
                new_id = db.insert(
                    "INSERT INTO tb_deployment (fraise, environment, status, trigger,"
                    " requested_commit, commit_sha, branch, release, queued_at, started_at,"
                    " completed_at, duration_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row)
                for position, name in enumerate(STEPS):
                    db.execute(
                        "INSERT INTO tb_deployment_step (deployment_id, position, name, status,"
                        " started_at, completed_at) VALUES (?, ?, ?, 'succeeded', ?, ?)",
                        (new_id, position, name, row[9], row[10]))
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
