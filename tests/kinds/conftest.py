"""Fixtures for the fraise-type tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from _kinds_support import Project, git


@pytest.fixture
def project(tmp_path: Path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    made = Project(tmp_path, repo, tmp_path / "fraises.yaml", [])
    made.commit({"README": "project\n"}, "first")
    yield made
    for store in made.stores:
        store.close()
