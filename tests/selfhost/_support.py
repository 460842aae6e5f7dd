"""What several self-hosting tests need: a local git repository with one commit."""

from __future__ import annotations

import subprocess
from pathlib import Path


def one_commit_repository(root: Path) -> Path:
    """`root/repo`: a git repository on branch main with one commit."""
    repo = root / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "README").write_text("hello\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first"], check=True)
    return repo
