"""The `etl` fraise type: deploy the release like an api, then run its script (see plans.py).

The script runs in the new release directory with a timeout; its exit code, duration and
output tail are recorded as a run (tb_run), and its output goes to the deployment log. A
failed script fails the deployment, so the previous release is put back. `on_success` /
`on_failure` commands run after the script and never change its outcome.

Both ways of running the script, in a deployment and with `fraisier run`, take its target as
a ScriptTarget (config/script_target.py): plain values that `fraisier run` reads from the
configuration cache without importing the configuration's models.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fraisier.config.script_target import ScriptTarget
from fraisier.kinds.runs import (
    LineCallback,
    active_release_dir,
    execute_run,
    recorded_run,
    target_env,
)

if TYPE_CHECKING:
    from fraisier.engine.context import DeploymentRun
    from fraisier.store import Store
    from fraisier.store.runs import RunRecord

ETL_RUN = "script"


def notify(target: ScriptTarget, record: RunRecord, *, cwd: Path, env: dict[str, str],
           on_line: LineCallback | None) -> None:
    """Run on_success / on_failure; their failure is logged, never changes the run's outcome."""
    from fraisier.engine.process import CommandNotFound, run_command

    command = target.on_success if record.status == "succeeded" else target.on_failure
    if command is None:
        return
    label = "on_success" if record.status == "succeeded" else "on_failure"
    env = {**env, "FRAISIER_RUN_ID": str(record.id), "FRAISIER_RUN_STATUS": record.status,
           "FRAISIER_RUN_EXIT_CODE": "" if record.exit_code is None else str(record.exit_code)}
    try:
        result = run_command(command, cwd=cwd, env=env, timeout=target.timeout,
                             on_line=on_line)
        if not result.ok and on_line:
            on_line(f"{label}: {result.describe()} (ignored)")
    except CommandNotFound as exc:
        if on_line:
            on_line(f"{label}: {exc} (ignored)")


def script_step(run: DeploymentRun) -> dict[str, Any]:
    # The deployment engine is imported here, not above: `fraisier run` never needs it.
    from fraisier.engine.saga import StepFailed

    target = ScriptTarget.of(run.target)
    if target.script is None:
        raise StepFailed("an etl fraise needs `script` (the command to run)")
    assert run.release_id
    cwd = run.layout.release_dir(run.release_id)
    env = run.env()
    run.log(f"$ script: {' '.join(target.script)}")
    record, result = execute_run(
        run.store, target, "etl", ETL_RUN, target.script, cwd=cwd, env=env,
        timeout=target.script_timeout, trigger="deploy", release=run.release_id,
        deployment_id=run.deployment_id, on_line=run.log, cancel=run.cancel)
    notify(target, record, cwd=cwd, env=env, on_line=run.log)
    data = {"run_id": record.id, "exit_code": record.exit_code,
            "duration_seconds": record.duration_seconds, "status": record.status}
    if record.status != "succeeded":
        raise StepFailed(f"script: {record.error}")
    return data


class NoActiveRelease(Exception):
    pass


def run_etl(store: Store, target: ScriptTarget, *, trigger: str = "cli",
            on_line: LineCallback | None = None,
            cancel: threading.Event | None = None) -> RunRecord:
    """Run the ETL script again on the active release, without deploying. Returns the RunRecord.

    Raises NoActiveRelease when nothing is deployed, store.Conflict when a run is going on.
    """
    if target.script is None:
        raise NoActiveRelease(f"{target.name} has no script configured")
    release, release_dir = active_release_dir(target)
    if release_dir is None:
        raise NoActiveRelease(f"{target.name} has no active release: deploy it first")
    env = target_env(target, release_dir)
    record, _ = execute_run(store, target, "etl", ETL_RUN, target.script, cwd=release_dir,
                            env=env, timeout=target.script_timeout, trigger=trigger,
                            release=release, on_line=on_line, cancel=cancel)
    notify(target, record, cwd=release_dir, env=env, on_line=on_line)
    return recorded_run(store, record.id)
