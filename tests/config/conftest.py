"""Fixtures that write real configuration files into tmp_path."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from fraisier.config import ConfigError, FraisierConfig, load_config


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    def write(text: str, name: str = "fraises.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def load(write_config: Callable[..., Path]) -> Callable[..., FraisierConfig]:
    def _load(text: str, environ: dict[str, str] | None = None) -> FraisierConfig:
        return load_config(write_config(text), environ=environ or {})

    return _load


@pytest.fixture
def problems_of(write_config: Callable[..., Path]) -> Callable[..., list]:
    """Load a config that must fail and return its problems."""

    def _problems(text: str, environ: dict[str, str] | None = None) -> list:
        with pytest.raises(ConfigError) as info:
            load_config(write_config(text), environ=environ or {})
        return info.value.problems

    return _problems
