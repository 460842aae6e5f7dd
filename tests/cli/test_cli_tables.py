"""Tables as people see them: in a real terminal (a pseudo-terminal of 80 columns) every row
is one line and every release is told apart; piped, nothing is wrapped, so a URL in an
error stays whole."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from _cli_support import fraisier_executable

from fraisier.config import load_config
from fraisier.domain.model import DeploymentStatus, make_release_id, release_handle
from fraisier.engine.service import open_state

CONFIG = """\
fraises:
  shop:
    repository: https://example.com/shop.git
    environments:
      production: {{branch: main, app_path: {root}/srv/shop}}
"""
URL = "https://docs.example.com/runbooks/shop/health-checks/why-did-it-fail.html"
ERROR = f"health_check: GET http://127.0.0.1:8000/health answered 503 (see {URL})"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def state(tmp_path: Path) -> tuple[Path, list[str], list[int]]:
    """Three releases made within a second of each other, and three deployments, one of
    them failed with a long error."""
    config_path = tmp_path / "fraises.yaml"
    config_path.write_text(CONFIG.format(root=tmp_path))
    store = open_state(load_config(config_path))
    try:
        moment = datetime(2026, 11, 29, 22, 33, 31, tzinfo=UTC)
        releases, deployments = [], []
        for n in range(3):
            sha = f"{n + 1}" * 40
            record = store.queue.enqueue("shop", "production", trigger="cli", branch="main")
            store.queue.claim(record.id, "test", 30)
            release = make_release_id(sha, moment + timedelta(milliseconds=n))
            store.releases.add("shop", "production", release, sha, str(tmp_path / release),
                               deployment_id=record.id)
            store.queue.update(record.id, release=release, commit_sha=sha)
            failed = n == 2
            store.queue.finish(record.id, DeploymentStatus.FAILED if failed
                               else DeploymentStatus.SUCCEEDED, ERROR if failed else None)
            releases.append(release)
            deployments.append(record.id)
    finally:
        store.close()
    return config_path, releases, deployments


def _in_terminal(config: Path, *args: str, columns: int = 80) -> list[str]:
    """The lines a person sees running the command in a terminal `columns` wide."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["TERM"] = "xterm"
    process = subprocess.Popen([fraisier_executable(), "-c", str(config), *args],
                               stdin=follower, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the command ended and closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    assert process.wait(60) == 0, output
    return ANSI.sub("", output.decode()).replace("\r\n", "\n").splitlines()


def _piped(config: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    done = subprocess.run([fraisier_executable(), "-c", str(config), *args],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_releases_at_80_columns_tell_every_release_apart(state):
    config, releases, _ = state
    lines = _in_terminal(config, "releases", "shop", "production")
    assert max(len(line) for line in lines) <= 80, "\n".join(lines)
    for release in releases:
        rows = [line for line in lines if release_handle(release) in line]
        assert len(rows) == 1, "\n".join(lines)
    assert len({release_handle(r) for r in releases}) == 3


def test_history_at_80_columns_is_one_line_per_deployment(state):
    config, _, deployments = state
    lines = _in_terminal(config, "history")
    assert max(len(line) for line in lines) <= 80, "\n".join(lines)
    rows = [line for line in lines if re.match(r"^[│┃|]\s*\d+\s", line)]
    assert [int(re.findall(r"\d+", row)[0]) for row in rows] == sorted(deployments,
                                                                       reverse=True)
    (failed,) = [row for row in rows if "failed" in row]
    assert "health_check" in failed and "…" in failed  # cut, the full text is in `logs`


def test_piped_output_is_never_wrapped(state):
    config, releases, _ = state
    history = _piped(config, "history")
    assert URL in history  # whole, on one line
    assert max(len(line) for line in history.splitlines()) > 80
    listing = _piped(config, "releases", "shop", "production")
    for release in releases:
        assert release_handle(release) in listing


def test_history_refuses_a_status_that_does_not_exist(state):
    config, _, _ = state
    done = subprocess.run([fraisier_executable(), "-c", str(config), "history", "--status",
                           "bogus"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "Invalid value for '--status'" in done.stderr and "rolled_back" in done.stderr
    assert done.stdout == ""
