"""Everything one running deployment needs: target, store, layout, mirror, log, commands.

Plans (api, rollback, and the other fraise types) build their steps from a DeploymentRun;
the runner executes them as a saga.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fraisier.domain.model import StepStatus
from fraisier.engine.git import Mirror
from fraisier.engine.layout import Layout
from fraisier.engine.process import CommandNotFound, ProcessResult, run_command
from fraisier.engine.saga import StepFailed

MAX_LOG_LINES = 10_000  # per deployment; the rest is counted, not stored


class Observer:
    """Live progress for whoever started the deployment (the CLI prints it)."""

    def on_step(self, position: int, name: str, status: StepStatus, error: str | None) -> None:
        pass

    def on_log(self, line: str) -> None:
        pass


@dataclass
class DeploymentRun:
    store: Any
    target: Any  # fraisier.config.Target
    deployment_id: int
    data_dir: Path
    step_names: list[str] = field(default_factory=list)
    observer: Observer = field(default_factory=Observer)
    cancel: threading.Event = field(default_factory=threading.Event)
    # Filled in as the saga goes.
    commit_sha: str | None = None
    branch: str = ""
    release_id: str | None = None
    previous_release_id: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    force: bool = False
    _log_count: int = 0
    _log_dropped: int = 0
    _log_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.layout = Layout(self.target.app_path)
        self.mirror = Mirror(self.data_dir, self.target.repository)
        self.context = {"fraise": self.target.fraise, "environment": self.target.environment}

    # -- recorder protocol (the saga calls these) -------------------------------------
    def step(self, position: int, status: StepStatus, *, error: str | None = None,
             data: dict[str, Any] | None = None) -> None:
        self.store.ledger.mark(self.deployment_id, position, status, error=error, data=data,
                               context=self.context)
        self.observer.on_step(position, self.step_names[position], status, error)

    def compensation(self, position: int, status: StepStatus, error: str | None = None) -> None:
        self.store.ledger.mark_compensation(self.deployment_id, position, status, error,
                                            context=self.context)

    def log(self, line: str) -> None:
        with self._log_lock:
            if self._log_count >= MAX_LOG_LINES:
                self._log_dropped += 1
                return
            self._log_count += 1
        self.store.ledger.log(self.deployment_id, line, context=self.context)
        self.observer.on_log(line)

    def close_log(self) -> None:
        if self._log_dropped:
            self._log_count = 0  # let the notice through
            self.log(f"[{self._log_dropped} more output lines were not kept]")

    # -- commands ---------------------------------------------------------------------
    def env(self, release_dir: Path | None = None, **extra: str) -> dict[str, str]:
        """The environment every command sees: ours, the configured `env`, FRAISIER_*."""
        release_dir = release_dir or (self.layout.release_dir(self.release_id)
                                      if self.release_id else None)
        previous = (self.layout.release_dir(self.previous_release_id)
                    if self.previous_release_id else None)
        env = dict(os.environ)
        env.update(self.target.env)
        env.update({
            "FRAISIER_FRAISE": self.target.fraise,
            "FRAISIER_ENVIRONMENT": self.target.environment,
            "FRAISIER_DEPLOYMENT_ID": str(self.deployment_id),
            "FRAISIER_COMMIT": self.commit_sha or "",
            "FRAISIER_BRANCH": self.branch,
            "FRAISIER_APP_PATH": str(self.layout.app_path),
            "FRAISIER_RELEASE_DIR": str(release_dir or ""),
            "FRAISIER_PREVIOUS_RELEASE_DIR": str(previous or ""),
        })
        env.update(extra)
        return env

    def run(self, label: str, command, *, cwd: Path | None = None,
            env: dict[str, str] | None = None, timeout: float | None = None,
            check: bool = True) -> ProcessResult:
        """Run a configured command (a CommandSpec) with its output going to the log."""
        cwd = cwd or (self.layout.release_dir(self.release_id) if self.release_id
                      else self.layout.app_path)
        self.log(f"$ {label}: {' '.join(command.argv)}")
        try:
            result = run_command(command.argv, cwd=cwd, env=env or self.env(),
                                 timeout=timeout or self.target.timeout, on_line=self.log,
                                 cancel=self.cancel)
        except CommandNotFound as exc:
            raise StepFailed(f"{label}: {exc}") from exc
        if check and not result.ok:
            raise StepFailed(f"{label}: {result.describe()}")
        return result

    def check_cancelled(self) -> None:
        if self.cancel.is_set():
            raise StepFailed("deployment cancelled")


def noop_observer() -> Observer:
    return Observer()


LineCallback = Callable[[str], None]
