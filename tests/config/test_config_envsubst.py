"""${VAR} substitution from the process environment and .env."""

from __future__ import annotations

from pathlib import Path

import pytest
from _config_support import MINIMAL

from fraisier.config import load_config

TEMPLATE = """\
fraises:
  web:
    repository: https://example.com/web.git
    env:
      DB_URL: ${DB_URL}
      MODE: ${MODE:-safe}
      LITERAL: "$${NOT_A_VAR} and $HOME"
    environments:
      production: {branch: main, app_path: /srv/web}
"""


def env_of(config):
    return config.fraises["web"].env


def test_variable_from_environment(load):
    config = load(TEMPLATE, environ={"DB_URL": "postgresql://db/app"})
    assert env_of(config)["DB_URL"] == "postgresql://db/app"


def test_default_used_when_unset_or_empty(load):
    assert env_of(load(TEMPLATE, environ={"DB_URL": "x"}))["MODE"] == "safe"
    assert env_of(load(TEMPLATE, environ={"DB_URL": "x", "MODE": ""}))["MODE"] == "safe"
    assert env_of(load(TEMPLATE, environ={"DB_URL": "x", "MODE": "fast"}))["MODE"] == "fast"


def test_escape_and_bare_dollar_are_left_literal(load):
    config = load(TEMPLATE, environ={"DB_URL": "x", "NOT_A_VAR": "oops", "HOME": "/root"})
    assert env_of(config)["LITERAL"] == "${NOT_A_VAR} and $HOME"


def test_dotenv_file_next_to_config(write_config, tmp_path: Path):
    (tmp_path / ".env").write_text("DB_URL=from-dotenv\nMODE=dotenv-mode\n")
    config = load_config(write_config(TEMPLATE), environ={})
    assert env_of(config)["DB_URL"] == "from-dotenv"
    assert env_of(config)["MODE"] == "dotenv-mode"


def test_process_environment_beats_dotenv(write_config, tmp_path: Path):
    (tmp_path / ".env").write_text("DB_URL=from-dotenv\n")
    config = load_config(write_config(TEMPLATE), environ={"DB_URL": "from-process"})
    assert env_of(config)["DB_URL"] == "from-process"


def test_default_environ_is_the_process_environment(write_config, monkeypatch):
    monkeypatch.setenv("DB_URL", "from-os-environ")
    assert env_of(load_config(write_config(TEMPLATE)))["DB_URL"] == "from-os-environ"


def test_missing_variable_names_variable_path_and_line(problems_of):
    (problem,) = problems_of(TEMPLATE)
    assert str(problem) == (
        "fraises.web.env.DB_URL: environment variable 'DB_URL' is not set "
        "(and has no default) (line 5)"
    )


def test_every_missing_variable_is_reported(problems_of):
    problems = problems_of(MINIMAL + "name: ${A}-${B}\n")
    assert [p.message for p in problems] == [
        "environment variable 'A' is not set (and has no default)",
        "environment variable 'B' is not set (and has no default)",
    ]


def test_substitution_reaches_lists_and_typed_fields(load):
    config = load(
        MINIMAL + "worker:\n  concurrency: ${WORKERS:-3}\n"
        "webhook:\n  trusted_proxies: ['${PROXY}']\n",
        environ={"PROXY": "10.0.0.0/8"},
    )
    assert config.worker.concurrency == 3
    assert config.webhook.trusted_proxies == ["10.0.0.0/8"]


def test_keys_are_not_substituted(load):
    config = load(
        """\
        fraises:
          web:
            repository: https://example.com/web.git
            environments:
              production:
                branch: main
                app_path: /srv/web
                health_check:
                  url: http://localhost/health
                  headers:
                    ${KEY}: ${VALUE}
        """,
        environ={"KEY": "X-Key", "VALUE": "v"},
    )
    headers = config.fraises["web"].environments["production"].health_check.headers
    assert headers == {"${KEY}": "v"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("${1BAD}", "invalid variable reference '${1BAD}'"),
        ("${OPEN", "unclosed '${'"),
        ("${A:-${B}}", "nested variable references are not supported"),
    ],
)
def test_malformed_references(problems_of, value, message):
    (problem,) = problems_of(MINIMAL + f"name: '{value}'\n")
    assert problem.path == "name"
    assert message in problem.message
