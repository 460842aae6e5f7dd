"""Helpers for driving the real `fraisier` CLI, in process and as a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner

from fraisier.cli.main import cli


def fraisier_executable() -> str:
    beside = Path(sys.executable).parent / "fraisier"
    found = str(beside) if beside.exists() else shutil.which("fraisier")
    assert found, "the fraisier console script is not installed"
    return found


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def invoke(config: Path | str, *args: str) -> Outcome:
    """Run one command in this process through click's test runner."""
    result = CliRunner(env={"COLUMNS": "200", "FRAISIER_CONFIG": None}).invoke(
        cli, ["-c", str(config), *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("FRAISIER_CONFIG", None)
    env["COLUMNS"] = "200"
    return env


def run_fraisier(config: Path | str, *args: str, timeout: float = 110) -> Outcome:
    """Run one command as a real process of the installed console script."""
    done = subprocess.run([fraisier_executable(), "-c", str(config), *args],
                          capture_output=True, text=True, timeout=timeout, env=_env())
    return Outcome(done.returncode, done.stdout, done.stderr)


def start_fraisier(config: Path | str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([fraisier_executable(), "-c", str(config), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env())


def serving(port: int) -> str:
    """What the sample app answers on `/`, or a description of why nothing answered."""
    try:
        return httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text.strip()
    except httpx.HTTPError as exc:
        return f"nothing ({type(exc).__name__})"


def current_release(app_path: Path) -> str | None:
    link = app_path / "current"
    return Path(os.readlink(link)).name if link.is_symlink() else None


def pid_is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) is not running either.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return True
    return state != "Z"
