"""The steps of a deployment on one machine, and what undoes each of them:

fetch → release → install → build → migrate → activate → restart → health_check → cleanup

kinds/plans.py assembles them into the plan of each fraise type.
"""

from __future__ import annotations

from typing import Any

from fraisier.config.commands import CommandSpec
from fraisier.domain.model import ReleaseStatus, make_release_id
from fraisier.engine.context import DeploymentRun
from fraisier.engine.git import GitError
from fraisier.engine.health import HealthCheckFailed, check_health
from fraisier.engine.saga import FinishEarly, SkipStep, StepFailed


def fetch(run: DeploymentRun, requested_commit: str | None) -> dict[str, Any]:
    """Bring the mirror up to date and pin the exact commit to deploy."""
    target = run.target
    try:
        run.mirror.fetch()
        if requested_commit:
            sha = run.mirror.resolve(requested_commit)
        else:
            if any(ch in target.branch for ch in "*?["):
                raise StepFailed(f"branch {target.branch!r} is a pattern: name a commit to deploy")
            sha = run.mirror.resolve(target.branch)
        info = run.mirror.commit_info(sha)
    except GitError as exc:
        raise StepFailed(str(exc)) from exc
    run.commit_sha = sha
    run.branch = run.branch or target.branch
    run.store.queue.update(run.deployment_id, commit_sha=sha, branch=run.branch)
    run.store.record_commit(target.fraise, sha, branch=run.branch, message=info["message"],
                            author=info["author"], committed_at=info["date"])
    run.log(f"commit {sha[:12]} ({info['message']}) by {info['author']}")
    active = run.store.releases.active(target.fraise, target.environment)
    live = run.layout.current_release_id()
    if not run.force and active and active.commit_sha == sha and live == active.release_id:
        run.store.queue.update(run.deployment_id, release=active.release_id,
                               previous_release=active.release_id)
        raise FinishEarly(f"commit {sha[:12]} is already live as release {active.release_id}; "
                          "nothing to do (use --force to deploy it again)")
    return {"commit_sha": sha}


def materialize(run: DeploymentRun) -> dict[str, Any]:
    assert run.commit_sha
    run.release_id = make_release_id(run.commit_sha)
    partial = run.layout.partial_dir(run.release_id)
    final = run.layout.release_dir(run.release_id)
    run.layout.releases_dir.mkdir(parents=True, exist_ok=True)
    try:
        try:
            run.mirror.materialize(run.commit_sha, partial)
        except GitError as exc:
            raise StepFailed(str(exc)) from exc
        partial.rename(final)  # the release exists only once its whole tree does
        run.store.releases.add(run.target.fraise, run.target.environment, run.release_id,
                               run.commit_sha, str(final), deployment_id=run.deployment_id)
    except BaseException:
        # A step that fails is not compensated, so this undo is its own: a full disk must not
        # leave a half-written `.partial` (or an unrecorded release) until the next deploy.
        run.layout.remove(run.release_id)
        raise
    run.store.queue.update(run.deployment_id, release=run.release_id)
    run.log(f"release {run.release_id} materialized in {final}")
    return {"release": run.release_id, "path": str(final)}


def discard_release(run: DeploymentRun) -> None:
    """A failed release is removed from disk (a half-made one too) and never becomes a
    rollback target. The live release is never removed, whatever happened before."""
    run.layout.remove_partials()
    if not run.release_id or run.release_id == run.layout.current_release_id():
        return
    run.layout.remove(run.release_id)
    if run.store.releases.get(run.target.fraise, run.target.environment, run.release_id):
        run.store.releases.set_status(run.target.fraise, run.target.environment,
                                      run.release_id, ReleaseStatus.FAILED)


def command_step(run: DeploymentRun, label: str, command: CommandSpec | None
                 ) -> dict[str, Any]:
    if command is None:
        raise SkipStep(f"no {label} command configured")
    result = run.run(label, command)
    return {"duration_seconds": round(result.duration_seconds, 3)}


def activate(run: DeploymentRun) -> dict[str, Any]:
    assert run.release_id
    run.layout.activate(run.release_id)
    run.store.releases.activate(run.target.fraise, run.target.environment, run.release_id)
    run.log(f"current -> releases/{run.release_id}")
    return {"previous_release": run.previous_release_id}


def deactivate(run: DeploymentRun) -> None:
    """Put back the release that was live before, or no `current` at all on a first deploy."""
    target = run.target
    if run.previous_release_id and run.layout.release_dir(run.previous_release_id).is_dir():
        run.layout.activate(run.previous_release_id)
        run.store.releases.activate(target.fraise, target.environment, run.previous_release_id)
        run.log(f"current -> releases/{run.previous_release_id} (previous release restored)")
    else:
        run.layout.deactivate()
        run.log("no previous release: current removed")


def restart(run: DeploymentRun) -> dict[str, Any]:
    if run.target.restart is None:
        raise SkipStep("no restart command configured")
    run.run("restart", run.target.restart)
    return {}


def restart_previous(run: DeploymentRun) -> None:
    """Restart the service on the restored release and make sure it is healthy again."""
    if run.target.restart is None:
        return
    if not run.previous_release_id:
        run.log("no previous release to restart")
        return
    previous_dir = run.layout.release_dir(run.previous_release_id)
    env = run.env(release_dir=previous_dir, FRAISIER_COMMIT=_commit_of(run, run.previous_release_id))
    run.run("restart (previous release)", run.target.restart, cwd=previous_dir, env=env)
    if run.target.health_check is not None:
        try:
            check_health(run.target.health_check, cwd=previous_dir, env=env, log=run.log)
        except HealthCheckFailed as exc:
            raise StepFailed(f"previous release is not healthy either: {exc}") from exc


def health(run: DeploymentRun) -> dict[str, Any]:
    if run.target.health_check is None:
        raise SkipStep("no health_check configured")
    assert run.release_id
    try:
        last = check_health(run.target.health_check, cwd=run.layout.release_dir(run.release_id),
                            env=run.env(), log=run.log, cancel=run.cancel)
    except HealthCheckFailed as exc:
        raise StepFailed(str(exc)) from exc
    return {"result": last}


def cleanup(run: DeploymentRun) -> dict[str, Any]:
    """Keep the newest `keep_releases` good releases; never fail a healthy deployment."""
    target = run.target
    removed = []
    try:
        run.layout.remove_partials()
        good = run.store.releases.good(target.fraise, target.environment)
        for release in good[target.keep_releases:]:
            if release.release_id == run.layout.current_release_id():
                continue
            run.layout.remove(release.release_id)
            run.store.releases.set_status(target.fraise, target.environment,
                                          release.release_id, ReleaseStatus.PRUNED)
            removed.append(release.release_id)
        for release in run.store.releases.list(target.fraise, target.environment):
            if release.status == ReleaseStatus.FAILED.value:
                run.layout.remove(release.release_id)
    except OSError as exc:
        run.log(f"cleanup: {exc} (left as is)")
    if removed:
        run.log(f"pruned {len(removed)} old release(s): {', '.join(removed)}")
    return {"pruned": removed}


def _commit_of(run: DeploymentRun, release_id: str) -> str:
    record = run.store.releases.get(run.target.fraise, run.target.environment, release_id)
    return record.commit_sha if record else ""
