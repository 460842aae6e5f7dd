"""A real git repository and a fraises.yaml per test, deployed with the real engine.

The `project` fixture lives in conftest.py; helpers are imported from here."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from fraisier.config import load_config
from fraisier.domain.model import Trigger
from fraisier.engine.service import open_state, request_deployment
from fraisier.worker.inline import deploy_now

PYTHON = sys.executable


def git(repo: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@localhost",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@localhost")
    return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True,
                          check=True).stdout


@dataclass
class Project:
    root: Path
    repo: Path
    config_path: Path
    stores: list

    def commit(self, files: dict[str, str | None], message: str = "change") -> str:
        for name, content in files.items():
            path = self.repo / name
            if content is None:
                path.unlink(missing_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(textwrap.dedent(content))
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-q", "--allow-empty", "-m", message)
        return git(self.repo, "rev-parse", "HEAD").strip()

    def configure(self, yaml_text: str) -> None:
        text = textwrap.dedent(yaml_text).format(repo=self.repo, root=self.root, python=PYTHON)
        self.config_path.write_text(text)

    @property
    def config(self):
        return load_config(self.config_path)

    def store(self):
        store = open_state(self.config)
        self.stores.append(store)
        return store

    def deploy(self, fraise: str, env: str = "production", commit: str | None = None):
        config = self.config
        store = self.store()
        record = request_deployment(store, config, fraise, env, trigger=Trigger.CLI,
                                    commit=commit, force=True)
        return deploy_now(store, config, record.id)

    def target(self, fraise: str, env: str = "production"):
        return self.config.target(fraise, env)


def step(record, name: str):
    return next(s for s in record.steps if s.name == name)


def public_tables(url: str) -> set[str]:
    """The tables of a PostgreSQL database's public schema."""
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row[0] for row in rows}
