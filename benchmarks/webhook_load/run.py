"""Webhook load: signed GitHub pushes at 64 connections for 10 s with wrk, against
(a) `fraisier serve`, (b) adnanh/webhook running `true`, (c) a bare ASGI HMAC check.

    .venv/bin/python benchmarks/webhook_load/run.py [--mode new-commit|same-commit]
        [--runs N] [--targets fraisier,webhook,bare] [--duration 10s] [--connections 64]
        [--state sqlite|postgresql] [--servers N] [--state-dir DIR]

Modes (each row says which):
- `new-commit` (the default): every request pushes a commit never sent before (a new `after`
  sha) with a fresh delivery id, as real pushes do: each one queues a deployment and
  supersedes the one queued before it.
- `same-commit`: the same body again and again with fresh delivery ids (the first version of
  this benchmark).

`--state postgresql` starts a throwaway PostgreSQL server (fsync and synchronous_commit on)
and gives each run a new database; `--servers N` (N > 1) starts N `fraisier serve` processes
on N ports sharing that state, behind an nginx upstream that wrk is pointed at
(`--nginx` puts nginx in front of a single server too, for a like-for-like comparison).
After each Fraisier run the database is checked: no delivery accepted twice, no
environment with more than one queued deployment. `--state-dir DIR` puts the SQLite state
database in DIR instead of the run's temporary directory (e.g. `/dev/shm`, memory, to see
what the disk costs).

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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "github" / "push_with-new-branch.payload.json"
SECRET = "bench-secret"

CONFIG = """\
state: {{url: "{state_url}"}}
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
        except (FileNotFoundError, ProcessLookupError):
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
        except (FileNotFoundError, ProcessLookupError):
            pass  # the thread ended
    return found


def write_variants(work: Path, body: bytes, count: int) -> None:
    """For the new-commit mode: the body split where the pushed sha stands, and `count`
    new shas, each with the signature of the body that carries it."""
    original = json.loads(body)["after"].encode()
    parts = body.split(original)
    (work / "template.bin").write_bytes(b"\0".join(parts))
    with (work / "variants.txt").open("w") as out:
        for index in range(count):
            sha = hashlib.sha1(f"bench-commit-{index}".encode()).hexdigest()
            out.write(f"{sha} {sign(sha.encode().join(parts))}\n")


def warm_up(url: str, body: bytes, signature: str) -> None:
    # One request first, so what a target starts on its first request (Fraisier's ingest
    # process) is running before the CPU count starts.
    httpx.post(url, content=body, timeout=30, headers={
        "Content-Type": "application/json", "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "warm-up", "X-Hub-Signature-256": signature})


def run_wrk(url: str, work: Path, args, pids: list[int], extra_pids: list[int] = ()) -> dict:
    """wrk against `url`; CPU of the `pids` trees (the target) and of `extra_pids` (what it
    needs besides: nginx, PostgreSQL) over the run."""
    out = work / "wrk.json"
    body = (work / "body.json").read_bytes()
    signature = sign(body)
    if args.mode == "new-commit":
        script = "new_commit.lua"
        env = dict(os.environ, TEMPLATE_FILE=str(work / "template.bin"),
                   VARIANTS_FILE=str(work / "variants.txt"), THREADS=str(args.threads),
                   OUT_FILE=str(out))
    else:
        script = "count.lua"
        env = dict(os.environ, BODY_FILE=str(work / "body.json"), SIGNATURE=signature,
                   OUT_FILE=str(out))
    warm_up(url, body, signature)

    def cpu() -> tuple[float, float, float]:
        own = total = extra = 0.0
        for pid in pids:
            pid_own, pid_total = tree_cpu_seconds(pid)
            own += pid_own
            total += pid_total
        for pid in extra_pids:
            extra += tree_cpu_seconds(pid)[1]
        return own, total, extra

    target_before = cpu()
    wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d",
                    args.duration, "--timeout", "10s", "-s", str(HERE / script), url],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    target_after = cpu()
    wrk_cpu = (wrk_after.ru_utime + wrk_after.ru_stime
               - wrk_before.ru_utime - wrk_before.ru_stime)
    result = json.loads(out.read_text())
    seconds = float(args.duration.rstrip("s"))
    result["req_per_s"] = round(result["requests"] / seconds, 1)
    answered = max(1, result["requests"])
    result["cpu_us_per_req"] = round((target_after[1] - target_before[1]) / answered * 1e6, 1)
    # The server processes alone (for Fraisier: HTTP; the rest is its ingest processes).
    result["server_cpu_us_per_req"] = round(
        (target_after[0] - target_before[0]) / answered * 1e6, 1)
    result["extra_cpu_us_per_req"] = round(
        (target_after[2] - target_before[2]) / answered * 1e6, 1)
    result["wrk_cpu_us_per_req"] = round(wrk_cpu / answered * 1e6, 1)
    return result


NGINX_CONF = """\
worker_processes 1;
error_log {work}/nginx-error.log;
pid {work}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {work}/nginx-body;
  upstream fraisier {{
{servers}
    keepalive 64;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://fraisier;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
    }}
  }}
}}
"""


def start_nginx(work: Path, ports: list[int]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    conf = work / "nginx.conf"
    conf.write_text(NGINX_CONF.format(work=work, port=port, servers="\n".join(
        f"    server 127.0.0.1:{p};" for p in ports)))
    proc = start(["nginx", "-c", str(conf), "-p", str(work), "-g", "daemon off;"], work)
    return proc, port


def database_checks(state_url: str) -> dict:
    """What the run left: queued events, deliveries accepted more than once, the most
    deployments queued at once in one environment."""
    queries = {
        "queued_events": "SELECT COUNT(*) FROM tb_webhook_event WHERE outcome = 'queued'",
        "deliveries_accepted_twice": (
            "SELECT COUNT(*) FROM (SELECT delivery_id FROM tb_webhook_event"
            " WHERE outcome = 'queued' GROUP BY provider, delivery_id HAVING COUNT(*) > 1) d"),
        "max_queued_per_environment": (
            "SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) AS n FROM tb_deployment"
            " WHERE status = 'queued' GROUP BY fraise, environment) q"),
        "deployments": "SELECT COUNT(*) FROM tb_deployment",
    }
    if state_url.startswith("sqlite:///"):
        with sqlite3.connect(state_url.removeprefix("sqlite:///")) as db:
            return {name: db.execute(sql).fetchone()[0] for name, sql in queries.items()}
    import psycopg

    with psycopg.connect(state_url) as db:
        return {name: db.execute(sql).fetchone()[0] for name, sql in queries.items()}


class Postgres:
    """A throwaway PostgreSQL server (the tests' own helper) with durable commits."""

    def __init__(self) -> None:
        from tests.support.postgres import PostgresServer

        self.server = PostgresServer().start()
        with self.server.connect() as db:
            db.autocommit = True
            # The test helper turns durability off; a benchmark of "a 202 means committed"
            # must not.
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                db.execute(f"ALTER SYSTEM SET {setting} = on")
            db.execute("SELECT pg_reload_conf()")
        self.count = 0

    def new_database(self) -> str:
        self.count += 1
        return self.server.create_database(f"bench_{self.count}")  # its URL

    def pid(self) -> int:
        return int((self.server.data_dir / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        self.server.stop()


def run_fraisier(work: Path, args, postgres: Postgres | None) -> dict:
    state_dir = Path(args.state_dir) if args.state_dir else work
    state_url = (postgres.new_database() if postgres is not None
                 else f"sqlite:///{state_dir}/state-{time.monotonic_ns()}.db")
    (work / "fraises.yaml").write_text(CONFIG.format(state_url=state_url, secret=SECRET,
                                                      work=work))
    procs, ports = [], []
    extra: list[int] = [] if postgres is None else [postgres.pid()]
    nginx = None
    try:
        for _ in range(args.servers):
            port = free_port()
            proc = start([sys.executable, "-m", "fraisier.cli.main", "-c",
                          str(work / "fraises.yaml"), "serve", "--no-worker", "--port",
                          str(port)], work)
            procs.append(proc)
            ports.append(port)
        for proc, port in zip(procs, ports, strict=True):
            wait_http(f"http://127.0.0.1:{port}/healthz", proc)
        url = f"http://127.0.0.1:{ports[0]}/webhook"
        if args.servers > 1 or args.nginx:
            nginx, nginx_port = start_nginx(work, ports)
            wait_http(f"http://127.0.0.1:{nginx_port}/healthz", nginx)
            extra.append(nginx.pid)
            url = f"http://127.0.0.1:{nginx_port}/webhook"
            for port in ports:  # each server's ingest process started before the count
                warm_up(f"http://127.0.0.1:{port}/webhook", (work / "body.json").read_bytes(),
                        sign((work / "body.json").read_bytes()))
        result = run_wrk(url, work, args, [p.pid for p in procs], extra)
    finally:
        if nginx is not None:
            stop(nginx)
        for proc in procs:
            stop(proc)
    checks = database_checks(state_url)
    if args.state_dir and postgres is None:
        database = Path(state_url.removeprefix("sqlite:///"))
        for leftover in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            leftover.unlink(missing_ok=True)
    accepted = result["accepted_202"]
    # wrk stops mid-request: requests it sent but stopped waiting for are recorded too
    # ("extra"); a 202 wrk saw that is not in the database would be "lost".
    result["lost"] = max(0, accepted - checks["queued_events"])
    result["extra"] = max(0, checks["queued_events"] - accepted)
    result.update(checks)
    return result


def run_adnanh(work: Path, args) -> dict:
    port = free_port()
    proc = start(["webhook", "-hooks", str(work / "hooks.json"), "-ip", "127.0.0.1",
                  "-port", str(port)], work)
    try:
        wait_http(f"http://127.0.0.1:{port}/hooks/deploy", proc)
        return run_wrk(f"http://127.0.0.1:{port}/hooks/deploy", work, args, [proc.pid])
    finally:
        stop(proc)


def run_bare(work: Path, args) -> dict:
    port = free_port()
    proc = start([sys.executable, "-m", "uvicorn", "bare_asgi:app", "--port", str(port),
                  "--log-level", "warning", "--no-access-log"], HERE,
                 env=dict(os.environ, BENCH_SECRET=SECRET))
    try:
        wait_http(f"http://127.0.0.1:{port}/", proc)
        return run_wrk(f"http://127.0.0.1:{port}/", work, args, [proc.pid])
    finally:
        stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("new-commit", "same-commit"), default="new-commit")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--targets", default="fraisier,webhook,bare",
                        help="comma-separated, in this order: fraisier, webhook, bare")
    parser.add_argument("--duration", default="10s")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--state", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--state-dir", help="where the SQLite state database goes")
    parser.add_argument("--servers", type=int, default=1)
    parser.add_argument("--nginx", action="store_true",
                        help="put nginx in front of a single server too")
    parser.add_argument("--variants", type=int, default=150_000,
                        help="new-commit mode: how many distinct commits to prepare")
    args = parser.parse_args()
    targets = args.targets.split(",")
    tools = ["wrk"] + (["webhook"] if "webhook" in targets else []) + (
        ["nginx"] if args.servers > 1 or args.nginx else [])
    for tool in tools:
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found (apt-get install {tool})")
    work = Path(tempfile.mkdtemp(prefix="webhook-load-"))
    os.chmod(work, 0o755)
    body = FIXTURE.read_bytes()
    (work / "body.json").write_bytes(body)
    if args.mode == "new-commit":
        write_variants(work, body, args.variants)
    (work / "hooks.json").write_text((HERE / "hooks.json.in").read_text().replace(
        "@SECRET@", SECRET))
    postgres = Postgres() if args.state == "postgresql" else None
    fraisier_name = (f"fraisier serve ({args.state}"
                     + (f", {args.servers} servers behind nginx" if args.servers > 1 else
                        ", behind nginx" if args.nginx else "") + ")")
    rows = []
    try:
        for run in range(1, args.runs + 1):
            results = {}
            if "fraisier" in targets:
                results[fraisier_name] = run_fraisier(work, args, postgres)
            if "webhook" in targets:
                results["adnanh/webhook"] = run_adnanh(work, args)
            if "bare" in targets:
                results["bare ASGI (HMAC only)"] = run_bare(work, args)
            for name, result in results.items():
                print(json.dumps({"run": run, "mode": args.mode, "target": name, **result}),
                      flush=True)
                rows.append((run, name, result))
    finally:
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nmode: {args.mode}; load average at the end: "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("\n| run | target | req/s | p50 ms | p99 ms | non-2xx | 202s | lost | cpu µs/req |"
          " wrk µs/req |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for run, name, r in rows:
        print(f"| #{run} | {name} | {r['req_per_s']} | {r['p50_ms']} | {r['p99_ms']}"
              f" | {r['non_2xx'] + r['errors']} | {r['accepted_202']} | {r.get('lost', '-')}"
              f" | {r['cpu_us_per_req']} | {r['wrk_cpu_us_per_req']} |")
    by_run: dict[int, dict[str, dict]] = {}
    for run, name, r in rows:
        by_run.setdefault(run, {})[name] = r
    if "fraisier" in targets and "webhook" in targets:
        met = 0
        for run, found in by_run.items():
            ours, theirs = found[fraisier_name], found["adnanh/webhook"]
            ratio = ours["req_per_s"] / max(1.0, theirs["req_per_s"])
            ok = (ratio >= 1.0 and ours["p99_ms"] < theirs["p99_ms"]
                  and ours["non_2xx"] + ours["errors"] == 0 and ours["lost"] == 0)
            met += ok
            print(f"run #{run}: fraisier / adnanh req/s = {ratio:.2f}, p99 {ours['p99_ms']} vs "
                  f"{theirs['p99_ms']} ms, lost {ours['lost']}: {'met' if ok else 'not met'}")
        print(f"goal met in {met} of {len(by_run)} runs")


if __name__ == "__main__":
    main()
