"""Run one recorded command outside a deployment saga: an ETL run, a scheduled job, a backup
command. The run is written to tb_run before the command starts and completed after, with
exit code, duration and the tail of its output."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from fraisier.engine.layout import Layout
from fraisier.engine.process import CommandNotFound, ProcessResult, run_command
from fraisier.store.db import Conflict

if TYPE_CHECKING:
    from fraisier.store import Store
    from fraisier.store.runs import RunRecord

LineCallback = Callable[[str], None]
log = logging.getLogger("fraisier.runs")


class RunTarget(Protocol):
    """What a run needs of its target: a resolved Target, or the plain view of one that
    `fraisier run` reads from the configuration cache (config/script_target.py)."""

    @property
    def fraise(self) -> str: ...

    @property
    def environment(self) -> str: ...

    @property
    def app_path(self) -> Path: ...

    @property
    def env(self) -> dict[str, str]: ...


def target_env(target: RunTarget, release_dir: Path | None, **extra: str) -> dict[str, str]:
    """What a run adds to the base environment: the target's `env` and FRAISIER_* values."""
    env = dict(target.env)
    env.update({
        "FRAISIER_FRAISE": target.fraise,
        "FRAISIER_ENVIRONMENT": target.environment,
        "FRAISIER_APP_PATH": str(target.app_path),
        "FRAISIER_RELEASE_DIR": str(release_dir or ""),
    })
    env.update(extra)
    return env


def active_release_dir(target: RunTarget) -> tuple[str | None, Path | None]:
    layout = Layout(target.app_path)
    release = layout.current_release_id()
    return (release, layout.release_dir(release)) if release else (None, None)


def process_owner(role: str = "cli") -> str:
    return f"{role}:{_host()}:{os.getpid()}"


def _host() -> str:
    # socket.gethostname() is this name too; the socket module costs a CLI start more.
    return os.uname().nodename


def _process_gone(owner: str | None) -> bool:
    """True only when the owner was a process of this machine that no longer exists."""
    parts = (owner or "").split(":")
    if len(parts) != 3 or parts[1] != _host() or not parts[2].isdigit():
        return False
    pid = int(parts[2])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def start_run(store: Store, target: RunTarget, kind: str, name: str, *, owner: str | None = None,
              trigger: str, release: str | None = None, deployment_id: int | None = None,
              scheduled_for: str | None = None) -> int:
    """Record a run as running. A run of the same job left `running` by a process of this
    machine that has died is closed as abandoned first; a live one raises store.Conflict."""
    owner = owner or process_owner()
    try:
        return store.runs.start(target.fraise, target.environment, kind, name, owner=owner,
                                trigger=trigger, release=release, deployment_id=deployment_id,
                                scheduled_for=scheduled_for)
    except Conflict:
        running = store.runs.running(target.fraise, target.environment, kind, name)
        if running is None or not _process_gone(running.owner):
            raise
        store.runs.abandon(running.id)
        return store.runs.start(target.fraise, target.environment, kind, name, owner=owner,
                                trigger=trigger, release=release, deployment_id=deployment_id,
                                scheduled_for=scheduled_for)


def recorded_run(store: Store, run_id: int) -> RunRecord:
    """The record of a run this process started (it is never deleted while it runs)."""
    record = store.runs.get(run_id)
    if record is None:
        raise LookupError(f"run {run_id} is not in the store")
    return record


def status_of(result: ProcessResult | None) -> str:
    if result is None:
        return "failed"
    if result.timed_out:
        return "timed_out"
    return "succeeded" if result.ok else "failed"


def execute_run(store: Store, target: RunTarget, kind: str, name: str, argv: Sequence[str], *,
                cwd: Path, env: dict[str, str], timeout: float, trigger: str,
                release: str | None = None, deployment_id: int | None = None, scheduled_for: str | None = None,
                owner: str | None = None, on_line: LineCallback | None = None,
                cancel: threading.Event | None = None
                ) -> tuple[RunRecord, ProcessResult | None]:
    """Record and run `argv`; returns (RunRecord, ProcessResult | None).

    Raises store.Conflict (before running anything) when this job is already running.
    """
    run_id = start_run(store, target, kind, name, trigger=trigger, release=release,
                       deployment_id=deployment_id, scheduled_for=scheduled_for, owner=owner)
    result: ProcessResult | None = None
    error: str | None = None
    try:
        result = run_command(argv, cwd=cwd, env={**env, "FRAISIER_RUN_ID": str(run_id)},
                             timeout=timeout, on_line=on_line, cancel=cancel)
        if not result.ok:
            error = result.describe()
    except CommandNotFound as exc:
        error = str(exc)
    finally:
        store.runs.finish(
            run_id, status_of(result),
            exit_code=result.returncode if result else None,
            duration_seconds=result.duration_seconds if result else 0.0,
            output_tail=result.output_tail if result else "", error=error)
    record = recorded_run(store, run_id)
    log_run(record, kind, name, target)
    return record, result


def log_run(record: RunRecord, kind: str, name: str, target: RunTarget) -> None:
    """One line per finished run (etl, scheduled job) in the process log."""
    failed = record.status != "succeeded"
    duration = f" ({record.duration_seconds:.1f} s)" if record.duration_seconds else ""
    log.log(logging.WARNING if failed else logging.INFO, "%s run %s %s/%s %s %s%s%s",
            kind, record.id, target.fraise, target.environment, name, record.status, duration,
            f": {record.error}" if failed and record.error else "",
            extra={"run_id": record.id, "kind": kind, "job": name, "fraise": target.fraise,
                   "environment": target.environment, "outcome": record.status,
                   "trigger": record.trigger, "duration_seconds": record.duration_seconds})
