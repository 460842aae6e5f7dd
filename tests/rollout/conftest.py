"""Shared parts of the rollout tests: a sample app in a real git repository, real sshd hosts,
and a helper that runs a deployment through the real engine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fraisier.config import load_config
from fraisier.demo.workspace import free_port
from fraisier.domain.model import Trigger
from fraisier.engine.context import Observer
from fraisier.engine.service import open_state, request_deployment, request_rollback
from fraisier.worker.inline import deploy_now
from tests.support.nginx import NGINX, start_nginx
from tests.support.services import require_binary
from tests.support.sshd import SSHD, start_fleet

# A sample service: `/` answers its VERSION (or 500 when FAIL_ROOT exists), `/health`
# answers 500 on the hosts listed in BROKEN_ON.
APP_PY = '''\
import http.server, os, pathlib
HERE = pathlib.Path(__file__).resolve().parent
VERSION = (HERE / "VERSION").read_text().strip()
BROKEN_ON = (HERE / "BROKEN_ON").read_text().split() if (HERE / "BROKEN_ON").exists() else []
FAIL_ROOT = (HERE / "FAIL_ROOT").exists()
HEALTHY = os.environ.get("FRAISIER_HOST", "") not in BROKEN_ON


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if os.environ.get("SEEN_LOG"):  # who asked what, for tests of the probes' headers
            with open(os.environ["SEEN_LOG"], "a") as seen:
                seen.write(f"{self.path} {self.headers.get('Authorization')}\\n")
        if self.path == "/health":
            status = 200 if HEALTHY else 500
        else:
            status = 500 if FAIL_ROOT else 200
        body = f"{VERSION}\\n".encode() if status == 200 else b"error\\n"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
'''


# Start/stop/restart the app of the release `current` (or FRAISIER_RELEASE_DIR) points at.
# A stopped process counts as gone once it is a zombie: the machine's init may not reap it.
CONTROL_PY = '''\
import os, pathlib, signal, socket, subprocess, sys, time
app_path = pathlib.Path(os.environ["FRAISIER_APP_PATH"])
release = pathlib.Path(os.environ.get("FRAISIER_RELEASE_DIR") or app_path / "current")
pid_file = app_path / "app.pid"


def alive(pid):
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


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
        if not alive(pid):
            break
        time.sleep(0.01)
    pid_file.unlink(missing_ok=True)


def start():
    with open(app_path / "app.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, str(release / "app.py")], cwd=release,
                                stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    pid_file.write_text(str(proc.pid))
    # Return once it listens (as `systemctl restart` of a notify service does), so the
    # health check judges the release rather than how fast a loaded machine starts Python.
    port = int(os.environ.get("PORT", "0"))
    deadline = time.monotonic() + 30
    while port and proc.poll() is None and time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.02)
    print(f"started {release.name} as pid {proc.pid}")


if sys.argv[1] in ("stop", "restart"):
    stop()
if sys.argv[1] in ("start", "restart"):
    start()
'''


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


class Project:
    """A repository plus a fraises.yaml; `deploy()` runs a real deployment."""

    def __init__(self, root: Path):
        self.root = root
        self.repo = root / "repo"
        self.repo.mkdir(parents=True)
        self.config_path = root / "fraises.yaml"
        self.app_paths: list[Path] = []
        git(self.repo, "init", "-q", "-b", "main")
        git(self.repo, "config", "user.email", "t@example.invalid")
        git(self.repo, "config", "user.name", "Test")
        self.commit("v1", {"app.py": APP_PY, "control.py": CONTROL_PY, "VERSION": "v1\n"})

    def commit(self, message: str, files: dict[str, str | None]) -> str:
        for name, content in files.items():
            path = self.repo / name
            if content is None:
                path.unlink(missing_ok=True)
            else:
                path.write_text(content)
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-q", "-m", message)
        return git(self.repo, "rev-parse", "HEAD").strip()

    def write_config(self, environment: dict) -> None:
        config = {
            "state": {"url": f"sqlite:///{self.root / 'state.db'}"},
            "data_dir": str(self.root / "data"),
            "fraises": {"web": {"type": "api", "repository": str(self.repo),
                                "environments": {"production": environment}}},
        }
        self.config_path.write_text(json.dumps(config, indent=2))  # JSON is YAML

    def config(self):
        return load_config(self.config_path)

    def deploy(self, observer: Observer | None = None, rollback: bool = False):
        config = self.config()
        store = open_state(config)
        try:
            if rollback:
                record = request_rollback(store, config, "web", "production")
            else:
                record = request_deployment(store, config, "web", "production",
                                            trigger=Trigger.CLI)
            return deploy_now(store, config, record.id, observer=observer), store
        except BaseException:
            store.close()
            raise

    def stop_apps(self) -> None:
        for app_path in self.app_paths:
            pid_file = Path(app_path) / "app.pid"
            for pid_path in [pid_file, *Path(app_path).glob("*/app.pid")]:
                try:
                    os.killpg(int(pid_path.read_text()), signal.SIGKILL)
                except (OSError, ValueError):
                    pass


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    project = Project(tmp_path)
    yield project
    project.stop_apps()


@pytest.fixture
def ssh_fleet(tmp_path: Path):
    require_binary(SSHD)
    require_binary("ssh")
    require_binary("ssh-keygen")
    fleet = start_fleet(tmp_path / "hosts", ["web1", "web2", "web3"])
    yield fleet
    fleet.stop()


def host_entries(fleet, **extra) -> list[dict]:
    entries = []
    for host in fleet.hosts:
        port = free_port()
        entries.append({"name": host.name, "address": "127.0.0.1", "port": host.port,
                        "user": fleet.user, "app_path": str(host.base / "app"),
                        "env": {"PORT": str(port)},
                        "health_url": f"http://127.0.0.1:{port}/health", **extra})
    return entries


def ssh_section(fleet) -> dict:
    return {"identity_file": str(fleet.identity), "known_hosts": str(fleet.known_hosts),
            "connect_timeout": 5}


PYTHON = sys.executable
RESTART = [PYTHON, "control.py", "restart"]


@pytest.fixture
def nginx(tmp_path: Path):
    require_binary(NGINX)
    blue, green = free_port(), free_port()
    server = start_nginx(tmp_path / "nginx", free_port(), f"127.0.0.1:{blue}")
    server.slot_ports = (blue, green)
    yield server
    server.stop()
