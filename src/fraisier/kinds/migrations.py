"""The one place that knows how to take a database forward and back.

Every path goes through here: a deployment's `migrate` step and its compensation, a manual
`fraisier rollback --migrate-down`, the recovery of a deployment whose worker died (it
rebuilds the same `migrate` step), a rollout strategy (which only says where the raw commands
run), and `fraisier migrations`.

- A preset (`migrate.tool` without a raw `up`) uses the tool's own commands
  (kinds/migration_presets.py); raw `up` / `down` / `status` / `pending` commands otherwise.
- Before touching the database the pending migrations are listed with whether each can be
  undone (a preset always knows; raw commands when `migrate.pending` is set). An irreversible
  one stops the deployment unless `migrate.allow_irreversible` is true; then a later failure
  says the database could not be taken back instead of trying.
- The ledger row of `migrate` is written as the step goes: `phase: checking` first, then the
  revision before (`revision_before`) and `phase: up` just before the database changes. A
  compensation or a recovery that finds `checking` knows there is nothing to undo.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from fraisier.config.commands import CommandSpec
from fraisier.config.model import MigrateConfig
from fraisier.engine.context import DeploymentRun
from fraisier.engine.process import ProcessResult, StartedProcess
from fraisier.engine.saga import Irreversible, SkipStep, Step, StepFailed
from fraisier.kinds.migration_presets import PRESETS, Preset
from fraisier.kinds.migration_tools import step_timeout
from fraisier.kinds.reversibility import PendingMigration, parse_pending_lines

if TYPE_CHECKING:
    from fraisier.config import Target

NOTHING_TO_UNDO = "nothing to undo: migrate stopped before it changed the database"


class Commands(Protocol):
    """Runs one raw migrate command where the migrations run (this machine's release, a
    rollout host, a rollout's packaged tree), with `extra` added to its environment."""

    def __call__(self, label: str, command: CommandSpec, extra: dict[str, str]
                 ) -> ProcessResult: ...


def local_commands(run: DeploymentRun, release_dir: Path | None = None) -> Commands:
    def execute(label: str, command: CommandSpec, extra: dict[str, str]) -> ProcessResult:
        return run.run(label, command, cwd=release_dir, timeout=step_timeout(run),
                       env=run.env(release_dir=release_dir, **extra))
    return execute


def _config(run: DeploymentRun) -> MigrateConfig | None:
    return run.target.migrate


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def preset_for(run: DeploymentRun, release_dir: Path | None = None,
               database_url: str | None = None, label: str = "") -> Preset:
    migrate = _config(run)
    assert migrate is not None and migrate.tool is not None
    return PRESETS[migrate.tool](run, release_dir, database_url, label)


# -- what is pending --------------------------------------------------------------------------
def pending(run: DeploymentRun, commands: Commands | None = None,
            release_dir: Path | None = None) -> list[PendingMigration] | None:
    """The migrations `up` would apply, oldest first, or None when that cannot be known (raw
    commands without `migrate.pending`)."""
    migrate = _config(run)
    if migrate is None:
        return []
    if migrate.preset:
        return preset_for(run, release_dir).pending()
    if migrate.pending is None:
        return None
    commands = commands or local_commands(run, release_dir)
    return parse_pending_lines(commands("migrate pending", migrate.pending, {}).output_tail)


def irreversible_refusal(found: list[PendingMigration]) -> str:
    names = "; ".join(p.describe() for p in found if not p.reversible)
    return (f"irreversible pending migration(s): {names}; the database was not touched "
            f"(set migrate.allow_irreversible: true to apply them anyway)")


# -- forward ------------------------------------------------------------------------------------
def migrate_up(run: DeploymentRun, commands: Commands | None = None) -> dict[str, Any]:
    """The `migrate` step. `commands` says where the raw commands run (a rollout's host);
    a preset always runs here, in the release (the configuration refuses it with a rollout)."""
    migrate = _config(run)
    if migrate is None or (migrate.up is None and not migrate.preset):
        raise SkipStep("no migrate.up configured")
    if migrate.preset and commands is not None:
        raise StepFailed(f"migrate.tool {migrate.tool} cannot run through a rollout")
    commands = commands or local_commands(run)
    run.note_step("migrate", phase="checking")
    data: dict[str, Any] = {"tool": migrate.tool} if migrate.preset else {}
    found = pending(run, commands)
    if found is not None:
        data["pending"] = [p.as_dict() for p in found]
        run.log("pending migrations: " + (", ".join(p.describe() for p in found) or "none"))
        irreversible = [p.name for p in found if not p.reversible]
        if irreversible and not migrate.allow_irreversible:
            raise StepFailed(irreversible_refusal(found))
        if irreversible:
            data["irreversible"] = irreversible
            run.note_step("migrate", irreversible=irreversible)
        if migrate.rehearse and found:
            from fraisier.kinds.rehearsal import rehearse

            data["rehearsal"] = rehearse(run)
    if migrate.preset:
        return {**data, **_preset_up(run)}
    return {**data, **_raw_up(run, migrate, commands)}


def _preset_up(run: DeploymentRun) -> dict[str, Any]:
    preset = preset_for(run)
    before = preset.current()
    run.options["revision_before"] = before
    run.note_step("migrate", revision_before=before, phase="up")
    run.log(f"database revision before migrate: {before or '(none)'}")
    data: dict[str, Any] = {"revision_before": before}
    try:
        preset.up()
    finally:
        # Even a half-applied `up` must be undoable: know where it stopped.
        after = preset.current()
        data["revision_after"] = after
    run.log(f"database revision after migrate: {after or '(none)'}")
    return data


def _raw_up(run: DeploymentRun, migrate: MigrateConfig, commands: Commands) -> dict[str, Any]:
    assert migrate.up is not None
    data: dict[str, Any] = {}
    if migrate.status is not None:
        # Record where the database was, so `down` can return exactly there.
        data["revision_before"] = _last_line(
            commands("migrate status", migrate.status, {}).output_tail)
        run.note_step("migrate", revision_before=data["revision_before"])
    run.note_step("migrate", phase="up")
    commands("migrate up", migrate.up, {})
    run.options["revision_before"] = data.get("revision_before", "")
    if migrate.status is not None:
        # What `fraisier rollback --migrate-down` to this release goes back to.
        data["revision_after"] = _last_line(
            commands("migrate status", migrate.status, {}).output_tail)
    return data


# -- back ---------------------------------------------------------------------------------------
def _recorded(run: DeploymentRun) -> dict[str, Any]:
    """What the `migrate` step of this deployment noted (after a crash, from the ledger)."""
    noted: dict[str, Any] = {}
    if run.store is not None:
        for step in run.store.ledger.steps(run.deployment_id):
            if step.name == "migrate":
                noted.update(step.data)
    if "revision_before" in run.options:
        noted["revision_before"] = run.options["revision_before"]
    return noted


def take_back(run: DeploymentRun, commands: Commands | None = None) -> None:
    """The compensation of `migrate`: the database back to the revision before it."""
    migrate = _config(run)
    assert migrate is not None
    noted = _recorded(run)
    if noted.get("phase") == "checking":
        run.log(NOTHING_TO_UNDO)
        return
    if noted.get("irreversible"):
        raise Irreversible("the database could not be taken back: irreversible migration(s) "
                           "applied (migrate.allow_irreversible): "
                           + ", ".join(noted["irreversible"]))
    if migrate.preset:
        if "revision_before" not in noted:
            # The revision is noted before `up` begins: without it, `up` never ran.
            run.log(NOTHING_TO_UNDO)
            return
        preset_for(run).down_to(str(noted["revision_before"]))
        return
    if migrate.down is None:
        raise Irreversible("database not rolled back (no migrate.down configured)")
    commands = commands or local_commands(run)
    commands("migrate down", migrate.down,
             {"FRAISIER_MIGRATE_REVISION": str(noted.get("revision_before", ""))})


def back_to_release(run: DeploymentRun) -> dict[str, Any]:
    """`fraisier rollback --migrate-down`: put the database at the revision the release we go
    back to left it at (recorded by the deployment that made that release), running the
    down migrations of the live release, which knows them."""
    migrate = _config(run)
    if migrate is None or (migrate.down is None and not migrate.preset):
        raise StepFailed("--migrate-down was asked but no migrate.down is configured")
    target = run.target
    assert run.release_id
    release = run.store.releases.get(target.fraise, target.environment, run.release_id)
    steps = run.store.ledger.steps(release.deployment_id) if release and \
        release.deployment_id else []
    recorded = [s.data for s in steps if s.name == "migrate" and "revision_after" in s.data]
    live = run.layout.release_dir(run.previous_release_id) if run.previous_release_id else None
    if migrate.preset:
        if not recorded:
            raise StepFailed(f"no database revision was recorded for release {run.release_id} "
                             f"(its deployment did not run the migrate step)")
        revision = str(recorded[0]["revision_after"])
        run.log(f"database back to revision {revision or '(none)'}")
        preset_for(run, live).down_to(revision)
        return {"tool": migrate.tool, "revision": revision}
    assert migrate.down is not None
    revision = str(recorded[0]["revision_after"]) if recorded else ""
    run.log(f"database back to revision {revision or '(not recorded: no migrate.status)'}")
    local_commands(run, live)("migrate down", migrate.down,
                              {"FRAISIER_MIGRATE_REVISION": revision})
    return {"revision": revision}


def migrate_step(run: DeploymentRun) -> Step:
    """The `migrate` step of a single-machine plan."""
    migrate = _config(run)
    # A preset's compensate_on_failure: an `up` that stopped half-way (one migration applied,
    # the next failed) is taken back to the revision before too.
    return Step("migrate", lambda: migrate_up(run), compensate=lambda: take_back(run),
                compensate_on_failure=migrate is not None and migrate.preset)


# -- `fraisier migrations` ------------------------------------------------------------------------
class _Listing(DeploymentRun):
    """A run outside any deployment: the read-only commands that list pending migrations
    log nowhere and are not tracked in the ledger."""

    def log(self, line: str) -> None:
        pass

    def _track(self, label: str) -> Callable[[StartedProcess], None]:
        return lambda process: None

    def _untrack(self) -> None:
        pass


def list_pending(target: Target, data_dir: Path, ref: str | None = None
                 ) -> tuple[str, list[PendingMigration] | None]:
    """What a deployment of `ref` (default: the branch's tip) would apply to the database:
    (commit, pending migrations or None when the raw commands cannot tell). The commit is
    checked out into a scratch directory; the tools come from the live release's `.venv`
    when the checkout has none (nothing is installed for a listing)."""
    run = _Listing(store=None, target=target, deployment_id=0,  # type: ignore[arg-type]
                   data_dir=data_dir)
    run.mirror.fetch()
    sha = run.mirror.resolve(ref or target.branch)
    run.commit_sha = sha
    scratch = data_dir / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        checkout = Path(tmp) / "release"
        run.mirror.materialize(sha, checkout)
        live = run.layout.current_release_id()
        live_venv = run.layout.release_dir(live) / ".venv" if live else None
        if live_venv is not None and live_venv.is_dir() and not (checkout / ".venv").exists():
            (checkout / ".venv").symlink_to(live_venv)
        return sha, pending(run, release_dir=checkout)
