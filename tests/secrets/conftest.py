from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from fraisier.config import load_config
from fraisier.domain.redaction import REDACTOR
from fraisier.secrets import clear_cache


@pytest.fixture(autouse=True)
def _fresh_secrets() -> Iterator[None]:
    clear_cache()
    REDACTOR.forget_all()
    yield
    clear_cache()
    REDACTOR.forget_all()


def write_config(directory: Path, secrets: str, env: dict[str, str], **extra: str) -> Path:
    """A one-fraise fraises.yaml whose `env` holds the given references; `extra` adds keys to
    the fraise (written as YAML as they are)."""
    repository = extra.pop("repository", str(directory / "repo"))
    env_lines = "".join(f"      {name}: {value!r}\n" for name, value in env.items())
    text = (f"state:\n  url: sqlite:///{directory}/state.db\n"
            + (f"secrets:\n{textwrap.indent(textwrap.dedent(secrets), '  ')}" if secrets else "")
            + "fraises:\n  shop:\n"
            + f"    repository: {repository}\n"
            + "".join(f"    {key}: {value}\n" for key, value in extra.items())
            + ("    env:\n" + env_lines if env else "")
            + f"    environments:\n      production: {{branch: main, app_path: {directory}/app}}\n")
    path = directory / "fraises.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def config_with(tmp_path: Path):
    def make(secrets: str, env: dict[str, str], **extra: str):
        return load_config(write_config(tmp_path, secrets, env, **extra))
    return make
