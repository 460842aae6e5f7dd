"""Where a migration preset finds its tool, and the environment it runs with.

A release that installs its dependencies into its own `.venv` migrates with the tool of that
release: `<release>/.venv/bin/<tool>` comes first, then `migrate.tool_path` (a directory),
then the command's PATH. The database URL reaches the tool as DATABASE_URL (and
CONFITURE_DATABASE_URL), never on a command line; on PostgreSQL the session settings
`lock_timeout` and `statement_timeout` reach it through PGOPTIONS, which libpq reads for
every connection the tool opens, so a migration waiting on a lock gives up instead of
stalling the application queued behind it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from fraisier.config.model import MigrateConfig
from fraisier.engine.context import DeploymentRun
from fraisier.engine.saga import StepFailed


def find_tool(run: DeploymentRun, name: str, release_dir: Path | None) -> str:
    """The executable `name` for a preset, or StepFailed naming every place looked in."""
    migrate = run.target.migrate
    places: list[Path] = []
    if release_dir is not None:
        places.append(release_dir / ".venv" / "bin")
    if migrate is not None and migrate.tool_path:
        tool_path = Path(migrate.tool_path)
        places.append(tool_path if tool_path.is_absolute() or release_dir is None
                      else release_dir / tool_path)
    for place in places:
        candidate = place / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    search = run.target.env.get("PATH") or os.environ.get("PATH", os.defpath)
    found = shutil.which(name, path=search)
    if found:
        return found
    looked = ", ".join(str(p) for p in places) + (", " if places else "") + "PATH"
    raise StepFailed(f"migrate: {name!r} not found (looked in {looked}); install it into the "
                     f"release's .venv or set migrate.tool_path")


def is_postgres(url: str | None) -> bool:
    return bool(url) and str(url).split(":", 1)[0] in ("postgres", "postgresql")


def step_timeout(run: DeploymentRun) -> float:
    migrate = run.target.migrate
    return (migrate.timeout if migrate is not None and migrate.timeout else None) or \
        run.target.timeout


def pg_options(run: DeploymentRun, migrate: MigrateConfig) -> str:
    """PGOPTIONS for a preset's sessions: the timeouts first, then whatever the fraise's
    own `env` sets (so an explicit PGOPTIONS there can still override them)."""
    statement = migrate.statement_timeout or step_timeout(run)
    ours = (f"-c lock_timeout={int(migrate.lock_timeout * 1000)} "
            f"-c statement_timeout={int(statement * 1000)}")
    theirs = run.target.env.get("PGOPTIONS", "")
    return f"{ours} {theirs}".strip()


def tool_env(run: DeploymentRun, release_dir: Path | None, database_url: str | None = None,
             **extra: str) -> dict[str, str]:
    """The environment of a preset's command (on top of the run's usual one); a rehearsal
    passes its scratch database as `database_url`."""
    migrate = run.target.migrate
    assert migrate is not None
    url = database_url or migrate.database_url
    values: dict[str, str] = {}
    if url:
        values.update(DATABASE_URL=url, CONFITURE_DATABASE_URL=url)
        if is_postgres(url):
            values["PGOPTIONS"] = pg_options(run, migrate)
    values.update(extra)
    return run.env(release_dir=release_dir, **values)
