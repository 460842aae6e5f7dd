"""Webhook load: a signed GitHub push at 64 connections for 10 s with wrk, against
(a) `fraisier serve`, (b) adnanh/webhook running `true`, (c) a bare ASGI HMAC check.

    .venv/bin/python benchmarks/webhook_load/run.py [--duration 10s] [--connections 64]

Needs wrk and webhook (Debian packages `wrk`, `webhook`). Prints one JSON line per target
and a Markdown table. "lost" = 202 answers counted by wrk minus events recorded as queued in
the state database (must be 0). "cpu µs/req" is the CPU time (user + system) the target's
processes (the server and everything it started: Fraisier's ingest process, the `true` of
adnanh/webhook) used during the run, divided by the requests answered; "wrk µs/req" is the
same for wrk. On a machine whose cores wrk shares with the target, they say what each
request costs, whatever the rate.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "github" / "push_with-new-branch.payload.json"
SECRET = "bench-secret"

CONFIG = """\
state: {{url: "sqlite:///{work}/state.db"}}
git:
  github: {{webhook_secret: {secret}}}
webhook:
  rate_limit_per_minute: 100000000
  duplicate_window_seconds: 0
fraises:
  hello:
    repository: git@github.com:Codertocat/Hello-World.git
    environments:
      production: {{branch: master, app_path: {work}/srv}}
"""


def sign(body: bytes) -> str:
    """The X-Hub-Signature-256 GitHub sends for `body` with the benchmark's secret."""
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, method: str = "GET") -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early: {proc.args}")
        try:
            httpx.request(method, url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise SystemExit(f"{url} not answering")


def start(argv: list[str], cwd: Path, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU used so far by `pid` itself, and by it with the children it has reaped and its
    live descendants."""
    total, own = 0.0, 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue  # ended between two reads: its time is in its parent's reaped children
        # utime, stime, cutime, cstime (fields 14-17; [0] here is field 3)
        total += sum(int(value) for value in fields[11:15]) / TICKS
        if current == pid:
            own = (int(fields[11]) + int(fields[12])) / TICKS
        pending.extend(_children(current))
    return own, total


def _children(pid: int) -> list[int]:
    """Live children of `pid`: each thread lists those it started (adnanh/webhook forks from
    many threads)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.extend(int(child) for child in (task / "children").read_text().split())
        except FileNotFoundError:
            pass  # the thread ended
    return found


def run_wrk(url: str, work: Path, signature: str, args, target: subprocess.Popen) -> dict:
    out = work / "wrk.json"
    env = dict(os.environ, BODY_FILE=str(work / "body.json"), SIGNATURE=signature,
               OUT_FILE=str(out))
    # One request first, so what a target starts on its first request (Fraisier's ingest
    # process) is running before the CPU count starts.
    httpx.post(url, content=(work / "body.json").read_bytes(), timeout=30, headers={
        "Content-Type": "application/json", "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "warm-up", "X-Hub-Signature-256": signature})
    target_before = tree_cpu_seconds(target.pid)
    wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d",
                    args.duration, "--timeout", "10s", "-s", str(HERE / "count.lua"), url],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    target_after = tree_cpu_seconds(target.pid)
    wrk_cpu = (wrk_after.ru_utime + wrk_after.ru_stime
               - wrk_before.ru_utime - wrk_before.ru_stime)
    result = json.loads(out.read_text())
    seconds = float(args.duration.rstrip("s"))
    result["req_per_s"] = round(result["requests"] / seconds, 1)
    answered = max(1, result["requests"])
    result["cpu_us_per_req"] = round((target_after[1] - target_before[1]) / answered * 1e6, 1)
    # The server process alone (for Fraisier: HTTP; the rest is its ingest process).
    result["server_cpu_us_per_req"] = round(
        (target_after[0] - target_before[0]) / answered * 1e6, 1)
    result["wrk_cpu_us_per_req"] = round(wrk_cpu / answered * 1e6, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", default="10s")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    for tool in ("wrk", "webhook"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found (apt-get install {tool})")
    work = Path(tempfile.mkdtemp(prefix="webhook-load-"))
    body = FIXTURE.read_bytes()
    (work / "body.json").write_bytes(body)
    signature = sign(body)
    (work / "fraises.yaml").write_text(CONFIG.format(work=work, secret=SECRET))
    (work / "hooks.json").write_text((HERE / "hooks.json.in").read_text().replace(
        "@SECRET@", SECRET))
    results = {}
    try:
        # (a) fraisier serve: every request is verified, routed and recorded with its
        # deployment in one SQLite transaction. No worker: nothing could be fetched here.
        port = free_port()
        proc = start([sys.executable, "-m", "fraisier.cli.main", "-c", str(work / "fraises.yaml"),
                      "serve", "--no-worker", "--port", str(port)], work)
        wait_http(f"http://127.0.0.1:{port}/healthz", proc)
        results["fraisier serve"] = run_wrk(f"http://127.0.0.1:{port}/webhook", work,
                                            signature, args, proc)
        stop(proc)
        with sqlite3.connect(work / "state.db") as db:
            queued = db.execute("SELECT COUNT(*) FROM tb_webhook_event"
                                " WHERE outcome = 'queued'").fetchone()[0]
        accepted = results["fraisier serve"]["accepted_202"]
        # wrk stops mid-request: requests it sent but stopped waiting for are recorded too
        # ("extra"); a 202 wrk saw that is not in the database would be "lost".
        results["fraisier serve"]["lost"] = max(0, accepted - queued)
        results["fraisier serve"]["extra"] = max(0, queued - accepted)
        # (b) adnanh/webhook with the same HMAC-SHA256 rule, running `true`.
        port = free_port()
        proc = start(["webhook", "-hooks", str(work / "hooks.json"), "-ip", "127.0.0.1",
                      "-port", str(port)], work)
        wait_http(f"http://127.0.0.1:{port}/hooks/deploy", proc)
        results["adnanh/webhook"] = run_wrk(f"http://127.0.0.1:{port}/hooks/deploy", work,
                                            signature, args, proc)
        stop(proc)
        # (c) a bare ASGI endpoint on the same server (uvicorn) that only checks the HMAC.
        port = free_port()
        proc = start([sys.executable, "-m", "uvicorn", "bare_asgi:app", "--port", str(port),
                      "--log-level", "warning", "--no-access-log"], HERE,
                     env=dict(os.environ, BENCH_SECRET=SECRET))
        wait_http(f"http://127.0.0.1:{port}/", proc)
        results["bare ASGI (HMAC only)"] = run_wrk(f"http://127.0.0.1:{port}/", work,
                                                   signature, args, proc)
        stop(proc)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for name, result in results.items():
        print(json.dumps({"target": name, **result}))
    print("\n| target | req/s | p50 ms | p99 ms | non-2xx | 202s | lost | cpu µs/req | wrk µs/req |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['req_per_s']} | {r['p50_ms']} | {r['p99_ms']} | {r['non_2xx']}"
              f" | {r['accepted_202']} | {r.get('lost', '-')} | {r['cpu_us_per_req']}"
              f" | {r['wrk_cpu_us_per_req']} |")


if __name__ == "__main__":
    main()
