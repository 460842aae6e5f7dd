"""What recording a webhook writes: bytes per push that the ingest process's SQLite
connection hands to the kernel (`wchar` of /proc/self/io: the WAL appends and the
checkpoints' copies into the database file), without HTTP, on a fresh state database.

    .venv/bin/python benchmarks/webhook_load/write_volume.py [--pushes 40000] [--batch 32]

Each push is run.py's new-commit push (a new commit, a new random delivery id). The first
half of the pushes fills the database; the second half is measured. The what-ifs drop one of
the two indexes whose keys are random (a delivery id, a SHA-256 of the body): each insert
then dirties a page of its own, which is written to the WAL and again into the database at
the next checkpoint. They are not things Fraisier can do (the duplicate checks read them;
without the delivery index its lookup scans the table, so its CPU columns mean nothing);
`--page-size N` creates the database with that page size instead of SQLite's 4,096.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ingest_cost
import run as load

from fraisier.config import load_config
from fraisier.ingest import WebhookRequest
from fraisier.ingest.group_commit import commit_batch
from fraisier.ingest.handler import Ingest
from fraisier.store import open_store

VARIANTS = {
    "as shipped": (),
    "without the delivery index": ("ix_webhook_event_delivery",),
    "without the body-digest index": ("ix_webhook_event_digest",),
}


def written_bytes() -> int:
    with open("/proc/self/io") as io:
        for line in io:
            if line.startswith("wchar:"):
                return int(line.split()[1])
    raise RuntimeError("no wchar in /proc/self/io")


def measure(dropped: tuple[str, ...], pushes: int, batch: int,
            page_size: int | None) -> tuple[float, float, float]:
    """(KiB written, user µs, system µs) per push of the measured half."""
    work = Path(tempfile.mkdtemp(prefix="write-volume-", dir="/var/tmp"))
    try:
        (work / "fraises.yaml").write_text(load.CONFIG.format(
            work=work, secret=load.SECRET, state_url=f"sqlite:///{work}/state.db"))
        if page_size:
            created = sqlite3.connect(work / "state.db")
            created.execute(f"PRAGMA page_size={int(page_size)}")
            created.execute("VACUUM")  # an empty database, with that page size
            created.close()
        config = load_config(work / "fraises.yaml")
        store = open_store(config.state.url)
        for index in dropped:
            store.db.execute(f"DROP INDEX {index}")
        ingest = Ingest(config, store)
        requests = [WebhookRequest(
            headers={"content-type": "application/json", "x-github-event": "push",
                     "x-github-delivery": os.urandom(16).hex(),
                     "x-hub-signature-256": load.sign(body)},
            body=body, source_ip="127.0.0.1", provider=None)
            for body in ingest_cost.bodies("new-commit", pushes)]

        def record(chunk: list[WebhookRequest]) -> None:
            for start in range(0, len(chunk), batch):
                receipts = [ingest.prepare(request) for request in chunk[start:start + batch]]
                commit_batch(store.db, ingest.write, receipts)

        half = pushes // 2
        record(requests[:half])
        before_bytes, before = written_bytes(), os.times()
        record(requests[half:])
        after_bytes, after = written_bytes(), os.times()
        store.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    measured = pushes - half
    return ((after_bytes - before_bytes) / measured / 1024,
            (after.user - before.user) / measured * 1e6,
            (after.system - before.system) / measured * 1e6)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pushes", type=int, default=40000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--page-size", type=int, action="append",
                        help="also measure 'as shipped' with this page size (repeatable)")
    args = parser.parse_args()
    print("| what | page size | KiB written per push | user µs | system µs |")
    print("|---|---|---|---|---|")
    runs = [(name, dropped, None) for name, dropped in VARIANTS.items()]
    runs += [("as shipped", (), size) for size in args.page_size or ()]
    for name, dropped, size in runs:
        kib, user, system = measure(dropped, args.pushes, args.batch, size)
        print(f"| {name} | {size or 4096} | {kib:.1f} | {user:.0f} | {system:.0f} |",
              flush=True)


if __name__ == "__main__":
    main()
