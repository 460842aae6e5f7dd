"""What recording a webhook costs, without HTTP: the work of `fraisier serve`'s ingest
process (prepare, then one transaction per batch), in this process, on a fresh SQLite state
database, for the same signed GitHub push as run.py.

    .venv/bin/python benchmarks/webhook_load/ingest_cost.py [--pushes 5000] [--batch 40]
        [--mode new-commit|same-commit] [--profile N]

`--mode new-commit` (the default) gives every push a commit of its own, as run.py's default
mode does; `--profile N` prints the N costliest functions (cProfile) of "as shipped" only.

Prints CPU µs per push (user and system) for the real write and for what-ifs that leave
parts of it out. The what-ifs are not things Fraisier can do (the issue asks for the body,
the outbox rows and the queries the indexes serve); they say how much each part costs, so
the floor under the ingest process's cost is a measured figure:

    as shipped         prepare + record, as `fraisier serve` does
    prepare only       provider, signature, parse, routing: no database
    without body       the event row without its 8.6 KiB body
    without outbox     no tb_event rows
    without indexes    five secondary indexes of tb_deployment and tb_webhook_event that no
                       statement of the write reads, dropped
    without all three  the three above together
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import pstats
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as load  # the same fixture, secret and configuration as run.py

from fraisier.config import load_config
from fraisier.ingest import WebhookRequest
from fraisier.ingest.group_commit import commit_batch
from fraisier.ingest.handler import Ingest
from fraisier.store import intake, open_store

# Secondary indexes that no statement of the write reads (they serve the API and CLI).
READ_ONLY_INDEXES = ("ix_deployment_status",
                     "ix_deployment_fraise_status", "ix_deployment_stats",
                     "ix_deployment_duration", "ix_webhook_event_received")
VARIANTS = {
    "as shipped": (),
    "prepare only": ("no-write",),
    "without body": ("body",),
    "without outbox": ("outbox",),
    "without indexes": ("indexes",),
    "without all three": ("body", "outbox", "indexes"),
}


def bodies(mode: str, count: int) -> list[bytes]:
    body = load.FIXTURE.read_bytes()
    if mode == "same-commit":
        return [body] * count
    original = json.loads(body)["after"].encode()
    return [body.replace(original, hashlib.sha1(f"cost-{n}".encode()).hexdigest().encode())
            for n in range(count)]


def measure(left_out: tuple[str, ...], pushes: int, batch: int, mode: str = "new-commit",
            profile: int = 0) -> tuple[float, float]:
    work = Path(tempfile.mkdtemp(prefix="ingest-cost-"))
    (work / "fraises.yaml").write_text(load.CONFIG.format(
        work=work, secret=load.SECRET, state_url=f"sqlite:///{work}/state.db"))
    config = load_config(work / "fraises.yaml")
    store = open_store(config.state.url)
    ingest = Ingest(config, store)
    requests = [WebhookRequest(
        headers={"content-type": "application/json", "x-github-event": "push",
                 "x-github-delivery": f"cost-{n}", "x-hub-signature-256": load.sign(body)},
        body=body, source_ip="127.0.0.1", provider=None)
        for n, body in enumerate(bodies(mode, 2 * pushes))]
    saved = intake.stored_payload, store.events.emit_many
    if "body" in left_out:
        intake.stored_payload = lambda payload: None
    if "outbox" in left_out:
        store.events.emit_many = lambda *args, **kwargs: None
    if "indexes" in left_out:
        for index in READ_ONLY_INDEXES:
            store.db.execute(f"DROP INDEX {index}")

    def run(chunk: list[WebhookRequest]) -> None:
        for start in range(0, len(chunk), batch):
            receipts = [ingest.prepare(request) for request in chunk[start:start + batch]]
            if "no-write" not in left_out:
                commit_batch(store.db, ingest.write, receipts)

    try:
        run(requests[:pushes])  # warm: caches, a WAL that has been checkpointed once
        profiler = cProfile.Profile() if profile else None
        before = os.times()
        if profiler is not None:
            profiler.enable()
        run(requests[pushes:])
        if profiler is not None:
            profiler.disable()
        after = os.times()
        if profiler is not None:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(profile)
    finally:
        intake.stored_payload, store.events.emit_many = saved
        store.close()
        shutil.rmtree(work, ignore_errors=True)
    return ((after.user - before.user) / pushes * 1e6,
            (after.system - before.system) / pushes * 1e6)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pushes", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=40)
    parser.add_argument("--mode", choices=("new-commit", "same-commit"), default="new-commit")
    parser.add_argument("--profile", type=int, default=0)
    parser.add_argument("--only", action="append", choices=list(VARIANTS),
                        help="measure only this variant (repeatable)")
    args = parser.parse_args()
    if args.profile:
        measure((), args.pushes, args.batch, args.mode, args.profile)
        return
    print(f"mode: {args.mode}")
    print("| what | user µs/push | system µs/push | total |")
    print("|---|---|---|---|")
    for name, left_out in VARIANTS.items():
        if args.only and name not in args.only:
            continue
        user, system = measure(left_out, args.pushes, args.batch, args.mode)
        print(f"| {name} | {user:.0f} | {system:.0f} | {user + system:.0f} |", flush=True)


if __name__ == "__main__":
    main()
