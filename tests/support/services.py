"""The "needs a service" rule for tests that depend on something outside Python.

Locally a missing tool should not block someone who only works on, say, the CLI,
so the test is skipped. In CI the environment is supposed to provide everything;
a missing service there means the CI set-up is broken, and a silent skip would
hide that, so the test fails instead.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

# Debian/Ubuntu keep the server binaries (initdb, pg_ctl, postgres) out of PATH,
# one directory per major version.
POSTGRES_LIB_DIR = Path("/usr/lib/postgresql")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1"}


def require(condition: bool, reason: str) -> None:
    """Skip (locally) or fail (in CI) the current test unless `condition` holds."""
    if condition:
        return
    if in_ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _version_key(path: Path) -> tuple[int, ...]:
    # "15" -> (15,), "9.6" -> (9, 6); anything else sorts last.
    parts = path.name.split(".")
    if not all(re.fullmatch(r"\d+", p) for p in parts):
        return (-1,)
    return tuple(int(p) for p in parts)


def postgres_bin_dirs() -> list[Path]:
    """Versioned PostgreSQL bin directories, newest first."""
    if not POSTGRES_LIB_DIR.is_dir():
        return []
    versions = [d for d in POSTGRES_LIB_DIR.iterdir() if (d / "bin").is_dir()]
    versions = [d for d in versions if _version_key(d) != (-1,)]
    versions.sort(key=_version_key, reverse=True)
    return [d / "bin" for d in versions]


def find_binary(name: str) -> str | None:
    """Path of `name` from PATH, else from the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    for bin_dir in postgres_bin_dirs():
        candidate = bin_dir / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def require_binary(name: str) -> str:
    """Return the path of executable `name`, or skip/fail the test (see `require`)."""
    path = find_binary(name)
    require(path is not None, f"required executable {name!r} not found on PATH")
    assert path is not None
    return path
