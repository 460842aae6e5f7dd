"""The etl/scheduled/backup keys: defaults, precedence, and errors that name their key path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fraisier.config import ConfigError, load_config


def _load(tmp_path: Path, text: str):
    path = tmp_path / "fraises.yaml"
    path.write_text(textwrap.dedent(text))
    return load_config(path, environ={})


def _problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    return [str(problem) for problem in info.value.problems]


BASE = """
environments:
  production:
    scheduler: systemd
    catch_up: skip
fraises:
  n:
    type: TYPE
    repository: /srv/repo
    BODY
    environments:
      production:
        branch: main
        app_path: srv/n
        ENVKEYS
"""


def _text(type_: str, body: str, env_keys: str = "keep_releases: 2") -> str:
    return (BASE.replace("TYPE", type_).replace("    BODY", textwrap.indent(body, "    "))
            .replace("ENVKEYS", env_keys))


def test_defaults_and_precedence(tmp_path):
    config = _load(tmp_path, _text("scheduled", "jobs:\n  j: {schedule: '* * * * *', command: x}",
                                   "scheduler: builtin\n        backup_dir: bk"))
    kind = config.target("n", "production").kind
    assert kind.scheduler == "builtin"  # the environment wins over the shared default
    assert kind.catch_up == "skip"  # from the shared default
    assert kind.systemd_dir == Path("/etc/systemd/system")
    assert kind.backup_dir == tmp_path / "bk"  # relative to the configuration file
    assert kind.config_path == tmp_path / "fraises.yaml"
    assert kind.jobs["j"].command.argv == ["x"]


@pytest.mark.parametrize("type_, body, expected", [
    ("scheduled", "description: none", "fraises.n.jobs: a scheduled fraise needs at least one job"),
    ("backup", "description: none", "fraises.n.backups: a backup fraise needs at least one backup"),
    ("scheduled", "jobs:\n  j: {command: x}", "fraises.n.jobs.j: "),
    ("scheduled", "jobs:\n  j: {schedule: '@daily', command: x}",
     "fraises.n.jobs.j.schedule: invalid cron expression '@daily'"),
    ("scheduled", "jobs:\n  j: {schedule: '* * * * *', command: x, every: 1}",
     "fraises.n.jobs.j.every"),
    ("backup", "backups:\n  b: {kind: postgres}", "a postgres backup needs database_url"),
    ("backup", "backups:\n  b: {kind: sqlite, path: x.db, verify: restore, keep_last: 0}",
     "fraises.n.backups.b.keep_last"),
    ("backup", "backups:\n  b: {kind: command, command: x, verify: restore}",
     "verify: restore is not available for command backups"),
    ("backup", "backups:\n  b: {kind: tape}", "fraises.n.backups.b.kind"),
])
def test_errors_name_the_key(tmp_path, type_, body, expected):
    problems = _problems(tmp_path, _text(type_, body))
    assert any(expected in problem for problem in problems), problems


def test_environment_keys_are_checked(tmp_path):
    problems = _problems(tmp_path, _text("etl", "script: x", "scheduler: cron"))
    assert any("fraises.n.environments.production.scheduler" in p for p in problems), problems
