"""The deployment plan of each fraise type, built from the api steps.

api        fetch → release → install → build → [backup] → migrate → activate → restart →
           health_check → cleanup
etl        fetch → release → install → build → [backup] → migrate → activate → script → cleanup
scheduled  fetch → release → install → build → migrate → activate → schedule → cleanup
backup     fetch → release → install → build → activate → schedule → cleanup

`[backup]` only with `backup_before_deploy: true`; `migrate` uses a tool preset when
`migrate.tool` is set.
"""

from __future__ import annotations

from fraisier.engine import steps
from fraisier.engine.context import DeploymentRun
from fraisier.engine.saga import Step
from fraisier.kinds.backup_step import backup_steps
from fraisier.kinds.etl import script_step
from fraisier.kinds.migrations import migrate_step
from fraisier.kinds.schedule_step import schedule_step


def _build(run: DeploymentRun, requested_commit: str | None) -> list[Step]:
    target = run.target
    return [
        Step("fetch", lambda: steps.fetch(run, requested_commit)),
        Step("release", lambda: steps.materialize(run),
             compensate=lambda: steps.discard_release(run)),
        Step("install", lambda: steps.command_step(run, "install", target.install)),
        Step("build", lambda: steps.command_step(run, "build", target.build)),
    ]


def _activate(run: DeploymentRun) -> Step:
    return Step("activate", lambda: steps.activate(run),
                compensate=lambda: steps.deactivate(run))


def _cleanup(run: DeploymentRun) -> Step:
    return Step("cleanup", lambda: steps.cleanup(run))


def api_plan(run: DeploymentRun, requested_commit: str | None) -> list[Step]:
    return [
        *_build(run, requested_commit), *backup_steps(run), migrate_step(run), _activate(run),
        Step("restart", lambda: steps.restart(run),
             compensate=lambda: steps.restart_previous(run),
             compensate_last=True, compensate_on_failure=True),
        Step("health_check", lambda: steps.health(run)),
        _cleanup(run),
    ]


def etl_plan(run: DeploymentRun, requested_commit: str | None) -> list[Step]:
    return [*_build(run, requested_commit), *backup_steps(run), migrate_step(run),
            _activate(run), Step("script", lambda: script_step(run)), _cleanup(run)]


def scheduled_plan(run: DeploymentRun, requested_commit: str | None) -> list[Step]:
    return [*_build(run, requested_commit), *backup_steps(run), migrate_step(run),
            _activate(run), schedule_step(run), _cleanup(run)]


def backup_plan(run: DeploymentRun, requested_commit: str | None) -> list[Step]:
    return [*_build(run, requested_commit), _activate(run), schedule_step(run), _cleanup(run)]
