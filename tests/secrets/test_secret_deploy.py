"""Secrets in a real deployment: fetched when it starts, delivered only as environment
variables, blanked from the stored log, the event stream and errors; a backend that is down
fails the deployment before anything changes."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path

import pytest

from fraisier.config import load_config
from fraisier.domain.model import DeploymentStatus, Trigger
from fraisier.engine.service import open_state, request_deployment
from fraisier.worker.inline import deploy_now
from tests.support.waiting import wait_for

DB_PASSWORD = "s3cret-db-pass"
CERT = "-----BEGIN TEST-----\nline-one-abcdef\nline-two-ghijkl\n-----END TEST-----"
OWN_SECRET = "fraisier-own-webhook-secret-5150"

BUILD_SH = """\
#!/bin/sh
echo "$$" > "$FRAISIER_APP_PATH/build.pid"
i=0
while [ ! -e "$FRAISIER_APP_PATH/build.go" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
echo "$DB_PASSWORD"
echo "connecting with password=$DB_PASSWORD to the database"
printf '%s\\n' "$CERT"
echo "own secret visible: ${FRAISIER_TEST_OWN_SECRET:-no}"
exit 3
"""


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})


def _workspace(tmp_path: Path, env_refs: str, build_sh: str = BUILD_SH, more: str = "") -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "build.sh").write_text(build_sh)
    (repo / "build.sh").chmod(0o755)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    (tmp_path / "db_password").write_text(DB_PASSWORD + "\n")
    (tmp_path / "cert.pem").write_text(CERT + "\n")
    config = tmp_path / "fraises.yaml"
    config.write_text(f"""\
state:
  url: sqlite:///{tmp_path}/state.db
fraises:
  shop:
    repository: {repo}
    build: [./build.sh]
    env:
{env_refs}
    environments:
      production:
        branch: main
        app_path: {tmp_path}/app
{more}""")
    return config


def _written(path: Path, seconds: float = 30) -> str:
    """The text of `path` once something wrote it."""
    return wait_for(lambda: path.exists() and path.read_text().strip(), seconds,
                    f"{path} to be written", interval=0.02)


def test_secret_reaches_the_command_only_as_env_and_is_redacted_everywhere(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAISIER_TEST_OWN_SECRET", OWN_SECRET)  # Fraisier's own environment
    config = load_config(_workspace(tmp_path, f"""\
      DB_PASSWORD: "${{secret:file:{tmp_path}/db_password}}"
      CERT: "${{secret:file:{tmp_path}/cert.pem}}"
"""))
    store = open_state(config)
    record = request_deployment(store, config, "shop", "production", trigger=Trigger.CLI)
    outcome: list = []
    runner = threading.Thread(target=lambda: outcome.append(deploy_now(store, config, record.id)))
    runner.start()
    try:
        pid = int(_written(tmp_path / "app" / "build.pid"))
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode()
        environ = Path(f"/proc/{pid}/environ").read_bytes().decode()
        ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    finally:
        (tmp_path / "app" / "build.go").write_text("go")
        runner.join(60)
    assert "build.sh" in cmdline and DB_PASSWORD not in cmdline
    assert DB_PASSWORD not in ps and "line-one-abcdef" not in ps
    assert f"DB_PASSWORD={DB_PASSWORD}" in environ.split("\0")  # delivered as env
    assert OWN_SECRET not in environ  # Fraisier's own environment is not passed on
    assert "FRAISIER_COMMIT=" in environ

    final = outcome[0]
    assert final.status == DeploymentStatus.FAILED.value
    lines = [row["line"] for row in store.ledger.logs(record.id)]
    events = json.dumps([row["payload"] for row in store.events.after(0, limit=10_000)])
    for text in ("\n".join(lines), events, final.error or ""):
        assert DB_PASSWORD not in text
        assert "line-one-abcdef" not in text and "line-two-ghijkl" not in text
    assert "***" in lines
    assert "connecting with password=*** to the database" in lines
    assert "own secret visible: no" in lines
    # a multi-line secret is blanked line by line
    assert lines.count("***") >= 3
    store.close()


def test_backend_down_fails_the_deployment_before_anything_changes(tmp_path: Path) -> None:
    from fraisier.demo.workspace import free_port

    config_path = _workspace(tmp_path, '      DB_PASSWORD: "${secret:vault:apps/shop#db}"\n')
    text = config_path.read_text().replace(
        "fraises:", f"secrets:\n  vault: {{type: vault, url: 'http://127.0.0.1:{free_port()}',"
                    " token: t, timeout: 2}\nfraises:")
    config_path.write_text(text)
    config = load_config(config_path)
    store = open_state(config)
    record = request_deployment(store, config, "shop", "production", trigger=Trigger.CLI)
    final = deploy_now(store, config, record.id)
    assert final.status == DeploymentStatus.FAILED.value
    assert final.error.startswith("secret ${secret:vault:apps/shop#db} "
                                  "(shop/production.env.DB_PASSWORD): vault: unreachable")
    assert final.steps == []  # no step planned, none ran
    assert not (tmp_path / "app").exists()  # no release made
    assert not (tmp_path / ".fraisier" / "mirrors").exists()  # nothing fetched either
    # the environment is free: the next deployment can run
    assert store.queue.running("shop", "production") == []
    store.close()


def test_a_step_error_quoting_a_secret_is_stored_redacted(tmp_path: Path) -> None:
    from fraisier.demo.workspace import free_port

    url = f"http://127.0.0.1:{free_port()}/health?token=${{secret:file:{tmp_path}/db_password}}"
    config = load_config(_workspace(
        tmp_path, '      LEVEL: "info"\n', build_sh="#!/bin/sh\necho built\n",
        more=f"        health_check: {{url: '{url}', retries: 1, timeout: 2}}\n"))
    store = open_state(config)
    record = request_deployment(store, config, "shop", "production", trigger=Trigger.CLI)
    final = deploy_now(store, config, record.id)
    assert final.status == DeploymentStatus.FAILED.value
    step = next(step for step in final.steps if step.name == "health_check")
    for text in (final.error or "", step.error or "",
                 json.dumps([row["payload"] for row in store.events.after(0, limit=10_000)]),
                 "\n".join(row["line"] for row in store.ledger.logs(record.id))):
        assert DB_PASSWORD not in text
    assert "/health?token=***: ConnectError" in step.error
    assert "/health?token=***" in final.error
    store.close()


def test_the_cli_live_output_and_json_show_no_secret(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from fraisier.cli.main import cli

    config_path = _workspace(
        tmp_path, f'      DB_PASSWORD: "${{secret:file:{tmp_path}/db_password}}"\n',
        build_sh='#!/bin/sh\necho "$DB_PASSWORD"\necho "pw=$DB_PASSWORD;"\nexit 1\n')
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    live = CliRunner().invoke(cli, ["-c", str(config_path), "deploy", "shop", "production"],
                              env=env)
    assert live.exit_code == 1
    assert DB_PASSWORD not in live.output
    assert "pw=***;" in live.output
    logs = CliRunner().invoke(cli, ["-c", str(config_path), "logs", "1", "--json"], env=env)
    assert DB_PASSWORD not in logs.output and "pw=***;" in logs.output
