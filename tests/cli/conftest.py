"""Workspaces for the CLI tests: a real git repository, a config, and a sample app that is
always stopped afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fraisier.demo import Workspace, make_workspace


@pytest.fixture
def new_workspace(tmp_path: Path) -> Iterator[Callable[..., Workspace]]:
    made: list[Workspace] = []

    def make(name: str = "ws") -> Workspace:
        workspace = make_workspace(tmp_path / name)
        made.append(workspace)
        return workspace

    try:
        yield make
    finally:
        for workspace in made:
            workspace.stop_app()


@pytest.fixture
def workspace(new_workspace: Callable[..., Workspace]) -> Workspace:
    return new_workspace()
