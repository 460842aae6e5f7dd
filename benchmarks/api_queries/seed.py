"""Seed a SQLite state database with N finished deployments over the last 60 days, and write
a fraises.yaml naming its fraises, for the API query benchmark.

Usage: python seed.py DIR N [FRAISES] [ENVIRONMENTS]
Rows go through Fraisier's own migrations; they are inserted in bulk (executemany).
"""

import random
import sys
from datetime import timedelta
from pathlib import Path

from fraisier.domain.model import utc_now, utc_timestamp
from fraisier.store import open_store

STATUSES = ["succeeded"] * 8 + ["rolled_back", "failed"]


def main(folder: Path, count: int, fraises: int, environments: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    db_path = folder / "state.db"
    db_path.unlink(missing_ok=True)
    store = open_store(f"sqlite:///{db_path}")
    rng = random.Random(7)
    start = utc_now() - timedelta(days=60)
    step = timedelta(days=60) / count
    conn = store.db.conn
    batch = 50_000
    conn.execute("BEGIN")
    for first in range(0, count, batch):
        rows = []
        for i in range(first, min(first + batch, count)):
            queued = start + step * i
            duration = rng.uniform(5, 120)
            sha = f"{rng.getrandbits(160):040x}"
            rows.append((f"app{i % fraises}", f"env{(i // fraises) % environments}",
                         rng.choice(STATUSES), "webhook", sha, sha, "main",
                         f"{queued:%Y%m%dT%H%M%S%fZ}-{sha[:7]}", utc_timestamp(queued),
                         utc_timestamp(queued),
                         utc_timestamp(queued + timedelta(seconds=duration)), duration))
        conn.executemany(
            "INSERT INTO tb_deployment (fraise, environment, status, trigger, requested_commit,"
            " commit_sha, branch, release, queued_at, started_at, completed_at,"
            " duration_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    store.close()
    envs = "".join(f"      env{e}:\n        branch: env{e}\n        app_path: srv/FRAISE/env{e}\n"
                   for e in range(environments))
    body = "".join(f"  app{f}:\n    repository: repo\n    environments:\n"
                   + envs.replace("FRAISE", f"app{f}") for f in range(fraises))
    (folder / "fraises.yaml").write_text(
        f"state:\n  url: sqlite:///{db_path}\napi:\n  anonymous_read: true\nfraises:\n{body}")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(Path(args[0]), int(args[1]), int(args[2]) if len(args) > 2 else 10,
         int(args[3]) if len(args) > 3 else 3)
