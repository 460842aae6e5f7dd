"""Can a migration be undone? Read from its source, never by running it.

- Alembic: a `downgrade()` whose body does nothing (only `pass`, `...`, a docstring) or only
  raises cannot take the database back.
- confiture: an SQL migration needs its `.down.sql` beside the `.up.sql`; a Python migration
  needs a `down()` that does something.
- Django is asked itself (kinds/migration_presets.py): an operation whose `reversible` is
  false (`RunPython` without `reverse_code`, `RunSQL` without `reverse_sql`) cannot be undone.

Python sources are parsed with `ast`: importing a migration would run its module code.
"""

from __future__ import annotations

import ast
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class PendingMigration:
    name: str
    reversible: bool
    why: str = ""  # why it cannot be undone

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        return self.name + ("" if self.reversible else f" ({self.why})")


def _parse(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None


def _does_nothing(body: list[ast.stmt]) -> str | None:
    """Why a function body cannot undo anything, or None when it does something."""
    useful = [stmt for stmt in body
              if not isinstance(stmt, ast.Pass)
              and not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant))]
    if not useful:
        return "empty"
    if all(isinstance(stmt, ast.Raise) for stmt in useful):
        return "only raises"
    return None


def _function(tree: ast.AST, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return node
    return None


# -- alembic --------------------------------------------------------------------------------
@dataclass(frozen=True)
class AlembicScript:
    revision: str
    down_revisions: tuple[str, ...]
    reversible: bool
    why: str


def alembic_script(path: Path) -> AlembicScript | None:
    tree = _parse(path)
    if tree is None:
        return None
    values: dict[str, Any] = {}
    for node in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        for target in targets:
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                try:
                    values[target.id] = ast.literal_eval(value) if value is not None else None
                except ValueError:
                    values[target.id] = None
    revision = values.get("revision")
    if not isinstance(revision, str):
        return None
    down = values.get("down_revision")
    downs = tuple(down) if isinstance(down, list | tuple) else ((down,) if down else ())
    function = _function(tree, "downgrade")
    why = "no downgrade()" if function is None else _does_nothing(function.body)
    return AlembicScript(revision, tuple(str(d) for d in downs), why is None,
                         f"downgrade() {why}" if why and function is not None else why or "")


def alembic_pending(scripts: list[AlembicScript], current: str) -> list[PendingMigration]:
    """The scripts not yet applied when the database is at `current`, oldest first."""
    by_revision = {script.revision: script for script in scripts}
    applied: set[str] = set()
    stack = [current] if current else []
    while stack:
        revision = stack.pop()
        if revision in applied or revision not in by_revision:
            continue
        applied.add(revision)
        stack.extend(by_revision[revision].down_revisions)
    depth: dict[str, int] = {}

    def depth_of(revision: str, seen: frozenset[str] = frozenset()) -> int:
        if revision not in depth:
            script = by_revision.get(revision)
            parents = [d for d in script.down_revisions if d not in seen] if script else []
            depth[revision] = 1 + max((depth_of(p, seen | {revision}) for p in parents),
                                      default=0)
        return depth[revision]

    pending = sorted((s for s in scripts if s.revision not in applied),
                     key=lambda s: (depth_of(s.revision), s.revision))
    return [PendingMigration(s.revision, s.reversible, s.why) for s in pending]


# -- confiture ------------------------------------------------------------------------------
def confiture_migration(directory: Path, version: str, name: str) -> PendingMigration:
    stem = f"{version}_{name}"
    label = stem
    up_sql = directory / f"{stem}.up.sql"
    if up_sql.exists():
        if (directory / f"{stem}.down.sql").exists():
            return PendingMigration(label, True)
        return PendingMigration(label, False, f"no {stem}.down.sql")
    source = directory / f"{stem}.py"
    tree = _parse(source) if source.exists() else None
    if tree is None:
        return PendingMigration(label, False, f"neither {stem}.down.sql nor a readable {stem}.py")
    function = _function(tree, "down")
    if function is None:
        return PendingMigration(label, False, "no down()")
    why = _does_nothing(function.body)
    return PendingMigration(label, why is None, f"down() {why}" if why else "")


# -- raw `migrate.pending` ------------------------------------------------------------------
def parse_pending_lines(output: str) -> list[PendingMigration]:
    """`migrate.pending` prints one pending migration a line: `NAME` or `NAME irreversible`."""
    found: list[PendingMigration] = []
    for line in output.splitlines():
        words = line.split()
        if not words:
            continue
        if len(words) > 1 and words[-1].lower() == "irreversible":
            found.append(PendingMigration(" ".join(words[:-1]), False,
                                          "marked irreversible by migrate.pending"))
        else:
            found.append(PendingMigration(" ".join(w for w in words
                                                   if w.lower() != "reversible"), True))
    return found
