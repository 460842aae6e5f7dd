"""The validated configuration kept between CLI runs (fraisier.config.cache): reused while
its inputs are unchanged, validated again when any of them changes, and never holding a
secret in clear."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from fraisier.config import ConfigError, cache, loader

SECRETS = {
    "webhook": "whsec-literal-0f9e8d7c",
    "token": "tok-from-environment-5a4b3c",
    "password": "pw-in-state-url-77aa",
    "dotenv": "from-dotenv-value-91bc",
}


def _write(tmp_path: Path, branch: str = "${DEPLOY_BRANCH:-main}", extra: str = "",
           repository: str = "/srv/git/web.git") -> Path:
    path = tmp_path / "fraises.yaml"
    path.write_text(
        f"fraises:\n  web:\n    repository: {repository}\n    environments:\n"
        f"      production:\n        branch: \"{branch}\"\n        app_path: /srv/web\n"
        + extra)
    return path


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("DEPLOY_BRANCH", raising=False)


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every full validation done through the loader, by path."""
    done: list[Path] = []
    real = loader.load_config

    def counting(path, **kwargs):  # type: ignore[no-untyped-def]
        done.append(Path(path))
        return real(path, **kwargs)

    monkeypatch.setattr(loader, "load_config", counting)
    return done


def _branch(path: Path) -> str:
    return cache.load(path).target("web", "production").branch


def test_reused_until_the_file_changes(tmp_path: Path, validations: list[Path]) -> None:
    path = _write(tmp_path)
    assert cache.lookup(path) is None
    assert _branch(path) == "main"
    assert _branch(path) == "main"
    assert len(validations) == 1  # the second load came from the cache
    entry = cache.lookup(path)
    assert entry is not None
    assert entry.summary["targets"][0]["branch"] == "main"
    assert entry.config().config_path == path

    _write(tmp_path, branch="develop")  # the file itself was edited
    assert cache.lookup(path) is None
    assert _branch(path) == "develop"
    assert len(validations) == 2


def test_a_changed_variable_or_env_file_validates_again(
        tmp_path: Path, validations: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path)
    assert _branch(path) == "main"

    monkeypatch.setenv("DEPLOY_BRANCH", "release")  # a referenced variable changed
    assert _branch(path) == "release"
    assert len(validations) == 2

    monkeypatch.delenv("DEPLOY_BRANCH")
    (tmp_path / ".env").write_text("DEPLOY_BRANCH=from-env-file\n")  # .env appeared
    assert _branch(path) == "from-env-file"
    (tmp_path / ".env").write_text("DEPLOY_BRANCH=edited\n")  # .env was edited
    assert _branch(path) == "edited"
    assert _branch(path) == "edited"
    assert len(validations) == 4

    monkeypatch.setenv("UNRELATED_VARIABLE", "x")  # not referenced: still current
    assert _branch(path) == "edited"
    assert len(validations) == 4


def test_a_file_made_invalid_is_reported_not_served_from_the_cache(tmp_path: Path) -> None:
    path = _write(tmp_path)
    assert _branch(path) == "main"
    path.write_text(path.read_text().replace("app_path: /srv/web", "app_path: 12\n  oops: 1"))
    with pytest.raises(ConfigError):
        cache.load(path)
    with pytest.raises(ConfigError):
        cache.load(path)  # an invalid file is never kept


def test_no_secret_is_written_in_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_TOKEN", SECRETS["token"])
    monkeypatch.setenv("DB_PASSWORD", SECRETS["password"])
    (tmp_path / ".env").write_text(f"FROM_DOTENV={SECRETS['dotenv']}\n")
    path = _write(tmp_path, extra=(
        "        env: {API_KEY: \"${FROM_DOTENV}\"}\n"
        "state: {url: \"postgresql://fraisier:${DB_PASSWORD}@localhost/fraisier\"}\n"
        f"git:\n  github: {{webhook_secret: {SECRETS['webhook']}}}\n"
        "notifications:\n  - name: chat\n    url: \"json://localhost/hook?token=${HOOK_TOKEN}\"\n"))
    config = cache.load(path)
    [entry_file] = (tmp_path / "cache" / "fraisier").iterdir()
    stored = entry_file.read_bytes()
    for value in SECRETS.values():
        assert value.encode() not in stored
    assert b"postgresql" not in stored and b"production" not in stored  # nothing in clear
    assert stat.S_IMODE(entry_file.stat().st_mode) == 0o600

    again = cache.load(path)  # read back from the entry, with every value intact
    assert again.git.github.webhook_secret is not None
    assert again.git.github.webhook_secret.get_secret_value() == SECRETS["webhook"]
    assert again.state.url == config.state.url
    assert again.notifications[0].url.get_secret_value().endswith(SECRETS["token"])
    assert again.target("web", "production").env == {"API_KEY": SECRETS["dotenv"]}


def test_secret_references_stay_references_and_are_fetched_each_time(
        tmp_path: Path, validations: list[Path]) -> None:
    from fraisier.secrets import resolve_target
    from fraisier.secrets.resolver import clear_cache

    secret_file = tmp_path / "db-password"
    secret_file.write_text("first-secret-value-3e2d\n")
    path = _write(tmp_path, extra=f"        env: {{PW: \"${{secret:file:{secret_file}}}\"}}\n")
    config = cache.load(path)
    config = cache.load(path)
    assert len(validations) == 1
    [entry_file] = (tmp_path / "cache" / "fraisier").iterdir()
    assert b"first-secret-value" not in entry_file.read_bytes()
    target = config.target("web", "production")
    assert target.env == {"PW": f"${{secret:file:{secret_file}}}"}  # kept as written
    assert resolve_target(config, target).env == {"PW": "first-secret-value-3e2d"}

    secret_file.write_text("rotated-secret-value-8f7e\n")  # rotated at the source
    clear_cache()  # a new CLI process starts with an empty fetch cache
    config = cache.load(path)
    assert len(validations) == 1  # the configuration itself did not change
    target = config.target("web", "production")
    assert resolve_target(config, target).env == {"PW": "rotated-secret-value-8f7e"}


def test_a_damaged_or_foreign_entry_is_a_miss(tmp_path: Path, validations: list[Path]) -> None:
    path = _write(tmp_path)
    cache.load(path)
    [entry_file] = (tmp_path / "cache" / "fraisier").iterdir()
    data = bytearray(entry_file.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit flipped: the tag no longer matches
    entry_file.write_bytes(bytes(data))
    assert cache.lookup(path) is None
    assert _branch(path) == "main"
    assert len(validations) == 2

    entry_file.write_bytes(b"not an entry at all")
    assert cache.lookup(path) is None
    assert _branch(path) == "main"


def test_an_unwritable_cache_only_costs_speed(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    path = _write(tmp_path)
    assert _branch(path) == "main"
    assert cache.lookup(path) is None


def test_every_cli_command_reuses_it(tmp_path: Path, validations: list[Path]) -> None:
    """A read command, a command that writes state, and `validate` (which always checks the
    file in full, then keeps the result)."""
    from fraisier.cli.main import cli

    path = _write(tmp_path, extra=f"state: {{url: \"sqlite:///{tmp_path}/state.db\"}}\n",
                  repository="https://git.example.org/web.git")
    runner = CliRunner()
    first = runner.invoke(cli, ["-c", str(path), "validate"])
    assert first.exit_code == 0, first.output
    assert len(validations) == 1
    for argv, code, shown in ((["status", "--json"], 0, "web"), (["runs", "web", "--json"], 0, "[]"),
                              (["status"], 0, "web"), (["cancel", "999"], 1, "999")):
        result = runner.invoke(cli, ["-c", str(path), *argv])
        assert result.exit_code == code, result.output
        assert shown in result.output
    assert len(validations) == 1
    assert runner.invoke(cli, ["-c", str(path), "validate"]).exit_code == 0
    assert len(validations) == 2

    (tmp_path / ".env").write_text("DEPLOY_BRANCH=next\n")
    result = runner.invoke(cli, ["-c", str(path), "status", "--json"])
    assert result.exit_code == 0, result.output
    assert len(validations) == 3
    assert os.environ.get("DEPLOY_BRANCH") is None


def test_a_symbolic_link_that_now_points_elsewhere_validates_again(
        tmp_path: Path, validations: list[Path]) -> None:
    """The app_path checks resolve symbolic links: an app_path that has become a link to a
    system directory is refused, not served from the cache."""
    link = tmp_path / "srv-web"
    link.symlink_to(tmp_path / "real-web")
    path = _write(tmp_path)
    path.write_text(path.read_text().replace("app_path: /srv/web", f"app_path: {link}"))
    assert cache.load(path).target("web", "production").app_path == link
    assert cache.load(path) is not None
    assert len(validations) == 1

    link.unlink()
    link.symlink_to("/etc")  # now the link leads into a tree the system owns
    assert cache.lookup(path) is None
    with pytest.raises(ConfigError, match="is a system directory"):
        cache.load(path)
