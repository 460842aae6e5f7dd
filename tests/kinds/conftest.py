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


@pytest.fixture
def db_url(postgres_url, monkeypatch):
    """The test PostgreSQL database, also as ${DB_URL} for the configurations that name it."""
    monkeypatch.setenv("DB_URL", postgres_url)
    return postgres_url
