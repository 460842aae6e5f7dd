"""What a preview adds to the deployment saga, and the saga that removes it.

deploy    database → environment_file → report → (the api plan: fetch … cleanup) → announce
teardown  stop → drop_database → remove_files → removed

`database` creates the preview's database on its first deployment (a later one finds it and
skips); a failed first deployment drops it again. `environment_file` writes
`<app_path>/preview.env` (mode 0600): the preview's environment (`env`, FRAISIER_PREVIEW_PORT,
...) for a service manager that does not inherit it, e.g. systemd's `EnvironmentFile=`. `report` sets the commit status to pending
and, when a later step fails, to failure (its compensation); `announce` sets it to success and
writes the pull-request comment. The teardown steps are each safe to run again: a failed
teardown is retried with `fraisier preview destroy` or `fraisier retry`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fraisier.domain.model import ReleaseStatus, utc_timestamp
from fraisier.domain.previews import PreviewStatus
from fraisier.engine.saga import SkipStep, Step, StepFailed
from fraisier.previews import database as databases
from fraisier.previews.report import Reporter

if TYPE_CHECKING:
    from fraisier.config.previews import PreviewTarget
    from fraisier.engine.context import DeploymentRun

def _preview(run: DeploymentRun) -> PreviewTarget:
    preview = run.target.preview
    assert preview is not None  # the planner only calls these for preview targets
    return preview


def deploy_plan(run: DeploymentRun, requested_commit: str | None,
                base: list[Step]) -> list[Step]:
    created: dict[str, bool] = {}
    reporter = Reporter(run)
    return [
        Step("database", lambda: _create_database(run, created),
             compensate=lambda: _drop_created(run, created)),
        Step("environment_file", lambda: _environment_file(run)),
        Step("report", reporter.pending, compensate=reporter.failed),
        *base,
        Step("announce", reporter.deployed),
    ]


def _create_database(run: DeploymentRun, created: dict[str, bool]) -> dict[str, Any]:
    database = _preview(run).database
    if database is None:
        raise SkipStep("no previews.database configured")
    try:
        if databases.exists(database):
            raise SkipStep(f"database {database.name} exists")
        source = databases.create(database, run.store)
    except databases.PreviewDatabaseError as exc:
        raise StepFailed(str(exc)) from exc
    created["yes"] = True
    run.log(f"database {database.name} created from {source}")
    return {"database": database.name, "source": source}


ENVIRONMENT_FILE = "preview.env"


def environment_file_text(env: dict[str, str]) -> str:
    """KEY="value" lines as systemd's EnvironmentFile= reads them (and a shell's `.`)."""
    def quoted(value: str) -> str:
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
        return '"' + escaped.replace("\n", "\\n") + '"'

    return "".join(f"{key}={quoted(value)}\n" for key, value in sorted(env.items()))


def _environment_file(run: DeploymentRun) -> dict[str, Any]:
    app_path = run.layout.app_path
    app_path.mkdir(parents=True, exist_ok=True)
    path = app_path / ENVIRONMENT_FILE
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(environment_file_text(run.target.env))
    partial.replace(path)
    return {"path": str(path), "keys": sorted(run.target.env)}


def _drop_created(run: DeploymentRun, created: dict[str, bool]) -> None:
    database = _preview(run).database
    if database is not None and created.get("yes"):
        databases.drop(database)
        run.log(f"database {database.name} dropped (the first deployment failed)")


def teardown_plan(run: DeploymentRun) -> list[Step]:
    return [
        Step("stop", lambda: _stop(run)),
        Step("drop_database", lambda: _drop(run)),
        Step("remove_files", lambda: _remove_files(run)),
        Step("removed", lambda: _removed(run)),
    ]


def _stop(run: DeploymentRun) -> dict[str, Any]:
    stop = _preview(run).stop
    if stop is None:
        raise SkipStep("no previews.stop configured")
    app_path = run.layout.app_path
    cwd = next(p for p in (app_path, app_path.parent, Path("/")) if p.is_dir())
    run.run("stop", stop, cwd=cwd)
    return {}


def _drop(run: DeploymentRun) -> dict[str, Any]:
    database = _preview(run).database
    if database is None:
        raise SkipStep("no previews.database configured")
    try:
        dropped = databases.drop(database)
    except databases.PreviewDatabaseError as exc:
        raise StepFailed(str(exc)) from exc
    run.log(f"database {database.name} {'dropped' if dropped else 'was already gone'}")
    return {"database": database.name, "dropped": dropped}


def _remove_files(run: DeploymentRun) -> dict[str, Any]:
    target = run.target
    for release in run.store.releases.list(target.fraise, target.environment):
        if release.status != ReleaseStatus.PRUNED.value:
            run.store.releases.set_status(target.fraise, target.environment,
                                          release.release_id, ReleaseStatus.PRUNED)
    app_path = run.layout.app_path
    if app_path.exists():
        shutil.rmtree(app_path)
        run.log(f"removed {app_path}")
    return {"path": str(app_path)}


def _removed(run: DeploymentRun) -> dict[str, Any]:
    target, preview = run.target, _preview(run)
    with run.store.db.transaction():
        record = run.store.previews.get(target.fraise, preview.number)
        if record is None or record.status != PreviewStatus.REMOVING.value:
            # Reopened while this ran: the deployment queued behind it brings it back.
            run.log("the preview was reopened meanwhile: it stays open")
            return {"removed": False}
        run.store.previews.set_status(target.fraise, preview.number, PreviewStatus.REMOVED,
                                      reason=record.reason, now=utc_timestamp())
    Reporter(run).removed(record.reason)
    return {"removed": True}
