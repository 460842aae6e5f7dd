"""fraises.example.yaml at the repository root: loads and resolves with its variables set,
covers every fraise type, several environments and a monorepo's branch_mapping, takes its
webhook secrets from ${VAR}; the README links it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from fraisier.config import ConfigError, load_config
from fraisier.domain.model import FraiseType

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "fraises.example.yaml"
# The variables the file requires (those without a default), outside its comments.
REQUIRED = {name for line in EXAMPLE.read_text().splitlines()
            for name in re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)\}", line.split(" #")[0])
            if not line.lstrip().startswith("#")}


@pytest.fixture
def example(tmp_path, monkeypatch):
    for name in REQUIRED:
        monkeypatch.setenv(name, f"value-of-{name.lower()}")
    monkeypatch.setenv("FRAISIER_DATA_DIR", str(tmp_path / "data"))
    copy = tmp_path / "fraises.yaml"
    shutil.copy(EXAMPLE, copy)
    return copy


def test_it_loads_with_its_variables_set(example):
    config = load_config(example)
    assert {FraiseType(f.type) for f in config.fraises.values()} == set(FraiseType)
    targets = list(config.targets())
    assert len({t.environment for t in targets}) >= 2
    assert len(targets) >= 10
    # A monorepo: several fraises of one repository, routed by branch_mapping too.
    repositories = [f.repository for f in config.fraises.values()]
    assert max(repositories.count(r) for r in repositories) >= 3
    assert config.branch_mapping


def test_webhook_secrets_come_from_variables(example):
    config = load_config(example)
    target = config.target("api", "staging")
    assert target.secrets.github.webhook_secret is not None
    assert (target.secrets.github.webhook_secret.get_secret_value()
            == "value-of-github_webhook_secret")
    production = config.target("api", "production")
    assert (production.secrets.github.webhook_secret.get_secret_value()
            == "value-of-github_production_webhook_secret")
    assert {"GITHUB_WEBHOOK_SECRET", "GITLAB_SECRET_TOKEN"} <= REQUIRED
    # No secret is written into the file itself.
    assert "webhook_secret: ${" in EXAMPLE.read_text()


def test_each_missing_variable_is_named(tmp_path, monkeypatch):
    for name in REQUIRED:
        monkeypatch.delenv(name, raising=False)
    copy = tmp_path / "fraises.yaml"
    shutil.copy(EXAMPLE, copy)
    with pytest.raises(ConfigError) as refused:
        load_config(copy)
    for name in REQUIRED:
        assert name in str(refused.value)


def test_the_readme_links_it():
    assert "](fraises.example.yaml)" in (ROOT / "README.md").read_text()
