"""`fraisier audit`: what local CLI commands changed, recorded with the OS user and the host,
refusals included; `--json` for machines."""

from __future__ import annotations

import getpass
import socket
from pathlib import Path

from tests.cli._cli_support import invoke, run_fraisier
from tests.selfhost._support import one_commit_repository

CONFIG = """\
state:
  url: sqlite:///{root}/state.db
data_dir: {root}/data
fraises:
  web:
    repository: {repo}
    environments:
      production:
        branch: main
        app_path: {root}/srv/web
"""


def _config(root: Path) -> Path:
    repo = one_commit_repository(root)
    path = root / "fraises.yaml"
    path.write_text(CONFIG.format(root=root, repo=repo))
    return path


def test_cli_actions_are_recorded_with_the_os_user(tmp_path):
    config = _config(tmp_path)
    deployed = run_fraisier(config, "deploy", "web", "production", "--json")
    assert deployed.exit_code == 0, deployed.stderr
    deployment_id = deployed.json()["id"]
    assert run_fraisier(config, "cancel", str(deployment_id)).exit_code != 0  # finished
    assert run_fraisier(config, "retry", str(deployment_id)).exit_code != 0  # it succeeded
    assert run_fraisier(config, "rollback", "web", "production").exit_code != 0  # nothing older
    token = run_fraisier(config, "tokens", "create", "ci", "--scope", "deploy")
    assert token.exit_code == 0
    assert run_fraisier(config, "tokens", "revoke", "ci").exit_code == 0
    assert run_fraisier(config, "tokens", "revoke", "ci").exit_code != 0  # already revoked

    listed = invoke(config, "audit", "--json")
    assert listed.exit_code == 0, listed.stderr
    entries = list(reversed(listed.json()))
    assert [(e["action"], e["outcome"]) for e in entries] == [
        ("deploy", "ok"), ("cancel", "refused"), ("retry", "refused"),
        ("rollback", "refused"), ("token.create", "ok"), ("token.revoke", "ok"),
        ("token.revoke", "refused")]
    assert {e["actor"] for e in entries} == {getpass.getuser()}
    assert {e["actor_kind"] for e in entries} == {"os_user"}
    assert {e["source"] for e in entries} == {f"cli on {socket.gethostname()}"}
    assert entries[0]["deployment_id"] == deployment_id
    assert entries[0]["subject"] == "web/production" and "trigger cli" in entries[0]["detail"]
    assert "already succeeded" in entries[1]["detail"]
    assert token.stdout.strip() not in listed.stdout

    table = invoke(config, "audit", "--action", "token.revoke")
    assert table.exit_code == 0
    assert table.stdout.count("token.revoke") == 2 and "deploy " not in table.stdout


def test_a_deploy_of_an_unknown_target_is_recorded_as_refused(tmp_path):
    config = _config(tmp_path)
    from fraisier.config import UnknownTarget, load_config
    from fraisier.domain.model import Trigger
    from fraisier.engine.service import open_state, request_deployment

    loaded = load_config(config)
    store = open_state(loaded)
    try:
        try:
            request_deployment(store, loaded, "web", "staging", trigger=Trigger.CLI)
        except UnknownTarget:
            pass
        else:
            raise AssertionError("an unknown environment was queued")
        entry = store.audit.list()[0]
    finally:
        store.close()
    assert (entry.action, entry.subject, entry.outcome) == ("deploy", "web/staging", "refused")
    assert "no environment 'staging'" in entry.detail
