"""Everything one running deployment needs: target, store, layout, mirror, log, commands.

Plans (api, rollback, and the other fraise types) build their steps from a DeploymentRun;
the runner executes them as a saga.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from fraisier.domain.model import StepStatus
from fraisier.domain.redaction import redact, redact_optional
from fraisier.engine.git import Mirror
from fraisier.engine.layout import Layout
from fraisier.engine.process import (
    CommandNotFound,
    ProcessResult,
    StartedProcess,
    run_command,
)
from fraisier.engine.saga import StepFailed

if TYPE_CHECKING:
    from fraisier.config import Target
    from fraisier.config.commands import CommandSpec
    from fraisier.store import Store

MAX_LOG_LINES = 10_000  # per deployment; the rest is counted, not stored


class ProgressObserver(Protocol):
    """Live progress for whoever started the deployment (the CLI's LiveProgress prints it)."""

    def on_step(self, position: int, name: str, status: StepStatus,
                error: str | None) -> None: ...

    def on_log(self, line: str) -> None: ...


class Observer:
    """The progress observer of a deployment nobody watches live: it ignores everything."""

    def on_step(self, position: int, name: str, status: StepStatus, error: str | None) -> None:
        pass

    def on_log(self, line: str) -> None:
        pass


@dataclass
class DeploymentRun:
    store: Store
    target: Target
    deployment_id: int
    data_dir: Path
    step_names: list[str] = field(default_factory=list)
    observer: ProgressObserver = field(default_factory=Observer)
    cancel: threading.Event = field(default_factory=threading.Event)
    # Filled in as the saga goes.
    commit_sha: str | None = None
    branch: str = ""
    release_id: str | None = None
    previous_release_id: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    force: bool = False
    # True while a dead worker's deployment is being undone (engine/recovery.py).
    recovering: bool = False
    # Called when the saga is over (e.g. the SSH connections a rollout opened).
    closers: list[Callable[[], None]] = field(default_factory=list)
    _log_count: int = 0
    _log_dropped: int = 0
    _log_lock: threading.Lock = field(default_factory=threading.Lock)
    _tracked: dict[int, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.layout = Layout(self.target.app_path)
        self.mirror = Mirror(self.data_dir, self.target.repository)
        self.context = {"fraise": self.target.fraise, "environment": self.target.environment}

    # -- recorder protocol (the saga calls these) -------------------------------------
    def step(self, position: int, status: StepStatus, *, error: str | None = None,
             data: dict[str, Any] | None = None) -> None:
        error = redact_optional(error)  # the observer prints it as it comes
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
        line = redact(line)  # the observer (the CLI's live output) sees what is stored
        self.store.ledger.log(self.deployment_id, line, context=self.context)
        self.observer.on_log(line)

    def note_step(self, name: str, **data: Any) -> None:
        """Write what a step has learnt into its ledger row while it still runs (e.g. the
        revision before `migrate`), so that recovery can undo it if the worker dies."""
        if name in self.step_names:
            self.store.ledger.note(self.deployment_id, self.step_names.index(name), data)

    def close_connections(self) -> None:
        for close in self.closers:
            close()
        self.closers.clear()

    def close_log(self) -> None:
        if self._log_dropped:
            self._log_count = 0  # let the notice through
            self.log(f"[{self._log_dropped} more output lines were not kept]")

    # -- commands ---------------------------------------------------------------------
    def env(self, release_dir: Path | None = None, **extra: str) -> dict[str, str]:
        """What every command gets on top of the base environment (engine.process): the
        configured `env` and FRAISIER_* values — never the rest of Fraisier's own."""
        release_dir = release_dir or (self.layout.release_dir(self.release_id)
                                      if self.release_id else None)
        previous = (self.layout.release_dir(self.previous_release_id)
                    if self.previous_release_id else None)
        env = dict(self.target.env)
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

    def run(self, label: str, command: CommandSpec, *, cwd: Path | None = None,
            env: dict[str, str] | None = None, timeout: float | None = None,
            check: bool = True) -> ProcessResult:
        """Run a configured command (a CommandSpec) with its output going to the log."""
        cwd = cwd or (self.layout.release_dir(self.release_id) if self.release_id
                      else self.layout.app_path)
        self.log(f"$ {label}: {' '.join(command.argv)}")
        try:
            result = run_command(command.argv, cwd=cwd, env=env or self.env(),
                                 timeout=timeout or self.target.timeout, on_line=self.log,
                                 cancel=self.cancel, on_start=self._track(label))
        except CommandNotFound as exc:
            raise StepFailed(f"{label}: {exc}") from exc
        finally:
            self._untrack()
        if check and not result.ok:
            raise StepFailed(f"{label}: {result.describe()}")
        return result

    # -- the commands running now, in the ledger: a dead worker's are stopped by recovery --
    def _track(self, label: str) -> Callable[[StartedProcess], None]:
        def started(process: StartedProcess) -> None:
            ids = self._tracked.setdefault(threading.get_ident(), [])
            ids.append(self.store.ledger.command_started(
                self.deployment_id, process.pid, socket.gethostname(), process.start_ticks,
                label))
        return started

    def _untrack(self) -> None:
        for tracked in self._tracked.pop(threading.get_ident(), []):
            self.store.ledger.command_ended(tracked)
