"""A manual rollback: re-activate a previous good release, restart, health-check.

It is a saga like a deployment (trigger `rollback`), so a rollback that fails puts back the
release that was live when it started.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fraisier.domain.model import ReleaseStatus, release_handle
from fraisier.engine import steps
from fraisier.engine.context import DeploymentRun
from fraisier.engine.saga import SkipStep, Step, StepFailed
from fraisier.store.records import ReleaseRecord


def matching_releases(releases: list[ReleaseRecord], to: str) -> list[ReleaseRecord]:
    """The releases `to` names: a release id, its short handle as tables show it, or a commit
    prefix of 4+ characters."""
    return [r for r in releases
            if to in (r.release_id, release_handle(r.release_id))
            or (len(to) >= 4 and r.commit_sha.startswith(to))]


def select(run: DeploymentRun, to: str | None) -> dict[str, Any]:
    """Pick the release to go back to: the one named (release id, its handle as tables show
    it, or commit), else the newest good release before the live one."""
    target = run.target
    live = run.layout.current_release_id()
    run.previous_release_id = live
    candidates = [r for r in run.store.releases.good(target.fraise, target.environment)
                  if run.layout.release_dir(r.release_id).is_dir()]
    if to:
        matches = matching_releases(candidates, to)
        if not matches:
            raise StepFailed(f"no good release matches {to!r} for {target.fraise}/"
                             f"{target.environment} (see `fraisier releases`)")
        chosen = matches[0]
    else:
        older = [r for r in candidates if live is None or r.release_id < live]
        if not older:
            raise StepFailed(f"no previous good release to roll back to for "
                             f"{target.fraise}/{target.environment}")
        chosen = older[0]
    if chosen.release_id == live:
        raise StepFailed(f"release {chosen.release_id} is already live")
    run.release_id = chosen.release_id
    run.commit_sha = chosen.commit_sha
    run.store.queue.update(run.deployment_id, release=chosen.release_id,
                           previous_release=live, commit_sha=chosen.commit_sha)
    run.log(f"rolling back from {live or 'nothing'} to {chosen.release_id}")
    return {"release": chosen.release_id, "from": live}


MigrateBack = Callable[[DeploymentRun], dict[str, Any]]


def migrate_down(run: DeploymentRun, migrate_back: MigrateBack | None = None
                 ) -> dict[str, Any]:
    """Only when asked: the database goes back with `migrate_back`, the one way back that
    kinds/migrations.py knows (a preset's, or the raw `migrate.down`)."""
    if not run.options.get("migrate_down"):
        raise SkipStep("database left as is (pass --migrate-down to run migrate.down)")
    if migrate_back is None:
        raise StepFailed("--migrate-down was asked but no migrate.down is configured")
    return migrate_back(run)


def activate(run: DeploymentRun) -> dict[str, Any]:
    assert run.release_id
    run.layout.activate(run.release_id)
    run.store.releases.activate(run.target.fraise, run.target.environment, run.release_id)
    run.log(f"current -> releases/{run.release_id}")
    return {}


def reactivate_live(run: DeploymentRun) -> None:
    if run.previous_release_id:
        run.layout.activate(run.previous_release_id)
        run.store.releases.activate(run.target.fraise, run.target.environment,
                                    run.previous_release_id)
        run.log(f"current -> releases/{run.previous_release_id} (restored)")


def mark_failed_target(run: DeploymentRun) -> None:
    # The release we went back to did not come up: it is no longer a rollback target. (Not
    # when a dead worker's rollback is undone: nothing says that release was at fault.)
    if run.release_id and not run.recovering:
        run.store.releases.set_status(run.target.fraise, run.target.environment, run.release_id,
                                      ReleaseStatus.FAILED)


def rollback_plan(run: DeploymentRun, to: str | None,
                  migrate_back: MigrateBack | None = None) -> list[Step]:
    def undo_activate() -> None:
        reactivate_live(run)
        mark_failed_target(run)

    return [
        Step("select", lambda: select(run, to)),
        Step("migrate_down", lambda: migrate_down(run, migrate_back)),
        Step("activate", lambda: activate(run), compensate=undo_activate),
        Step("restart", lambda: steps.restart(run), compensate=lambda: steps.restart_previous(run),
             compensate_last=True, compensate_on_failure=True),
        Step("health_check", lambda: steps.health(run)),
    ]
