"""A workspace for preview tests: a git repository holding a small web app that serves its
version and the row count of its own PostgreSQL database on FRAISIER_PREVIEW_PORT, a control
script playing systemd's part (start, stop, restart by pid file), migrations, and a
fraises.yaml whose fraise has `previews:`."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from fraisier.config import FraisierConfig, load_config
from fraisier.demo.workspace import free_port
from fraisier.engine.service import open_state
from fraisier.ingest import WebhookRequest
from fraisier.ingest.handler import Ingest
from fraisier.ingest.result import IngestResult
from fraisier.store import Store
from fraisier.worker.inline import deploy_now
from tests.notify._support import git
from tests.support.postgres import PostgresServer

APP_PY = '''\
import http.server, os, pathlib
import psycopg
HERE = pathlib.Path(__file__).resolve().parent
VERSION = (HERE / "VERSION").read_text().strip()
URL = os.environ["DATABASE_URL"]

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            body = b"ok\\n"
        else:
            with psycopg.connect(URL) as conn:
                rows = conn.execute("SELECT count(*) FROM items").fetchone()[0]
                name = conn.execute("SELECT current_database()").fetchone()[0]
            body = f"{VERSION} {name} rows={rows}\\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

port = int(os.environ["FRAISIER_PREVIEW_PORT"])
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
'''

MIGRATE_PY = '''\
import os, pathlib
import psycopg
wanted = pathlib.Path("MIGRATION")
if wanted.exists():
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(wanted.read_text())
    print("applied", wanted.read_text().strip())
'''

# What systemd does for `shop-preview@N.service`: one process per preview, found by its pid.
CONTROL_PY = '''\
import os, pathlib, shlex, signal, subprocess, sys, time
app = pathlib.Path(os.environ["FRAISIER_APP_PATH"])
pid_file = app / "app.pid"

def stop():
    try:
        pid = int(pid_file.read_text())
    except (FileNotFoundError, ValueError):
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    for _ in range(200):
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.02)
    pid_file.unlink(missing_ok=True)

def start():
    # Like systemd's EnvironmentFile=: the service's environment is preview.env, nothing
    # inherited from whoever asked for the restart.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for line in (app / "preview.env").read_text().splitlines():
        key, _, value = line.partition("=")
        env[key] = shlex.split(value)[0]
    release = app / "current"
    log = open(app / "app.log", "ab")
    proc = subprocess.Popen([sys.executable, str(release / "app.py")], cwd=release, env=env,
                            stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    pid_file.write_text(str(proc.pid))

if sys.argv[1] in ("stop", "restart"):
    stop()
if sys.argv[1] in ("start", "restart"):
    start()
'''

CONFIG = """\
state:
  url: sqlite:///{root}/state.db
git:
  {provider}:
{secrets}
    api_token: preview-api-token
    api_url: {api_url}
    repository: {api_repository}
fraises:
  shop:
    repository: {repo}
    migrate:
      up: [{python}, migrate.py]
    environments:
      staging:
        branch: main
        app_path: {root}/srv/shop-staging
    previews:
      app_path: {root}/srv/shop-pr-{{number}}
      ports: {first_port}-{last_port}
      url: http://127.0.0.1:{{port}}/
      database:
        template: {template}
        name: {prefix}_pr_{{number}}
        admin_url: {admin_url}
      env:
        DATABASE_URL: "{database_url}"
      max_active: {max_active}
      ttl: 7d
      restart: [{python}, {control}, restart]
      stop: [{python}, {control}, stop]
      health_check_url: http://127.0.0.1:{{port}}/health
"""


def free_port_range(size: int = 10) -> int:
    """The first of `size` consecutive loopback ports nothing listens on."""
    for _ in range(200):
        first = free_port()
        ok = True
        for port in range(first, first + size):
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return first
    raise RuntimeError("no free range of ports")


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@dataclass
class PreviewWorkspace:
    root: Path
    repo: Path
    pg: PostgresServer
    prefix: str  # of this test's database names
    first_port: int
    config_path: Path
    config: FraisierConfig
    store: Store
    ingest: Ingest

    @property
    def template(self) -> str:
        return f"{self.prefix}_staging"

    def database(self, number: int) -> str:
        return f"{self.prefix}_pr_{number}"

    def port(self, number: int) -> int:
        return self.first_port + number % 100

    def app_path(self, number: int) -> Path:
        return self.root / "srv" / f"shop-pr-{number}"

    def branch(self, name: str, files: dict[str, str], message: str) -> str:
        """Commit `files` on branch `name` (made from main when new); its head."""
        known = git(self.repo, "branch", "--list", name)
        git(self.repo, "checkout", "-q", *(["-b", name, "main"] if not known else [name]))
        for path, content in files.items():
            (self.repo / path).write_text(content)
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-q", "-m", message)
        head = git(self.repo, "rev-parse", "HEAD")
        git(self.repo, "checkout", "-q", "main")
        return head

    def send(self, headers: dict[str, str], body: bytes) -> IngestResult:
        return self.ingest.handle(WebhookRequest(
            {k.lower(): v for k, v in headers.items()}, body, source_ip="127.0.0.1"))

    def run_queued(self, result: IngestResult) -> list[Any]:
        """Run the deployments a webhook queued, here and now; their final records."""
        ids = result.body.get("deployments") or []
        return [deploy_now(self.store, self.config, deployment_id) for deployment_id in ids]

    def get(self, number: int) -> str:
        return httpx.get(f"http://127.0.0.1:{self.port(number)}/", timeout=5).text.strip()

    def databases(self) -> set[str]:
        with self.pg.connect() as conn:
            rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                                (f"{self.prefix}%",)).fetchall()
        return {row[0] for row in rows}

    def columns(self, database: str) -> set[str]:
        with self.pg.connect(database) as conn:
            rows = conn.execute("SELECT column_name FROM information_schema.columns"
                                " WHERE table_name = 'items'").fetchall()
        return {row[0] for row in rows}

    def stop_all(self) -> None:
        for app in (self.root / "srv").glob("shop-pr-*"):
            subprocess.run([sys.executable, str(self.root / "bin" / "control.py"), "stop"],
                           env={"FRAISIER_APP_PATH": str(app), "PATH": "/usr/bin:/bin"},
                           check=False, capture_output=True, timeout=30)
        self.ingest.close()
        self.store.close()
        with self.pg.connect() as conn:
            for name in self.databases():
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_workspace(root: Path, pg: PostgresServer, *, provider: str, secrets: str,
                   api_url: str, api_repository: str, max_active: int = 2
                   ) -> PreviewWorkspace:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    with pg.connect() as conn:
        conn.execute(f"CREATE DATABASE {prefix}_staging")
    with pg.connect(f"{prefix}_staging") as conn:
        conn.execute("CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO items (name) VALUES ('strawberry'), ('cream'), ('sponge')")
    repo = root / "repo"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    for name, content in {"app.py": APP_PY, "migrate.py": MIGRATE_PY, "VERSION": "v1\n"}.items():
        (repo / name).write_text(content)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "First version")
    (root / "bin").mkdir()
    control = root / "bin" / "control.py"
    control.write_text(CONTROL_PY)
    first = free_port_range(10)
    config_path = root / "fraises.yaml"
    config_path.write_text(CONFIG.format(
        root=root, provider=provider, secrets=secrets, api_url=api_url,
        api_repository=api_repository, repo=repo, python=sys.executable,
        first_port=first, last_port=first + 99, template=f"{prefix}_staging", prefix=prefix,
        admin_url=pg.url_for("postgres"), database_url=pg.url_for("{database}"),
        max_active=max_active, control=control))
    config = load_config(config_path)
    store = open_state(config)
    return PreviewWorkspace(root=root, repo=repo, pg=pg, prefix=prefix, first_port=first,
                            config_path=config_path, config=config, store=store,
                            ingest=Ingest(config, store))


def with_local_clone_url(payload: dict[str, Any], repo: Path, *keys: str) -> bytes:
    """The payload with the repository's clone URL pointing at the local test repository
    (the provider's own address stays in the payload's other fields)."""
    for path in keys:
        node = payload
        for part in path.split("."):
            node = node[part]
        node["clone_url" if "git_http_url" not in node else "git_http_url"] = str(repo)
    return json.dumps(payload).encode()
