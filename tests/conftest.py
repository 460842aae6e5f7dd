"""Test-suite wiring only; the fixtures themselves live in tests/support."""

import sys
from pathlib import Path

# `tests` is not a package, so `tests.support` is importable only with the repo
# root on sys.path; `python -m pytest` adds it but a bare `pytest` does not.
_REPO_ROOT = str(Path(__file__).resolve().parent.parent)
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

pytest_plugins = ["tests.support.fixtures"]
