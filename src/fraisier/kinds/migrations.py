"""Migration presets: `migrate: {tool: alembic | confiture | django}`.

For each tool Fraisier knows how to apply pending migrations, read the current revision, and
go back to a given revision. The `migrate` step records the revision before (and after) in
the step ledger; its compensation returns the database to exactly the revision before. When
that cannot be done (no down migration), the rollback says so (`Irreversible`): the code is
rolled back, the database is not, and the outcome reads "not undone: migrate: ...".

The database URL (`migrate.database_url`) reaches the tool as environment variables
(DATABASE_URL, and CONFITURE_DATABASE_URL for confiture), never on the command line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fraisier.config.commands import CommandSpec
from fraisier.config.model import MigrateConfig
from fraisier.engine import steps
from fraisier.engine.context import DeploymentRun
from fraisier.engine.process import ProcessResult
from fraisier.engine.saga import Irreversible, SkipStep, Step, StepFailed

# confiture's documented exit codes
CONFITURE_NOT_INITIALIZED = 2
CONFITURE_IRREVERSIBLE = 8


def _cmd(*argv: str) -> CommandSpec:
    return CommandSpec(list(argv))


def _migrate(run: DeploymentRun) -> MigrateConfig:
    """The target's `migrate` settings; a preset only runs when they are there."""
    if run.target.migrate is None:
        raise StepFailed(f"{run.target.name} has no `migrate` configured")
    return run.target.migrate


def _preset(migrate: MigrateConfig) -> type[Preset]:
    if migrate.tool is None:
        raise StepFailed("`migrate.tool` is not set")
    return PRESETS[migrate.tool]


def _env(run: DeploymentRun) -> dict[str, str]:
    url = _migrate(run).database_url
    env = run.env()
    if url:
        env.update(DATABASE_URL=url, CONFITURE_DATABASE_URL=url)
    return env


def _lines(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.strip()]


class Preset:
    """One tool's commands. They run in the release being deployed, or in `cwd` (a manual
    rollback runs the down migrations of the live release, which knows them)."""

    name = ""

    def __init__(self, cwd: Path | None = None):
        self.cwd = cwd

    def current(self, run: DeploymentRun) -> str:
        raise NotImplementedError

    def up(self, run: DeploymentRun) -> None:
        raise NotImplementedError

    def down_to(self, run: DeploymentRun, revision: str) -> None:
        raise NotImplementedError

    def _run(self, run: DeploymentRun, label: str, command: CommandSpec, *,
             check: bool = True) -> ProcessResult:
        return run.run(label, command, timeout=_migrate(run).timeout, env=_env(run),
                       check=check, cwd=self.cwd)


class Alembic(Preset):
    """`alembic upgrade head`, `alembic current`, `alembic downgrade <rev>|base`."""

    name = "alembic"
    _REVISION = re.compile(r"^([0-9A-Za-z_]+)(?: \(head\)| \(mergepoint\)| \(branchpoint\))*$")

    def current(self, run: DeploymentRun) -> str:
        result = self._run(run, "migrate current", _cmd("alembic", "current"))
        revisions = [m.group(1) for line in _lines(result.output_tail)
                     if (m := self._REVISION.match(line))]
        return revisions[-1] if revisions else ""

    def up(self, run: DeploymentRun) -> None:
        self._run(run, "migrate up", _cmd("alembic", "upgrade", "head"))

    def down_to(self, run: DeploymentRun, revision: str) -> None:
        self._run(run, "migrate down", _cmd("alembic", "downgrade", revision or "base"))


class Confiture(Preset):
    """`confiture migrate up|current|down-to` (FraiseQL's migration tool)."""

    name = "confiture"

    def current(self, run: DeploymentRun) -> str:
        result = self._run(run, "migrate current",
                           _cmd("confiture", "migrate", "current", "--no-config"), check=False)
        if result.returncode == CONFITURE_NOT_INITIALIZED:
            return ""  # no tracking table yet: nothing applied
        if not result.ok:
            raise StepFailed(f"confiture migrate current: {result.describe()}")
        lines = _lines(result.output_tail)
        return lines[-1] if lines else ""

    def up(self, run: DeploymentRun) -> None:
        self._run(run, "migrate up", _cmd("confiture", "migrate", "up", "--no-config"))

    def down_to(self, run: DeploymentRun, revision: str) -> None:
        if revision:
            command = _cmd("confiture", "migrate", "down-to", revision, "--no-config")
        else:
            # Nothing was applied before: undo every migration applied since.
            applied = _confiture_applied(run)
            if applied == 0:
                return
            command = _cmd("confiture", "migrate", "down", "--steps", str(applied), "--no-config")
        result = self._run(run, "migrate down", command, check=False)
        if result.returncode == CONFITURE_IRREVERSIBLE:
            raise Irreversible(f"database left at the new revision: confiture cannot go back "
                               f"to {revision or 'nothing'} (a .down.sql is missing)")
        if not result.ok:
            raise StepFailed(f"migrate down: {result.describe()}")


class Django(Preset):
    """`manage.py migrate`, `manage.py showmigrations --plan`, `manage.py migrate APP NAME`.

    Django has one revision per app, so the recorded revision is a JSON object
    {app: last applied migration or "zero"}.
    """

    name = "django"
    _PLAN = re.compile(r"^\[(?P<mark>[X ])\]\s+(?P<app>[\w.]+)\.(?P<name>\w+)")

    def _manage(self, *args: str) -> CommandSpec:
        return _cmd("python3", "manage.py", *args)

    def _state(self, run: DeploymentRun) -> dict[str, str]:
        result = self._run(run, "migrate current", self._manage("showmigrations", "--plan"))
        state: dict[str, str] = {}
        for line in _lines(result.output_tail):
            match = self._PLAN.match(line)
            if match:
                state.setdefault(match["app"], "zero")
                if match["mark"] == "X":
                    state[match["app"]] = match["name"]
        return state

    def current(self, run: DeploymentRun) -> str:
        return json.dumps(self._state(run), sort_keys=True)

    def up(self, run: DeploymentRun) -> None:
        self._run(run, "migrate up", self._manage("migrate", "--noinput"))

    def down_to(self, run: DeploymentRun, revision: str) -> None:
        before = json.loads(revision or "{}")
        now = self._state(run)
        for app, name in now.items():
            wanted = before.get(app, "zero")
            if wanted != name:
                self._run(run, f"migrate down {app}", self._manage("migrate", app, wanted,
                                                                   "--noinput"))


PRESETS: dict[str, type[Preset]] = {p.name: p for p in (Alembic, Confiture, Django)}


def preset_up(run: DeploymentRun) -> dict[str, Any]:
    preset = _preset(_migrate(run))()
    before = preset.current(run)
    run.options["revision_before"] = before
    run.note_step("migrate", revision_before=before)
    run.log(f"database revision before migrate: {before or '(none)'}")
    data: dict[str, Any] = {"tool": preset.name, "revision_before": before}
    try:
        preset.up(run)
    finally:
        # Even a half-applied `up` must be undoable: know where it stopped.
        after = preset.current(run)
        data["revision_after"] = after
    run.log(f"database revision after migrate: {after or '(none)'}")
    return data


def _confiture_applied(run: DeploymentRun) -> int:
    """Rows in confiture's tracking table: what `down --steps` must undo from nothing."""
    import psycopg

    try:
        # No URL: libpq's own defaults (PG* variables), as for any psycopg connection.
        with psycopg.connect(_migrate(run).database_url or "", connect_timeout=10) as conn:
            row = conn.execute("SELECT count(*) FROM tb_confiture").fetchone()
            return int(row[0]) if row is not None else 0
    except psycopg.Error:
        return 0


def preset_down(run: DeploymentRun) -> None:
    preset = _preset(_migrate(run))
    if "revision_before" not in run.options:
        # After a crash the run is rebuilt from the database: the ledger has the revision.
        for recorded in run.store.ledger.steps(run.deployment_id):
            if recorded.name == "migrate" and "revision_before" in recorded.data:
                run.options["revision_before"] = recorded.data["revision_before"]
    if "revision_before" not in run.options:
        raise Irreversible("the revision before migrate was not recorded")
    preset().down_to(run, str(run.options["revision_before"]))


def rollback_to_release(run: DeploymentRun) -> dict[str, Any]:
    """`fraisier rollback --migrate-down` with a preset: put the database at the revision the
    release we go back to left it at (recorded by the deployment that made that release)."""
    target = run.target
    assert run.release_id
    release = run.store.releases.get(target.fraise, target.environment, run.release_id)
    steps = run.store.ledger.steps(release.deployment_id) if release and \
        release.deployment_id else []
    recorded = [s.data for s in steps if s.name == "migrate" and "revision_after" in s.data]
    if not recorded:
        raise StepFailed(f"no database revision was recorded for release {run.release_id}")
    revision = str(recorded[0]["revision_after"])
    live = run.layout.release_dir(run.previous_release_id) if run.previous_release_id else None
    run.log(f"database back to revision {revision or '(none)'}")
    preset = _preset(_migrate(run))
    preset(cwd=live).down_to(run, revision)
    return {"tool": preset.name, "revision": revision}


def migrate_step(run: DeploymentRun) -> Step:
    """The `migrate` step: a preset when `migrate.tool` is set, else the raw up/down commands."""
    migrate = run.target.migrate
    if migrate is not None and migrate.tool is not None and migrate.up is None:
        # compensate_on_failure: an `up` that stopped half-way (one migration applied, the next
        # failed) is taken back to the revision before too.
        return Step("migrate", lambda: _preset_or_skip(run), compensate=lambda: preset_down(run),
                    compensate_on_failure=True)
    return Step("migrate", lambda: steps.migrate_up(run), compensate=lambda: steps.migrate_down(run))


def _preset_or_skip(run: DeploymentRun) -> dict[str, Any]:
    if run.target.migrate is None:
        raise SkipStep("no migrate configured")
    return preset_up(run)
