"""Run one recorded command outside a deployment saga: an ETL run, a scheduled job, a backup
command. The run is written to tb_run before the command starts and completed after, with
exit code, duration and the tail of its output."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from fraisier.engine.layout import Layout
from fraisier.engine.process import CommandNotFound, ProcessResult, run_command

LineCallback = Callable[[str], None]


def target_env(target, release_dir: Path | None, **extra: str) -> dict[str, str]:
    """The environment a run sees: ours, the target's `env`, and FRAISIER_* values."""
    env = dict(os.environ)
    env.update(target.env)
    env.update({
        "FRAISIER_FRAISE": target.fraise,
        "FRAISIER_ENVIRONMENT": target.environment,
        "FRAISIER_APP_PATH": str(target.app_path),
        "FRAISIER_RELEASE_DIR": str(release_dir or ""),
    })
    env.update(extra)
    return env


def active_release_dir(target) -> tuple[str | None, Path | None]:
    layout = Layout(target.app_path)
    release = layout.current_release_id()
    return (release, layout.release_dir(release)) if release else (None, None)


def status_of(result: ProcessResult | None) -> str:
    if result is None:
        return "failed"
    if result.timed_out:
        return "timed_out"
    return "succeeded" if result.ok else "failed"


def execute_run(store, target, kind: str, name: str, command, *, cwd: Path, env: dict[str, str],
                timeout: float, trigger: str, release: str | None = None,
                deployment_id: int | None = None, scheduled_for: str | None = None,
                owner: str | None = None, on_line: LineCallback | None = None,
                cancel: threading.Event | None = None):
    """Record and run `command`; returns (RunRecord, ProcessResult | None).

    Raises store.Conflict (before running anything) when this job is already running.
    """
    run_id = store.runs.start(target.fraise, target.environment, kind, name, trigger=trigger,
                              release=release, deployment_id=deployment_id,
                              scheduled_for=scheduled_for, owner=owner)
    result: ProcessResult | None = None
    error: str | None = None
    try:
        result = run_command(command.argv, cwd=cwd, env={**env, "FRAISIER_RUN_ID": str(run_id)},
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
    return store.runs.get(run_id), result
