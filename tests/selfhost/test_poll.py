"""Poll mode with a real local repository: `poll: 1s` queues a deployment (trigger `poll`)
when the branch head moves, nothing when it does not, and two pollers never run
`git ls-remote` on one repository at the same time."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from fraisier.config import load_config
from fraisier.engine.service import open_state
from fraisier.worker.poller import Poller
from tests.cli._cli_support import invoke
from tests.support.waiting import wait_for
from tests.webhooks._server import Process

CONFIG = """\
state:
  url: sqlite:///{root}/state.db
data_dir: {root}/data
fraises:
  web:
    repository: {repo}
    environments:
      production:
        branch: main
        app_path: {root}/srv/web
        poll: 1s
      staging:
        branch: develop
        app_path: {root}/srv/web-staging
        poll: 1s
"""


class Project:
    def __init__(self, root: Path):
        self.root = root
        self.repo = root / "repo"
        subprocess.run(["git", "init", "-q", "-b", "main", str(self.repo)], check=True)
        self.commit("first")
        subprocess.run(["git", "-C", str(self.repo), "branch", "develop"], check=True)
        self.config_path = root / "fraises.yaml"
        self.config_path.write_text(CONFIG.format(root=root, repo=self.repo))
        self.config = load_config(self.config_path)
        self.store = open_state(self.config)

    def commit(self, message: str, branch: str = "main") -> str:
        git = ["git", "-C", str(self.repo), "-c", "user.name=t", "-c", "user.email=t@e.com"]
        if subprocess.run([*git, "rev-parse", "-q", "--verify", "HEAD"],
                          capture_output=True).returncode == 0:  # not the very first commit
            subprocess.run([*git, "checkout", "-q", branch], check=True)
        (self.repo / "VERSION").write_text(message + "\n")
        subprocess.run([*git, "add", "."], check=True)
        subprocess.run([*git, "commit", "-q", "-m", message], check=True)
        return subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()

    def polls_until(self, poller: Poller, predicate, timeout: float = 20) -> list[int]:
        """poll_due until `predicate(queued)` holds (a poll is due every second)."""
        def polled() -> tuple[list[int]] | None:  # a tuple: an empty list is a result too
            queued = poller.poll_due()
            return (queued,) if predicate(queued) else None

        return wait_for(polled, timeout, "the poll")[0]

    def checked_at(self) -> str | None:
        return self.store.db.scalar("SELECT checked_at FROM tb_poll")


@pytest.fixture
def project(tmp_path):
    made = Project(tmp_path)
    yield made
    made.store.close()


def test_a_moved_branch_head_queues_a_poll_deployment(project):
    poller = Poller(project.config, project.store, owner="poller:test")
    first = project.polls_until(poller, bool)
    records = {project.store.queue.get(i).environment: project.store.queue.get(i)
               for i in first}
    assert set(records) == {"production", "staging"}  # nothing deployed yet: both go
    assert {r.trigger for r in records.values()} == {"poll"}
    for record in records.values():
        project.store.queue.cancel_queued(record.id)

    # Polled again without a change: nothing queued.
    before = project.checked_at()
    project.polls_until(poller, lambda queued: project.checked_at() != before)
    assert project.store.db.scalar("SELECT COUNT(*) FROM tb_deployment") == 2

    head = project.commit("second")  # main only
    moved = project.polls_until(poller, bool)
    assert len(moved) == 1
    record = project.store.queue.get(moved[0])
    assert (record.environment, record.trigger, record.requested_commit) == (
        "production", "poll", head)
    entry = project.store.audit.list(action="deploy")[0]
    assert (entry.actor, entry.actor_kind, entry.deployment_id) == ("poll", "system", record.id)


def test_the_first_poll_does_not_redeploy_what_is_live(project):
    head = subprocess.run(["git", "-C", str(project.repo), "rev-parse", "main"],
                          capture_output=True, text=True, check=True).stdout.strip()
    done = project.store.queue.enqueue("web", "production", trigger="cli", branch="main",
                                       requested_commit=head)
    project.store.queue.cancel_queued(done.id)
    poller = Poller(project.config, project.store, owner="poller:test")
    queued = project.polls_until(poller, lambda q: project.checked_at() is not None)
    assert [project.store.queue.get(i).environment for i in queued] == ["staging"]


def _recording_git(directory: Path, log: Path) -> None:
    """A `git` first on PATH that records when each `ls-remote` starts and ends, holds it
    a little (so overlaps would show), and runs the real git."""
    real = subprocess.run(["which", "git"], capture_output=True, text=True).stdout.strip()
    script = directory / "git"
    script.write_text(
        f"#!{sys.executable}\n"
        "import os, subprocess, sys, time\n"
        "polling = 'ls-remote' in sys.argv\n"
        f"log = open({str(log)!r}, 'a')\n"
        "if polling:\n"
        "    log.write(f'start {time.monotonic()}\\n'); log.flush(); time.sleep(0.3)\n"
        f"done = subprocess.run([{real!r}, *sys.argv[1:]])\n"
        "if polling:\n"
        "    log.write(f'end {time.monotonic()}\\n'); log.flush()\n"
        "sys.exit(done.returncode)\n")
    script.chmod(0o755)


def test_two_pollers_never_poll_one_repository_at_once(project, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "ls-remote.log"
    _recording_git(bin_dir, log)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    stop = threading.Event()

    def poll(name: str) -> None:
        poller = Poller(project.config, project.store, owner=name)
        while not stop.is_set():
            poller.poll_due()

    threads = [threading.Thread(target=poll, args=(f"poller:{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: log.exists() and log.read_text().count("end") >= 3, 30,
                 "3 polls")
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    events = [line.split() for line in log.read_text().splitlines()]
    running = 0
    for kind, _ in sorted(events, key=lambda e: float(e[1])):
        running += 1 if kind == "start" else -1
        assert running <= 1, "two ls-remote of one repository overlapped"


def test_a_worker_process_deploys_what_was_pushed(project):
    first = project.commit("third")
    process = Process(project.config_path, "worker", log=project.root / "worker.log")
    try:
        def deployed() -> bool:
            rows = project.store.db.fetchall(
                "SELECT status, commit_sha FROM tb_deployment WHERE trigger = 'poll'"
                " AND environment = 'production' ORDER BY id")
            return bool(rows) and (rows[-1]["status"], rows[-1]["commit_sha"]) == (
                "succeeded", first)

        wait_for(deployed, 60, lambda: f"the poll deployment of {first}:\n{process.output()}",
                 interval=0.1)
    finally:
        process.stop()
    assert (project.root / "srv/web/current/VERSION").read_text() == "third\n"


def test_poll_needs_one_branch(tmp_path):
    path = tmp_path / "fraises.yaml"
    path.write_text("fraises:\n  web:\n    repository: /srv/repo.git\n    environments:\n"
                    "      production:\n        branch: release/*\n        app_path: /srv/web\n"
                    "        poll: 30s\n")
    outcome = invoke(path, "validate")
    assert outcome.exit_code == 1
    assert "poll needs one branch, not the pattern 'release/*'" in outcome.stderr


def test_the_poll_example_of_the_webhooks_page_validates(tmp_path):
    text = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text()
    example = text.split("## Poll mode")[1].split("```yaml\n")[1].split("```")[0]
    path = tmp_path / "fraises.yaml"
    path.write_text(example)
    outcome = invoke(path, "validate")
    assert outcome.exit_code == 0, outcome.stderr
    assert load_config(path).target("web", "production").poll == 60.0
