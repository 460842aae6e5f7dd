"""The file `fraisier init` writes must load as-is."""

from __future__ import annotations

from pathlib import Path

from fraisier.config import STARTER_CONFIG, CommandSpec, load_config


def write_starter(tmp_path: Path) -> Path:
    path = tmp_path / "fraises.yaml"
    path.write_text(STARTER_CONFIG, encoding="utf-8")
    return path


def test_starter_loads_without_any_environment(tmp_path: Path):
    config = load_config(write_starter(tmp_path), environ={})
    assert [t.name for t in config.targets()] == ["web/staging", "web/production"]
    staging = config.target("web", "staging")
    production = config.target("web", "production")
    assert (staging.branch, production.branch) == ("develop", "main")
    assert production.restart == CommandSpec(["systemctl", "restart", "web"], False)
    assert production.health_check.url == "http://127.0.0.1:8000/health"
    assert staging.install is not None and staging.build.shell
    assert production.migrate.tool == "django"  # a preset: it knows how to go back down
    assert config.state.url == f"sqlite:///{tmp_path.resolve()}/.fraisier/state.db"
    assert config.git.github.webhook_secret is None


def test_starter_takes_its_variables_from_the_environment(tmp_path: Path):
    config = load_config(
        write_starter(tmp_path),
        environ={
            "WEB_REPOSITORY": "git@example.com:me/web.git",
            "GITHUB_WEBHOOK_SECRET": "s3cret",
            "FRAISIER_STATE_URL": "postgresql://db/fraisier",
        },
    )
    assert config.fraises["web"].repository == "git@example.com:me/web.git"
    assert config.git.github.webhook_secret.get_secret_value() == "s3cret"
    assert config.state.url == "postgresql://db/fraisier"


def test_starter_documents_its_keys():
    # A starter without comments would not teach anything.
    comments = [line for line in STARTER_CONFIG.splitlines() if line.lstrip().startswith("#")]
    assert len(comments) >= 10
    assert "${" in STARTER_CONFIG and ":-" in STARTER_CONFIG
