"""The one redactor, the URL helper, and the places that rely on them (the store, git errors,
CLI errors)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from click.testing import CliRunner

from fraisier.domain.redaction import (
    MIN_SECRET_LENGTH,
    REDACTOR,
    redact,
    register_secret,
    url_without_password,
)
from fraisier.engine.git import GitError, Mirror
from fraisier.store import open_store


def test_values_are_blanked_alone_inside_lines_and_line_by_line() -> None:
    register_secret("hunter2-long", "first-line\nsecond-line")
    assert redact("hunter2-long") == "***"
    assert redact("pw=hunter2-long;") == "pw=***;"
    assert redact("a first-line b") == "a *** b"
    assert redact("first-line\nsecond-line") == "***"
    assert redact("second-line") == "***"


def test_short_values_are_not_redacted() -> None:
    assert MIN_SECRET_LENGTH == 4
    register_secret("abc")
    assert redact("abcdef abc") == "abcdef abc"
    register_secret("abcd")
    assert redact("abcdef") == "***ef"


def test_passwords_inside_urls_are_blanked_without_being_registered() -> None:
    text = "cannot fetch http://deployer:RepoTok-777@git.example/shop.git: refused"
    assert redact(text) == "cannot fetch http://deployer:***@git.example/shop.git: refused"
    assert redact("postgresql://fraisier:pg-SuperSecret-42@127.0.0.1:15432/fraisier") == \
        "postgresql://fraisier:***@127.0.0.1:15432/fraisier"
    assert redact("ssh://git@host/repo.git") == "ssh://git@host/repo.git"


def test_url_without_password() -> None:
    assert url_without_password("postgresql://u:p%40ss@db:5432/x?sslmode=require") == \
        "postgresql://u:***@db:5432/x?sslmode=require"
    assert url_without_password("sqlite:////tmp/state.db") == "sqlite:////tmp/state.db"
    assert url_without_password("https://host/repo.git") == "https://host/repo.git"


def test_the_store_redacts_log_lines_step_errors_outcomes_and_fraise_urls(tmp_path: Path) -> None:
    register_secret("api-token-xyz")
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    store.sync_fraises([("shop", "api", "", "http://deployer:RepoTok-777@h/shop.git", ["p"])])
    record = store.queue.enqueue("shop", "p", trigger="cli")
    store.ledger.plan(record.id, ["build"])
    from fraisier.domain.model import DeploymentStatus, StepStatus

    store.ledger.log(record.id, "echo api-token-xyz")
    store.ledger.mark(record.id, 0, StepStatus.FAILED, error="build printed api-token-xyz",
                      output_tail="api-token-xyz")
    final = store.queue.finish(record.id, DeploymentStatus.FAILED,
                               "fetch of http://deployer:RepoTok-777@h/shop.git failed")
    assert final.error == "fetch of http://deployer:***@h/shop.git failed"
    assert final.steps[0].error == "build printed ***"
    assert [row["line"] for row in store.ledger.logs(record.id)] == ["echo ***"]
    rows = store.db.fetchall("SELECT repository FROM tb_fraise")
    assert rows == [{"repository": "http://deployer:***@h/shop.git"}]
    everything = str(store.db.fetchall("SELECT payload FROM tb_event"))
    assert "api-token-xyz" not in everything and "RepoTok-777" not in everything
    store.close()


def test_mirror_resolve_error_has_no_repository_credentials(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=source, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                    "--allow-empty", "-m", "x"], cwd=source, check=True)
    mirror = Mirror(tmp_path / "data", "http://deployer:RepoTok-777@git.example/shop.git")
    mirror.path.parent.mkdir(parents=True)
    subprocess.run(["git", "clone", "-q", "--mirror", str(source), str(mirror.path)], check=True)
    try:
        mirror.resolve("no-such-branch")
    except GitError as exc:
        message = str(exc)
    else:
        raise AssertionError("resolve accepted an unknown ref")
    assert "RepoTok-777" not in message
    assert message == ("'no-such-branch' is not a branch, tag or commit of "
                       "http://deployer:***@git.example/shop.git")


def test_cli_never_prints_the_state_database_password(tmp_path: Path) -> None:
    from fraisier.cli.main import cli
    from fraisier.demo.workspace import free_port

    (tmp_path / "fraises.yaml").write_text(f"""\
state:
  url: postgresql://fraisier:pg-SuperSecret-42@127.0.0.1:{free_port()}/fraisier
fraises:
  shop:
    repository: {tmp_path}
    environments:
      production: {{branch: main, app_path: {tmp_path}-srv/app}}
""")
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    for args in (["status"], ["history"], ["tokens", "list"], ["deploy", "shop", "production"]):
        result = CliRunner().invoke(cli, ["-c", str(tmp_path / "fraises.yaml"), *args], env=env)
        assert result.exit_code != 0, args
        assert "pg-SuperSecret-42" not in result.output, args
        assert "state database postgresql://fraisier:***@127.0.0.1" in result.output, args
    REDACTOR.forget_all()
