"""`fraisier serve` / `fraisier worker` as real subprocesses, always stopped by the test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from fraisier.demo.workspace import free_port
from tests.support.waiting import wait_for


class Process:
    def __init__(self, config_path: Path, *args: str, log: Path, wait_url: str | None = None,
                 program: list[str] | None = None):
        self.log_path = log
        self.log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        program = program or [sys.executable, "-m", "fraisier.cli.main"]
        self.proc = subprocess.Popen(
            [*program, "-c", str(config_path), *args],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        if wait_url:
            self._wait_ready(wait_url)

    def _wait_ready(self, url: str, timeout: float = 60) -> None:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"process exited early:\n{self.output()}")
            try:
                return httpx.get(url, timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout, lambda: f"{url} to answer 200:\n{self.output()}")

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 30) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()
        return self.proc.returncode


class Server(Process):
    def __init__(self, config_path: Path, *args: str, log: Path,
                 program: list[str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # `fraisier serve ...`, or a program that is `serve` itself (fraisier-webhook).
        command = () if program else ("serve",)
        super().__init__(config_path, *command, "--port", str(self.port), *args, log=log,
                         wait_url=f"{self.url}/healthz", program=program)
