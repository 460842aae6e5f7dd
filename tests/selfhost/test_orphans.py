"""Orphaned deployments: a `fraisier deploy` killed mid-way (its lease runs out) does not keep
its environment blocked: the next `deploy`, a `cancel` of it, or `serve` without its worker
recovers it. `cancel` exits non-zero when the deployment is still running at its timeout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from fraisier.domain.model import utc_timestamp
from fraisier.store import open_store
from tests.cli._cli_support import fraisier_executable, run_fraisier
from tests.support.waiting import wait_for
from tests.webhooks._server import Server

pytestmark = pytest.mark.slow  # kills `fraisier deploy` processes and recovers what they left

CONFIG = """\
state:
  url: sqlite:///{root}/state.db
data_dir: {root}/data
worker:
  lease_seconds: 1
fraises:
  web:
    repository: {repo}
    env:
      FLAG: "{root}/go"
    build: [{python}, -c, "{build}"]
    environments:
      production:
        branch: main
        app_path: {root}/srv/web
"""
BUILD = ("import os, pathlib, time; flag = pathlib.Path(os.environ['FLAG']); "
         "[time.sleep(0.05) for _ in iter(lambda: flag.exists(), True)]")


class Project:
    def __init__(self, root: Path):
        self.root = root
        repo = root / "repo"
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
        (repo / "README").write_text("hi\n")
        git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@e.com"]
        subprocess.run([*git, "add", "."], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "first"], check=True)
        self.config = root / "fraises.yaml"
        self.config.write_text(CONFIG.format(root=root, repo=repo, python=sys.executable,
                                             build=BUILD))
        self.flag = root / "go"
        self.store = open_store(f"sqlite:///{root}/state.db")

    def orphan(self) -> int:
        """A deployment whose `fraisier deploy` was killed -9 during its build."""
        self.flag.unlink(missing_ok=True)
        process = subprocess.Popen([fraisier_executable(), "-c", str(self.config), "deploy",
                                    "web", "production"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)

        def building() -> dict | None:
            assert process.poll() is None, f"fraisier deploy exited with {process.returncode}"
            return self.store.db.fetchone(
                "SELECT d.id FROM tb_deployment d JOIN tb_deployment_step s"
                " ON s.deployment_id = d.id WHERE d.status = 'running' AND s.name = 'build'"
                " AND s.status = 'running'")

        row = wait_for(building, 30, "the build step to run")
        os.killpg(process.pid, signal.SIGKILL)  # the CLI and its build: gone
        process.wait(10)
        self.flag.touch()
        return int(row["id"])

    def wait_expired(self, deployment_id: int) -> None:
        wait_for(lambda: self.store.db.scalar(
            "SELECT lease_expires_at FROM tb_deployment WHERE id = ?", (deployment_id,))
            < utc_timestamp(), 30, f"the lease of deployment {deployment_id} to expire")

    def status(self, deployment_id: int) -> str:
        return self.store.queue.get(deployment_id).status


@pytest.fixture
def project(tmp_path):
    made = Project(tmp_path)
    yield made
    made.store.close()


def test_the_next_deploy_recovers_a_killed_one(project):
    orphan = project.orphan()
    project.wait_expired(orphan)
    again = run_fraisier(project.config, "deploy", "web", "production", "--json")
    assert again.exit_code == 0, again.stderr
    assert f"deployment {orphan} (web/production) had lost its process: recovered" in (
        again.stderr)
    record = project.store.queue.get(orphan)
    assert record.status == "interrupted" and "stopped while running" in record.error
    assert again.json()["status"] == "succeeded"


def test_cancel_recovers_a_killed_one_and_frees_its_environment(project):
    orphan = project.orphan()
    cancelled = run_fraisier(project.config, "cancel", str(orphan), "--json")  # lease live
    assert cancelled.exit_code == 0, cancelled.stderr
    assert cancelled.json()["status"] == "interrupted"
    assert run_fraisier(project.config, "deploy", "web", "production").exit_code == 0


def test_cancel_exits_non_zero_when_the_deployment_keeps_running(project):
    record = project.store.queue.enqueue("web", "production", trigger="cli", branch="main")
    project.store.queue.claim(record.id, "worker:hung:1", 1)
    stop = threading.Event()

    def hung_worker() -> None:  # renews its lease, never looks at the cancel request
        while not stop.wait(0.2):
            project.store.queue.renew_lease(record.id, "worker:hung:1", 1)

    thread = threading.Thread(target=hung_worker)
    thread.start()
    try:
        outcome = run_fraisier(project.config, "cancel", str(record.id), "--timeout", "1")
    finally:
        stop.set()
        thread.join()
    assert outcome.exit_code == 1
    assert f"deployment {record.id} is still running after 1 s" in outcome.stderr
    assert project.status(record.id) == "running"
    project.store.queue.finish(record.id, "cancelled", "test")


def test_serve_without_its_worker_recovers_a_killed_one(project):
    orphan = project.orphan()
    server = Server(project.config, "--no-worker", log=project.root / "serve.log")
    try:
        wait_for(lambda: project.status(orphan) != "running", 30,
                 lambda: f"serve to recover deployment {orphan}:\n{server.output()}")
    finally:
        server.stop()
    assert project.status(orphan) == "interrupted"
    assert "stopped renewing its lease; recovering it" in (project.root / "serve.log").read_text()
