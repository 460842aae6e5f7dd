"""Live configuration reload: `serve`, `worker` and `scheduler` pick up an edited fraises.yaml
(or SIGHUP), refuse a bad one and keep the last good one, and a running deployment finishes
with the configuration it started with."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from fraisier.domain.model import FINAL_STATUSES
from fraisier.store import open_store
from tests.cli._cli_support import fraisier_executable, run_fraisier
from tests.support.waiting import wait_for
from tests.webhooks._server import Process, Server

SECRET = "r" * 40
FRAISE = """\
  {name}:
    repository: {repo}
    env:
      LABEL: "{label}"
      FLAG: "{root}/go-{name}"
    build: [{python}, -c, "{build}"]
    environments:
      production:
        branch: main
        app_path: {root}/srv/{name}
"""
# The build waits for a flag file, then writes $LABEL into the release.
BUILD = ("import os, pathlib, time; flag = pathlib.Path(os.environ['FLAG']); "
         "[time.sleep(0.05) for _ in iter(lambda: flag.exists(), True)]; "
         "pathlib.Path('label').write_text(os.environ['LABEL'])")


class Project:
    def __init__(self, root: Path):
        self.root = root
        self.repo = root / "repo"
        subprocess.run(["git", "init", "-q", "-b", "main", str(self.repo)], check=True)
        (self.repo / "README").write_text("hi\n")
        git = ["git", "-C", str(self.repo), "-c", "user.name=t", "-c", "user.email=t@e.com"]
        subprocess.run([*git, "add", "."], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "first"], check=True)
        self.config = root / "fraises.yaml"
        self.labels = {"web": "old"}
        self.write()
        (root / "go-web").touch()
        (root / "go-api").touch()

    def write(self, extra: str = "") -> None:
        fraises = "".join(FRAISE.format(name=name, repo=self.repo, label=label, root=self.root,
                                        python=sys.executable, build=BUILD)
                          for name, label in self.labels.items())
        self.config.write_text(
            f"state:\n  url: sqlite:///{self.root}/state.db\ndata_dir: {self.root}/data\n"
            f"git:\n  github:\n    webhook_secret: \"{SECRET}\"\nfraises:\n{fraises}{extra}")


def wait_logged(process: Process, text: str, count: int = 1, timeout: float = 60) -> None:
    def logged() -> bool:
        assert process.proc.poll() is None, process.output()
        return process.output().count(text) >= count

    wait_for(logged, timeout, lambda: f"{text!r} to be logged:\n{process.output()}")


@pytest.fixture
def project(tmp_path):
    return Project(tmp_path)


def test_serve_reloads_a_good_file_and_refuses_a_bad_one(project):
    server = Server(project.config, log=project.root / "serve.log")
    try:
        project.labels["api"] = "first"
        project.write()
        wait_logged(server, "reloaded (the file changed): 2 fraise(s)")
        # The new fraise is known to the worker and to the webhook ingest process.
        deployed = run_fraisier(project.config, "deploy", "api", "production", "--json")
        assert deployed.exit_code == 0, deployed.stderr
        assert (project.root / "srv/api/current/label").read_text() == "first"
        sent = run_fraisier(project.config, "webhook", "send", "api", "production",
                            "--provider", "github", "--url", f"{server.url}/webhook")
        assert sent.exit_code == 0 and "HTTP 202" in sent.stdout, sent.stdout + sent.stderr

        project.write(extra="  broken:\n    environments: {}\n")
        wait_logged(server, "refused (the file changed)")
        assert "still using the last good one" in server.output()
        assert "fraises.broken.repository" in server.output()  # each problem is logged
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        again = run_fraisier(project.config, "deploy", "web", "production", "--json")
        # The CLI itself refuses the broken file; the server keeps serving the good one.
        assert again.exit_code == 1 and "fraises.broken.repository" in again.stderr
        answer = httpx.post(f"{server.url}/webhook", content=b"{}",
                            headers={"X-GitHub-Event": "push"})
        assert answer.status_code in (400, 401)
    finally:
        server.stop()
    store = open_store(f"sqlite:///{project.root}/state.db")
    try:
        reloads = store.audit.list(action="config.reload")
    finally:
        store.close()
    assert [(r.outcome, r.actor, r.actor_kind) for r in reversed(reloads)] == [
        ("ok", "serve", "system"), ("failed", "serve", "system")]
    assert "fraises.broken.repository" in reloads[0].detail


def test_a_running_deployment_keeps_the_configuration_it_started_with(project):
    (project.root / "go-web").unlink()  # the build waits
    server = Server(project.config, log=project.root / "serve.log")
    deploy = subprocess.Popen([fraisier_executable(), "-c", str(project.config), "deploy",
                               "web", "production", "--json"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        store = open_store(f"sqlite:///{project.root}/state.db")
        wait_for(lambda: store.db.scalar("SELECT COUNT(*) FROM tb_deployment_step WHERE name ="
                                         " 'build' AND status = 'running'"), 30,
                 lambda: f"the build step to run:\n{server.output()}")
        store.close()
        project.labels["web"] = "new"
        project.write()
        wait_logged(server, "reloaded (the file changed)")
        (project.root / "go-web").touch()
        out, err = deploy.communicate(timeout=60)
        assert deploy.returncode == 0, err
        assert (project.root / "srv/web/current/label").read_text() == "old"
        # The next one uses the reloaded configuration.
        assert run_fraisier(project.config, "deploy", "web", "production", "--force",
                            "--json").exit_code == 0
        assert (project.root / "srv/web/current/label").read_text() == "new"
    finally:
        if deploy.poll() is None:
            deploy.kill()
        server.stop()


@pytest.mark.parametrize("command, ready", [("worker", "started with"),
                                            ("scheduler", "scheduler running"),
                                            ("serve", "listening on")])
def test_sighup_reloads_serve_worker_and_scheduler(project, command, ready):
    args = ["--port", str(_port())] if command == "serve" else []
    if command == "scheduler":
        args = ["--log-format", "text"]
    process = Process(project.config, command, *args, log=project.root / f"{command}.log")
    try:
        wait_logged(process, ready)
        process.proc.send_signal(signal.SIGHUP)
        wait_logged(process, "reloaded (SIGHUP)")
        assert process.proc.poll() is None  # SIGHUP did not end it
    finally:
        process.stop()


def _port() -> int:
    from fraisier.demo.workspace import free_port

    return free_port()


def test_a_deployment_of_a_target_the_worker_does_not_know_says_what_to_do(project):
    from fraisier.config import load_config
    from fraisier.worker import Worker

    config = load_config(project.config)
    store = open_store(config.state.url)
    worker = Worker(config, store)
    try:
        record = store.queue.enqueue("api", "production", trigger="cli", branch="main")
        worker.start()
        # Claimed (running) first, then failed: wait for the end, not for the claim.
        final = wait_for(
            lambda: (r := store.queue.get(record.id)).status in FINAL_STATUSES and r,
            timeout=60, what="the deployment to end")
    finally:
        worker.stop(0)
        store.close()
    assert final.status == "failed"
    assert "unknown fraise 'api'" in final.error
    assert "reload (systemctl reload fraisier, or SIGHUP), then deploy again" in final.error
