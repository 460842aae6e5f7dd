"""The inner parts (domain, config, store, providers, engine) import nothing above them and
no web framework, not even lazily inside a function: the CLI, the server and the dashboard
are shells over them, never the other way round."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "fraisier"
INNER = ("domain", "config", "store", "providers", "engine")
ABOVE = ("kinds", "rollout", "worker", "api", "server", "cli", "dashboard", "notify",
         "previews", "planner", "selfhost", "doctor", "metrics", "ingest", "demo")
WEB = ("starlette", "fastapi", "strawberry", "uvicorn")


def imported_names(path: Path) -> list[tuple[int, str]]:
    """Every module `path` imports, with the line, wherever the import statement is."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def forbidden(module: str) -> bool:
    parts = module.split(".")
    if parts[0] in WEB:
        return True
    return parts[0] == "fraisier" and len(parts) > 1 and parts[1] in ABOVE


@pytest.mark.parametrize("inner", INNER)
def test_an_inner_part_imports_nothing_above_it(inner: str) -> None:
    offending = [f"{path.relative_to(PACKAGE)}:{line} imports {module}"
                 for path in sorted((PACKAGE / inner).rglob("*.py"))
                 for line, module in imported_names(path) if forbidden(module)]
    assert offending == []


def test_the_check_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    source = tmp_path / "lazy.py"
    source.write_text("def f():\n    from fraisier.cli.main import cli\n    import uvicorn\n")
    assert [module for _, module in imported_names(source) if forbidden(module)] == [
        "fraisier.cli.main", "uvicorn"]
