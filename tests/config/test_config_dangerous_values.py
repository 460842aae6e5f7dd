"""Values that would pass a type check but make a deployment fail or do harm are refused at
validation, each with its key path and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

APP_PATH = "fraises.web.environments.production.app_path"


def _config(app_path: str, repository: str = "https://example.com/web.git",
            extra: str = "") -> str:
    return (
        f"{extra}"
        "fraises:\n"
        "  web:\n"
        f"    repository: {repository}\n"
        "    environments:\n"
        "      production:\n"
        "        branch: main\n"
        f"        app_path: {app_path}\n"
    )


def _only(problems) -> object:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


@pytest.mark.parametrize(("app_path", "reason"), [
    ('"/srv/web\\0evil"', "NUL byte"),
    ('"/srv/web\\nevil"', "control character"),
    ('"/srv/web\\e"', "control character"),
])
def test_a_path_with_a_control_character_is_refused(problems_of, app_path: str, reason: str):
    problem = _only(problems_of(_config(app_path)))
    assert problem.path == APP_PATH
    assert reason in problem.message


def test_a_nul_byte_anywhere_is_refused_with_its_key_path(problems_of):
    text = _config("/srv/web") + '        env: {GREETING: "hello\\0world"}\n'
    problem = _only(problems_of(text))
    assert problem.path == "fraises.web.environments.production.env.GREETING"
    assert "NUL byte" in problem.message


@pytest.mark.parametrize(("app_path", "reason"), [
    ("/", "system directory"),
    ("/etc", "system directory"),
    ("/usr", "system directory"),
    ("/etc/web", "inside /etc"),
    ("/proc/self", "inside /proc"),
])
def test_system_directories_are_refused(problems_of, app_path: str, reason: str):
    problem = _only(problems_of(_config(app_path)))
    assert problem.path == APP_PATH
    assert reason in problem.message


def test_the_home_directory_is_refused(problems_of, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    problem = _only(problems_of(_config("'~'")))
    assert problem.path == APP_PATH
    assert "is the home directory" in problem.message


@pytest.mark.parametrize(("app_path", "reason"), [
    (".", "is the directory of the configuration file"),
    ("..", "contains the directory of the configuration file"),
    (".fraisier", "is Fraisier's data directory"),
    (".fraisier/web", "inside Fraisier's data directory"),
])
def test_fraisiers_own_directories_are_refused(problems_of, app_path: str, reason: str):
    problem = _only(problems_of(_config(app_path)))
    assert problem.path == APP_PATH
    assert reason in problem.message


def test_the_state_database_cannot_live_inside_app_path(problems_of, tmp_path: Path):
    text = _config(str(tmp_path / "srv"),
                   extra=f"state: {{url: 'sqlite:///{tmp_path}/srv/data/state.db'}}\n")
    problem = _only(problems_of(text))
    assert problem.path == APP_PATH
    assert "contains the directory of the state database" in problem.message


@pytest.mark.parametrize(("app_path", "reason"), [
    ("repo", "is the fraise's repository"),
    ("repo/deploy", "inside the fraise's repository"),
])
def test_the_fraises_own_repository_is_refused(problems_of, tmp_path: Path, app_path: str,
                                              reason: str):
    (tmp_path / "repo").mkdir()
    problem = _only(problems_of(_config(app_path, repository="repo")))
    assert problem.path == APP_PATH
    assert reason in problem.message


def test_an_app_directory_beside_the_configuration_is_fine(load, tmp_path: Path):
    config = load(_config("srv/web"))
    assert config.fraises["web"].environments["production"].app_path == tmp_path / "srv" / "web"


@pytest.mark.parametrize("value", [".inf", ".nan", "-.inf"])
def test_an_infinite_timeout_is_refused(problems_of, value: str):
    problem = _only(problems_of(_config("/srv/web") + f"        timeout: {value}\n"))
    assert problem.path == "fraises.web.environments.production.timeout"
    assert "finite number" in problem.message


def test_an_infinite_worker_lease_is_refused(problems_of):
    problem = _only(problems_of("worker: {lease_seconds: .inf}\n" + _config("/srv/web")))
    assert problem.path == "worker.lease_seconds"
    assert "finite number" in problem.message
