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
`--frames` counts instead the WAL frames (pages) a push writes, by table and index, as
shipped and with two what-ifs: shorter keys for the two indexes, and the body compressed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ingest_cost
import run as load

from fraisier.config import load_config
from fraisier.ingest import WebhookRequest
from fraisier.ingest.group_commit import commit_batch
from fraisier.ingest.handler import Ingest
from fraisier.store import Store, intake, open_store

Recorder = Callable[[list[WebhookRequest]], None]
HalfFilled = tuple[Path, Store, Recorder, list[WebhookRequest]]

# What-ifs as SQL run on the fresh database before the first push.
VARIANTS: dict[str, tuple[str, ...]] = {
    "as shipped": (),
    "without the delivery index": ("DROP INDEX ix_webhook_event_delivery",),
    "without the body-digest index": ("DROP INDEX ix_webhook_event_digest",),
}
SHORT_KEYS = (  # the same two indexes on 12 characters of their key instead of 36 and 64
    "DROP INDEX ix_webhook_event_delivery", "DROP INDEX ix_webhook_event_digest",
    "CREATE INDEX ix_webhook_event_delivery ON tb_webhook_event"
    " (provider, substr(delivery_id, 1, 12))",
    "CREATE INDEX ix_webhook_event_digest ON tb_webhook_event (substr(body_digest, 1, 12))",
)
# For --frames: (SQL, whether the stored body is compressed with zlib at level 1).
FRAME_WHAT_IFS: dict[str, tuple[tuple[str, ...], bool]] = {
    "as shipped": ((), False),
    "short index keys": (SHORT_KEYS, False),
    "body compressed": ((), True),
    "short index keys, body compressed": (SHORT_KEYS, True),
}


def written_bytes() -> int:
    with open("/proc/self/io") as io:
        for line in io:
            if line.startswith("wchar:"):
                return int(line.split()[1])
    raise RuntimeError("no wchar in /proc/self/io")


@contextmanager
def half_filled(setup: tuple[str, ...], pushes: int, batch: int,
                page_size: int | None) -> Iterator[HalfFilled]:
    """A fresh state database with the first half of `pushes` recorded; yields the work
    directory, the store, a function recording requests in batches, and the second half."""
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
        for statement in setup:
            store.db.execute(statement)
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
        yield work, store, record, requests[half:]
        store.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(setup: tuple[str, ...], pushes: int, batch: int,
            page_size: int | None) -> tuple[float, float, float]:
    """(KiB written, user µs, system µs) per push of the measured half."""
    with half_filled(setup, pushes, batch, page_size) as (_, _, record, rest):
        before_bytes, before = written_bytes(), os.times()
        record(rest)
        after_bytes, after = written_bytes(), os.times()
    return ((after_bytes - before_bytes) / len(rest) / 1024,
            (after.user - before.user) / len(rest) * 1e6,
            (after.system - before.system) / len(rest) * 1e6)


@contextmanager
def compressed_bodies() -> Iterator[None]:
    """A what-if: the body stored as zlib (level 1) instead of text."""
    shipped = intake.stored_payload
    intake.stored_payload = lambda payload: (  # type: ignore[assignment]
        None if payload is None else zlib.compress(payload, 1))
    try:
        yield
    finally:
        intake.stored_payload = shipped


def frames_by_object(setup: tuple[str, ...], compress: bool, pushes: int,
                     batch: int) -> dict[str, float]:
    """WAL frames (one page each) per push of the measured half, by the table or index
    that owns the page ("all": the sum): the WAL is emptied, checkpoints are turned off,
    the second half is recorded, and each frame's page number is looked up in SQLite's
    dbstat table."""
    with (compressed_bodies() if compress else nullcontext(),
          half_filled(setup, pushes, batch, None) as (work, store, record, rest)):
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        store.db.execute("PRAGMA wal_autocheckpoint=0")
        record(rest)
        wal = (work / "state.db-wal").read_bytes()
        page_size = int.from_bytes(wal[8:12], "big")  # the WAL header's page size
        pages: Counter[int] = Counter()
        for offset in range(32, len(wal) - 24 + 1, 24 + page_size):  # 24-byte frame headers
            pages[int.from_bytes(wal[offset:offset + 4], "big")] += 1
        reader = sqlite3.connect(work / "state.db")
        owners = dict(reader.execute("SELECT pageno, name FROM dbstat"))
        reader.close()
    by_object: Counter[str] = Counter({"all": sum(pages.values())})
    for page, frames in pages.items():
        by_object[owners.get(page, "(free pages)")] += frames
    return {name: frames / len(rest) for name, frames in by_object.most_common()}


def print_frames(pushes: int, batch: int) -> None:
    shown = ("tb_webhook_event", "ix_webhook_event_delivery", "ix_webhook_event_digest")
    print("| what | all | " + " | ".join(shown) + " | the rest |")
    print("|---|---|---|---|---|---|")
    rest = ""
    for name, (setup, compress) in FRAME_WHAT_IFS.items():
        frames = frames_by_object(setup, compress, pushes, batch)
        parts = [frames.get(table, 0.0) for table in shown]
        row = [frames["all"], *parts, frames["all"] - sum(parts)]
        print(f"| {name} | " + " | ".join(f"{value:.2f}" for value in row) + " |", flush=True)
        if name == "as shipped":
            rest = ", ".join(f"{table} {value:.2f}" for table, value in frames.items()
                             if table not in ("all", *shown))
    print(f"\nThe rest, as shipped: {rest}.")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pushes", type=int, default=40000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--page-size", type=int, action="append",
                        help="also measure 'as shipped' with this page size (repeatable)")
    parser.add_argument("--frames", action="store_true",
                        help="instead: the WAL frames a push writes, by table and index")
    args = parser.parse_args()
    if args.frames:
        print_frames(args.pushes, args.batch)
        return
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
