"""config.target(): layering of top-level defaults, fraise and environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from _config_support import MINIMAL

from fraisier.config import CommandSpec, ConfigError, Target, UnknownTarget
from fraisier.domain import FraiseType

LAYERED = """\
git:
  github: {webhook_secret: top-github}
  gitlab: {secret_token: top-gitlab}
environments:
  production:
    keep_releases: 10
    timeout: 300
    tags: "v*"
    systemd_service: app
    health_check: {tcp: "127.0.0.1:9000"}
    install: [default-install]
    migrate: {database_url: postgresql://db/prod, tool: alembic}
    env: {LEVEL: defaults, FROM_DEFAULTS: "1"}
  staging:
    restart: [restart-staging]
    env: {LEVEL: defaults}
fraises:
  web:
    type: etl
    description: The web
    repository: ../repos/web
    install: [fraise-install]
    build: make
    migrate: {up: [migrate, up], tool: django}
    env: {LEVEL: fraise, FROM_FRAISE: "1"}
    git:
      github: {webhook_secret: fraise-github}
    environments:
      production:
        branch: main
        app_path: apps/web
        env: {LEVEL: environment}
      staging:
        branch: "release/*"
        app_path: /srv/web-staging
        paths: ["src/**"]
        keep_releases: 2
        timeout: 30
        install: null
        restart: {shell: "kill -HUP 1"}
        migrate: {down: [migrate, down]}
        git:
          gitlab: {secret_token: env-gitlab}
  api:
    repository: git@github.com:acme/api.git
    environments:
      production:
        branch: main
        app_path: /srv/api
        systemd_service: api-server
"""


@pytest.fixture
def config(load):
    return load(LAYERED)


def test_environment_inherits_top_level_defaults(config, tmp_path: Path):
    target = config.target("web", "production")
    assert isinstance(target, Target)
    assert target.type is FraiseType.ETL
    assert target.description == "The web"
    assert target.branch == "main"
    assert target.tags == "v*"
    assert target.keep_releases == 10
    assert target.timeout == 300
    assert target.health_check.tcp == "127.0.0.1:9000"
    assert target.restart == CommandSpec(["systemctl", "restart", "app"], False)
    assert target.name == "web/production"


def test_fraise_level_beats_top_level_defaults(config):
    target = config.target("web", "production")
    assert target.install == CommandSpec(["fraise-install"], False)
    assert target.build == CommandSpec(["make"], False)


def test_environment_beats_everything(config):
    target = config.target("web", "staging")
    assert target.branch == "release/*"
    assert target.paths == ("src/**",)
    assert target.keep_releases == 2
    assert target.timeout == 30
    assert target.restart == CommandSpec(["/bin/sh", "-c", "kill -HUP 1"], True)


def test_explicit_null_switches_a_step_off(config):
    assert config.target("web", "staging").install is None
    assert config.target("web", "production").install is not None


def test_built_in_defaults_when_nothing_is_set(load):
    target = load(MINIMAL).target("web", "production")
    assert (target.keep_releases, target.timeout) == (5, 600)
    assert (target.tags, target.paths) == (None, None)
    assert (target.install, target.build, target.migrate) == (None, None, None)
    assert (target.restart, target.health_check) == (None, None)
    assert target.env == {}
    assert target.secrets.github.webhook_secret is None


def test_fraise_environment_default_does_not_hide_top_level_default(config):
    # web/production writes neither keep_releases nor timeout: the built-in 5 and
    # 600 on EnvironmentConfig must not shadow environments.production's values.
    target = config.target("web", "production")
    assert (target.keep_releases, target.timeout) == (10, 300)


def test_env_merges_in_order(config):
    assert config.target("web", "production").env == {
        "LEVEL": "environment",
        "FROM_DEFAULTS": "1",
        "FROM_FRAISE": "1",
    }
    assert config.target("web", "staging").env == {"LEVEL": "fraise", "FROM_FRAISE": "1"}


def test_migrate_merges_key_by_key(config):
    production = config.target("web", "production").migrate
    assert production.up == CommandSpec(["migrate", "up"], False)
    assert production.tool == "django"  # fraise beats defaults
    assert production.database_url == "postgresql://db/prod"  # only defaults set it
    staging = config.target("web", "staging").migrate
    assert staging.up == CommandSpec(["migrate", "up"], False)
    assert staging.down == CommandSpec(["migrate", "down"], False)
    assert staging.database_url is None


def test_secrets_layer_per_provider_and_key(config):
    production = config.target("web", "production").secrets
    assert production.github.webhook_secret.get_secret_value() == "fraise-github"
    assert production.gitlab.secret_token.get_secret_value() == "top-gitlab"
    staging = config.target("web", "staging").secrets
    assert staging.gitlab.secret_token.get_secret_value() == "env-gitlab"
    assert staging.github.webhook_secret.get_secret_value() == "fraise-github"
    api = config.target("api", "production").secrets
    assert api.github.webhook_secret.get_secret_value() == "top-github"


def test_systemd_service_shorthand_wins_over_default_restart(config):
    assert config.target("api", "production").restart == CommandSpec(
        ["systemctl", "restart", "api-server"], False
    )


def test_relative_paths_resolve_against_config_dir(config, tmp_path: Path):
    target = config.target("web", "production")
    base = tmp_path.resolve()
    assert target.app_path == base / "apps" / "web"
    assert target.repository == str(base.parent / "repos" / "web")
    assert config.target("web", "staging").app_path == Path("/srv/web-staging")


def test_remote_repositories_are_left_alone(config):
    assert config.target("api", "production").repository == "git@github.com:acme/api.git"


def test_home_relative_app_path_is_expanded(load, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = load(MINIMAL.replace("/srv/web", "~/apps/web"))
    assert config.target("web", "production").app_path == tmp_path / "home" / "apps" / "web"


def test_targets_yields_every_pair_in_file_order(config):
    assert [t.name for t in config.targets()] == ["web/production", "web/staging", "api/production"]


def test_target_is_immutable(config):
    target = config.target("api", "production")
    with pytest.raises(AttributeError):
        target.branch = "dev"  # type: ignore[misc]


def test_unknown_fraise_lists_the_known_ones(config):
    with pytest.raises(UnknownTarget) as info:
        config.target("wbe", "production")
    assert str(info.value) == "unknown fraise 'wbe' (configured fraises: web, api)"
    assert isinstance(info.value, ConfigError)
    assert isinstance(info.value, KeyError)


def test_unknown_environment_lists_the_known_ones(config):
    with pytest.raises(KeyError) as info:
        config.target("api", "staging")
    assert str(info.value) == "fraise 'api' has no environment 'staging' (it has: production)"


def test_top_level_environment_defaults_carry_secrets(tmp_path):
    from fraisier.config import load_config

    path = tmp_path / "fraises.yaml"
    path.write_text(
        "git:\n  github:\n    webhook_secret: top\n"
        "environments:\n  production:\n    git:\n      github:\n        webhook_secret: env-default\n"
        "fraises:\n  web:\n    repository: /srv/git/web.git\n    environments:\n"
        "      production: {branch: main, app_path: /srv/web}\n"
        "      staging: {branch: develop, app_path: /srv/web-staging}\n")
    config = load_config(path)
    production = config.target("web", "production").secrets.provider("github")
    staging = config.target("web", "staging").secrets.provider("github")
    assert production.webhook_secret.get_secret_value() == "env-default"
    assert staging.webhook_secret.get_secret_value() == "top"
