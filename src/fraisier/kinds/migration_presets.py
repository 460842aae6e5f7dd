"""Migration presets: `migrate: {tool: alembic | confiture | django}`.

For each tool Fraisier knows how to list the pending migrations (with whether each can be
undone), apply them, read the current revision, and go back to a given revision. The tool is
found by migration_tools.find_tool (the release's own `.venv` first).
"""

from __future__ import annotations

import configparser
import json
import re
from pathlib import Path
from typing import Any

from fraisier.config.commands import CommandSpec
from fraisier.engine.context import DeploymentRun
from fraisier.engine.process import ProcessResult
from fraisier.engine.saga import Irreversible, StepFailed
from fraisier.kinds.migration_tools import find_tool, step_timeout, tool_env
from fraisier.kinds.reversibility import (
    PendingMigration,
    alembic_pending,
    alembic_script,
    confiture_migration,
)

# confiture's documented exit codes
CONFITURE_PENDING = 1
CONFITURE_NOT_INITIALIZED = 2
CONFITURE_IRREVERSIBLE = 8


def _timeout_hint(run: DeploymentRun, result: ProcessResult) -> str:
    """Say plainly when PostgreSQL gave up on a lock or a statement (the PGOPTIONS limits)."""
    migrate = run.target.migrate
    output = result.output_tail
    if migrate is not None and "due to lock timeout" in output:
        return (f": waited longer than migrate.lock_timeout ({migrate.lock_timeout:g}s) for a "
                f"lock another session holds (canceling statement due to lock timeout)")
    if "due to statement timeout" in output:
        return (f": a statement ran longer than migrate.statement_timeout "
                f"({(migrate.statement_timeout if migrate else None) or step_timeout(run):g}s)")
    return ""


def _lines(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.strip()]


class Preset:
    """One tool's commands, run in `release_dir` (the release being deployed by default; a
    manual rollback uses the live release, which knows the down migrations) against
    `database_url` (migrate.database_url by default; a rehearsal passes its scratch copy)."""

    name = ""
    executable = ""
    tracking_table = ""  # where the tool records what it applied

    def __init__(self, run: DeploymentRun, release_dir: Path | None = None,
                 database_url: str | None = None, label: str = ""):
        self.run = run
        self.release_dir = release_dir or (
            run.layout.release_dir(run.release_id) if run.release_id else None)
        self.database_url = database_url
        self.label = label  # e.g. "rehearse ": what the log shows before each command

    def current(self) -> str:
        raise NotImplementedError

    def up(self) -> None:
        raise NotImplementedError

    def down_to(self, revision: str) -> None:
        raise NotImplementedError

    def pending(self) -> list[PendingMigration]:
        raise NotImplementedError

    def _tool(self, label: str, *args: str, check: bool = True) -> ProcessResult:
        argv = [find_tool(self.run, self.executable, self.release_dir), *args]
        label = self.label + label
        result = self.run.run(label, CommandSpec(argv), timeout=step_timeout(self.run),
                              env=tool_env(self.run, self.release_dir, self.database_url),
                              check=False, cwd=self.release_dir)
        if check and not result.ok:
            raise StepFailed(f"{label}: {result.describe()}{_timeout_hint(self.run, result)}")
        return result

    def _dir(self) -> Path:
        if self.release_dir is None:
            raise StepFailed("migrate: no release directory to read the migrations from")
        return self.release_dir


class Alembic(Preset):
    """`alembic upgrade head`, `alembic current`, `alembic downgrade <rev>|base`."""

    name = executable = "alembic"
    tracking_table = "alembic_version"
    _REVISION = re.compile(r"^([0-9A-Za-z_]+)(?: \(head\)| \(mergepoint\)| \(branchpoint\))*$")

    def current(self) -> str:
        result = self._tool("migrate current", "current")
        revisions = [m.group(1) for line in _lines(result.output_tail)
                     if (m := self._REVISION.match(line))]
        return revisions[-1] if revisions else ""

    def up(self) -> None:
        self._tool("migrate up", "upgrade", "head")

    def down_to(self, revision: str) -> None:
        self._tool("migrate down", "downgrade", revision or "base")

    def pending(self) -> list[PendingMigration]:
        current = self.current()
        scripts = []
        for directory in self._version_dirs():
            for path in sorted(directory.glob("*.py")):
                script = alembic_script(path)
                if script is not None:
                    scripts.append(script)
        return alembic_pending(scripts, current)

    def _version_dirs(self) -> list[Path]:
        root = self._dir()
        parser = configparser.ConfigParser(defaults={"here": str(root)})
        parser.read(root / "alembic.ini")
        location = parser.get("alembic", "script_location", fallback="migrations")
        extra = parser.get("alembic", "version_locations", fallback="")
        dirs = [root / Path(location) / "versions"]
        dirs += [root / Path(p) for p in re.split(r"[\s,:;]+", extra) if p]
        return [d for d in dirs if d.is_dir()]


class Confiture(Preset):
    """`confiture migrate up|current|down-to|status` (FraiseQL's migration tool)."""

    name = executable = "confiture"
    tracking_table = "tb_confiture"
    MIGRATIONS = Path("db/migrations")

    def current(self) -> str:
        result = self._tool("migrate current", "migrate", "current", "--no-config", check=False)
        if result.returncode == CONFITURE_NOT_INITIALIZED:
            return ""  # no tracking table yet: nothing applied
        if not result.ok:
            raise StepFailed(f"confiture migrate current: {result.describe()}")
        lines = _lines(result.output_tail)
        return lines[-1] if lines else ""

    def up(self) -> None:
        self._tool("migrate up", "migrate", "up", "--no-config")

    def down_to(self, revision: str) -> None:
        if revision:
            args = ["migrate", "down-to", revision, "--no-config"]
        else:
            # Nothing was applied before: undo every migration applied since.
            applied = self._applied()
            if applied == 0:
                return
            args = ["migrate", "down", "--steps", str(applied), "--no-config"]
        result = self._tool("migrate down", *args, check=False)
        if result.returncode == CONFITURE_IRREVERSIBLE:
            raise Irreversible(f"database left at the new revision: confiture cannot go back "
                               f"to {revision or 'nothing'} (a .down.sql is missing)")
        if not result.ok:
            raise StepFailed(f"migrate down: {result.describe()}")

    def pending(self) -> list[PendingMigration]:
        result = self._tool("migrate pending", "migrate", "status", "--format", "json",
                            "--no-config", check=False)
        if result.returncode not in (0, CONFITURE_PENDING, CONFITURE_NOT_INITIALIZED):
            raise StepFailed(f"confiture migrate status: {result.describe()}")
        report = _json_object(result.output_tail)
        if report is None:
            raise StepFailed("confiture migrate status printed no JSON report")
        names = {str(m.get("version")): str(m.get("name")) for m in report.get("migrations", [])}
        directory = self._dir() / self.MIGRATIONS
        return [confiture_migration(directory, str(version), names.get(str(version), ""))
                for version in report.get("pending", [])]

    def _applied(self) -> int:
        """Rows in confiture's tracking table: what `down --steps` must undo from nothing."""
        import psycopg

        url = self.database_url or (self.run.target.migrate.database_url
                                    if self.run.target.migrate else None)
        try:
            with psycopg.connect(url or "", connect_timeout=10) as conn:
                row = conn.execute("SELECT count(*) FROM tb_confiture").fetchone()
                return int(row[0]) if row else 0
        except psycopg.Error:
            return 0


def _json_object(output: str) -> dict[str, Any] | None:
    start = output.find("{")
    end = output.rfind("}")
    if start < 0 or end < start:
        return None
    try:
        value = json.loads(output[start:end + 1])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class Django(Preset):
    """`manage.py migrate`, `manage.py showmigrations --plan`, `manage.py migrate APP NAME`.

    Django has one revision per app, so the recorded revision is a JSON object
    {app: last applied migration or "zero"}.
    """

    name = "django"
    executable = "python3"
    tracking_table = "django_migrations"
    _PLAN = re.compile(r"^\[(?P<mark>[X ])\]\s+(?P<app>[\w.]+)\.(?P<name>\w+)")

    def _plan(self) -> list[tuple[bool, str, str]]:
        result = self._tool("migrate current", "manage.py", "showmigrations", "--plan")
        return [(m["mark"] == "X", m["app"], m["name"]) for line in _lines(result.output_tail)
                if (m := self._PLAN.match(line))]

    def _state(self) -> dict[str, str]:
        state: dict[str, str] = {}
        for applied, app, name in self._plan():
            state.setdefault(app, "zero")
            if applied:
                state[app] = name
        return state

    def current(self) -> str:
        return json.dumps(self._state(), sort_keys=True)

    def up(self) -> None:
        self._tool("migrate up", "manage.py", "migrate", "--noinput")

    def down_to(self, revision: str) -> None:
        before = json.loads(revision or "{}")
        for app, name in self._state().items():
            wanted = before.get(app, "zero")
            if wanted != name:
                self._tool(f"migrate down {app}", "manage.py", "migrate", app, wanted,
                           "--noinput")

    def pending(self) -> list[PendingMigration]:
        # Django's own loader says what is unapplied, and each operation's `reversible`
        # (False for RunPython without reverse_code, RunSQL without reverse_sql).
        result = self._tool("migrate pending", "manage.py", "shell", "-c", _DJANGO_PENDING)
        report = _json_object(result.output_tail)
        if report is None:
            raise StepFailed("manage.py shell printed no list of pending migrations")
        found = []
        for app, name, irreversible in report.get("pending", []):
            why = ", ".join(f"{op} without reverse" for op in irreversible)
            found.append(PendingMigration(f"{app}.{name}", not irreversible, why))
        return found


_DJANGO_PENDING = """
import json
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
executor = MigrationExecutor(connection)
plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
print(json.dumps({"pending": [
    [m.app_label, m.name, [type(op).__name__ for op in m.operations if not op.reversible]]
    for m, backwards in plan if not backwards]}))
"""


PRESETS: dict[str, type[Preset]] = {p.name: p for p in (Alembic, Confiture, Django)}
