"""A read token against the whole server: two clients loop an expensive GraphQL query while
a third measures webhook POST and /healthz latency, idle and under that load, for this
checkout and for a baseline commit, in one run.

    .venv/bin/python benchmarks/api_stall/run.py --baseline REF [--samples 200]

REF (a commit of this repository) is checked out with `git worktree add --detach` into a
scratch directory and served by the same Python environment (its `src/` first on
PYTHONPATH). Both servers get a copy of one SQLite state seeded with --deployments finished
deployments of --lines log lines and two steps each, and run `fraisier serve --no-worker`.

The query is issue 13's: 30 aliases of
`deploymentHistory(limit: 500) { id logs(limit: 500) { line } steps { name } }`.
Each load client is its own process (so its work never slows the measuring client) and
loops the query over one keep-alive connection. The measuring client sends a signed GitHub
push to /webhook every --interval seconds and a GET /healthz half way between, on a fixed
schedule (open loop), and times each from the moment it was due.

Prints a Markdown table (latency in ms) and one JSON line per server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "benchmarks" / "webhook_load"))
from run import (  # noqa: E402 - the load benchmark's fixture, secret and configuration
    CONFIG,
    FIXTURE,
    SECRET,
    free_port,
    sign,
    start,
    stop,
    wait_http,
)

FIELDS = "deploymentHistory(limit: 500) { id logs(limit: 500) { line } steps { name } }"
QUERY = "{ " + " ".join(f"a{n}: {FIELDS}" for n in range(30)) + " }"


def seed(work: Path, deployments: int, lines: int) -> str:
    """A state database with finished deployments, their steps and log lines; returns a
    read token."""
    from fraisier.config import load_config
    from fraisier.domain.model import utc_timestamp
    from fraisier.engine.service import open_state

    store = open_state(load_config(work / "fraises.yaml"))
    try:
        for _ in range(deployments):
            record = store.queue.enqueue("hello", "production", trigger="cli")
            store.ledger.plan(record.id, ["fetch", "release"])
            store.queue.claim(record.id, "seed", 60)
            store.queue.finish(record.id, "succeeded")
        now = utc_timestamp()
        rows = [(d, now, "stdout", f"line {n} of deployment {d}: " + "x" * 60)
                for d in range(1, deployments + 1) for n in range(lines)]
        with store.db.transaction():
            store.db.insert_many("tb_deployment_log",
                                 ("deployment_id", "logged_at", "stream", "line"), rows)
        return store.tokens.create("bench-reader", "read")
    finally:
        store.close()


def load_client(url: str, token: str, stop_file: str, out: str) -> None:
    """Loop QUERY until `stop_file` exists; write per-query [seconds, outcome] to `out`."""
    results = []
    with httpx.Client(timeout=600, headers={"Authorization": f"Bearer {token}"}) as client:
        while not os.path.exists(stop_file):
            began = time.perf_counter()
            body = client.post(url, json={"query": QUERY}).json()
            errors = body.get("errors") or []
            outcome = (errors[0].get("extensions", {}).get("code", "error") if errors
                       else "answered")
            results.append([time.perf_counter() - began, outcome])
            Path(out).write_text(json.dumps(results))


def measure(url: str, samples: int, interval: float) -> dict[str, list[float]]:
    """Open loop: a webhook POST every `interval` seconds and a GET /healthz half way
    between, each sent at its time whether or not the ones before were answered, and timed
    from that time. (A client that waits for each answer before sending the next would take
    one sample during a stall of many seconds, and its median would not see the stall.)"""
    return asyncio.run(_measure(url, samples, interval))


async def _measure(url: str, samples: int, interval: float) -> dict[str, list[float]]:
    body = FIXTURE.read_bytes()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push",
               "X-Hub-Signature-256": sign(body)}
    found: dict[str, list[float]] = {"webhook": [], "healthz": []}
    loop = asyncio.get_running_loop()
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=50)
    async with httpx.AsyncClient(timeout=600, limits=limits) as client:

        async def probe(kind: str, at: float) -> None:
            await asyncio.sleep(max(0.0, at - loop.time()))
            if kind == "webhook":
                response = await client.post(f"{url}/webhook", content=body, headers={
                    **headers, "X-GitHub-Delivery": str(uuid.uuid4())})
                assert response.status_code == 202, response.text
            else:
                response = await client.get(f"{url}/healthz")
                assert response.status_code == 200
            found[kind].append((loop.time() - at) * 1000)

        first = loop.time() + 0.1
        await asyncio.gather(*(
            probe(kind, first + n * interval + (interval / 2 if kind == "healthz" else 0))
            for n in range(samples) for kind in ("webhook", "healthz")))
    return found


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def serve_and_measure(name: str, src: Path, work: Path, args) -> dict:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(src))
    server = start([sys.executable, "-m", "fraisier.cli.main", "-c", str(work / "fraises.yaml"),
                    "serve", "--no-worker", "--port", str(port)], work, env=env)
    url = f"http://127.0.0.1:{port}"
    clients: list[subprocess.Popen] = []
    stop_file = work / "stop-load"
    try:
        wait_http(f"{url}/healthz", server)
        measure(url, 5, 0)  # warm up: the ingest process starts on the first webhook
        idle = measure(url, args.samples, args.interval)
        token = (work / "token").read_text()
        outs = [work / f"load-{n}.json" for n in range(2)]
        for out in outs:
            clients.append(subprocess.Popen(
                [sys.executable, __file__, "--load-client", f"{url}/graphql", token,
                 str(stop_file), str(out)], env=env))
        # Measure once both clients have a query in flight (a server that stalls may not
        # have answered any yet, so wait for the requests to be sent, not answered).
        time.sleep(args.ramp)
        loaded = measure(url, args.samples, args.interval)
        stop_file.touch()
        for client in clients:
            client.wait(args.drain)
        queries = [q for out in outs if out.exists() for q in json.loads(out.read_text())]
    finally:
        stop_file.touch()
        for client in clients:
            if client.poll() is None:
                client.kill()
        stop(server)
    return {"server": name, "idle": idle, "loaded": loaded, "queries": queries}


def summary(result: dict) -> dict:
    row = {"server": result["server"]}
    for phase in ("idle", "loaded"):
        for what, values in result[phase].items():
            row[f"{what}_{phase}_p50"] = round(statistics.median(values), 1)
            row[f"{what}_{phase}_p99"] = round(percentile(values, 99), 1)
    times = [q[0] for q in result["queries"]]
    row["queries"] = len(times)
    row["query_outcomes"] = sorted({q[1] for q in result["queries"]})
    row["query_p50_s"] = round(statistics.median(times), 3) if times else None
    row["webhook_loaded_over_idle"] = round(
        row["webhook_loaded_p50"] / row["webhook_idle_p50"], 2)
    return row


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--load-client":
        load_client(*sys.argv[2:6])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", required=True, help="commit to compare with")
    parser.add_argument("--deployments", type=int, default=500)
    parser.add_argument("--lines", type=int, default=20)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--ramp", type=float, default=2.0,
                        help="seconds between starting the load clients and measuring")
    parser.add_argument("--drain", type=float, default=600,
                        help="seconds to wait for the load clients' last queries")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="api-stall-"))
    baseline = scratch / "baseline"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(baseline),
                    args.baseline], check=True, stdout=subprocess.DEVNULL)
    try:
        seeded = scratch / "seed"
        seeded.mkdir()
        (seeded / "fraises.yaml").write_text(CONFIG.format(work=seeded, secret=SECRET))
        (seeded / "token").write_text(seed(seeded, args.deployments, args.lines))
        results = []
        for n, (name, src) in enumerate(((f"baseline {args.baseline}", baseline / "src"),
                                         ("this checkout", ROOT / "src"))):
            work = scratch / f"serve-{n}"
            work.mkdir()
            shutil.copy(seeded / "state.db", work / "state.db")
            (work / "fraises.yaml").write_text(CONFIG.format(work=work, secret=SECRET))
            shutil.copy(seeded / "token", work / "token")
            results.append(summary(serve_and_measure(name, src, work, args)))
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                        str(baseline)], check=False)
        shutil.rmtree(scratch, ignore_errors=True)
    print("| server | webhook p50 idle / loaded | webhook p99 idle / loaded |"
          " /healthz p50 idle / loaded | /healthz p99 idle / loaded | loaded ÷ idle"
          " (webhook p50) | queries done (outcome, p50) |")
    print("|:---|---:|---:|---:|---:|---:|:---|")
    for r in results:
        print(f"| {r['server']} | {r['webhook_idle_p50']} / {r['webhook_loaded_p50']} |"
              f" {r['webhook_idle_p99']} / {r['webhook_loaded_p99']} |"
              f" {r['healthz_idle_p50']} / {r['healthz_loaded_p50']} |"
              f" {r['healthz_idle_p99']} / {r['healthz_loaded_p99']} |"
              f" {r['webhook_loaded_over_idle']} | {r['queries']}"
              f" ({', '.join(r['query_outcomes'])}, {r['query_p50_s']} s) |")
    for r in results:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
