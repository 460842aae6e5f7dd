"""The `schedule` step of scheduled and backup deployments: install the jobs for the
environment's backend. With `builtin` there is nothing to install (the scheduler reads the
configuration and runs jobs against the active release); with `systemd` the units are
written and enabled, and the compensation puts back the units that were there before."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fraisier.config.commands import CommandSpec
from fraisier.engine.context import DeploymentRun
from fraisier.engine.saga import Step, StepFailed
from fraisier.kinds.jobs import jobs_of
from fraisier.kinds.systemd import SystemdError, apply_units, owned_units, render_units


def _systemctl(run: DeploymentRun) -> Callable[[list[str]], None]:
    def call(argv: list[str]) -> None:
        run.run("systemctl", CommandSpec(argv), cwd=run.layout.app_path)
    return call


class _Before:
    """The units that were there before this step touched anything (None: not read yet)."""

    units: dict[str, str] | None = None


def install_jobs(run: DeploymentRun, before: _Before) -> dict[str, Any]:
    target = run.target
    jobs = jobs_of(target)
    if target.kind.scheduler == "builtin":
        run.log(f"{len(jobs)} job(s) run by the builtin scheduler (`fraisier scheduler`)")
        return {"scheduler": "builtin", "jobs": sorted(jobs)}
    directory = target.kind.systemd_dir
    try:
        before.units = owned_units(directory, target)
        change = apply_units(directory, target, render_units(target, jobs), _systemctl(run))
    except (SystemdError, OSError) as exc:
        raise StepFailed(f"systemd units: {exc}") from exc
    run.log(f"units in {directory}: wrote {', '.join(change.written) or 'none'}"
            + (f"; removed {', '.join(change.removed)}" if change.removed else ""))
    return {"scheduler": "systemd", "jobs": sorted(jobs), "units": change.written,
            "removed": change.removed}


def restore_jobs(run: DeploymentRun, before: _Before) -> None:
    if run.target.kind.scheduler != "systemd" or before.units is None:
        return
    apply_units(run.target.kind.systemd_dir, run.target, before.units, _systemctl(run))
    run.log("previous systemd units restored")


def schedule_step(run: DeploymentRun) -> Step:
    before = _Before()
    # compensate_on_failure: files may be written before a systemctl call fails.
    return Step("schedule", lambda: install_jobs(run, before),
                compensate=lambda: restore_jobs(run, before), compensate_on_failure=True)
