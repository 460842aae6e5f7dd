"""The notifier end to end: real deployments of a real git repository, a local `json://`
receiver and a local HTTP server standing in for GitHub's API."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from fraisier.config import load_config
from fraisier.domain.model import Trigger
from fraisier.engine.service import deploy_now, open_state, request_deployment
from fraisier.notify.notifier import Notifier
from tests.notify._support import Reply, StandIn, commit, make_repository, wait_for, write_config

GITHUB = """\
git:
  github:
    api_token: ${{GITHUB_TOKEN}}
    api_url: {url}
    repository: acme/web
server:
  public_url: https://fraisier.example.com
"""


def chat(url: str, name: str = "ops", events: str = "[deployment.started, "
         "deployment.succeeded, deployment.failed, deployment.rolled_back]") -> str:
    return f"""\
  - name: {name}
    url: json://{url.removeprefix('http://')}/{name}
    events: {events}
"""


def setup(tmp_path: Path, extra: str, monkeypatch: pytest.MonkeyPatch, **env: str):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    repo = make_repository(tmp_path)
    config = load_config(write_config(tmp_path, repo, extra))
    return repo, config, open_state(config)


def deploy(store, config, commit_sha: str | None = None):
    record = request_deployment(store, config, "web", "production", trigger=Trigger.CLI,
                                commit=commit_sha)
    return deploy_now(store, config, record.id)


def drain(notifier: Notifier) -> None:
    """Step until nothing is planned or due any more."""
    wait_for(lambda: notifier.step() == 0, what="the notifier to be idle")


def test_chat_and_github_see_a_deployment_succeed_then_fail(tmp_path, monkeypatch, stand_in):
    extra = GITHUB.format(url=stand_in.url) + "notifications:\n" + chat(stand_in.url)
    repo, config, store = setup(tmp_path, extra, monkeypatch, GITHUB_TOKEN="ghp_secret123")
    stand_in.route("POST", "/repos/acme/web/deployments", Reply(201, {"id": 77}))
    notifier = Notifier(config, store)

    good = deploy(store, config)
    assert good.status == "succeeded"
    bad_sha = commit(repo, "Break the build", fail=True)
    bad = deploy(store, config)
    assert bad.status == "rolled_back"
    drain(notifier)

    messages = [r.body for r in stand_in.matching("POST", "/ops")]
    titles = [m["title"] for m in messages]
    assert titles == ["web/production: deployment started",
                      "web/production: deployment succeeded",
                      "web/production: deployment started",
                      "web/production: deployment rolled back"]
    assert "Break the build (Ada Lovelace" in messages[-1]["message"]
    assert f"https://fraisier.example.com/deployments/{bad.id}" in messages[-1]["message"]

    statuses = stand_in.matching("POST", r"/repos/acme/web/statuses/[0-9a-f]{40}")
    assert [(s.path.rsplit("/", 1)[1], s.body["state"]) for s in statuses] == [
        (good.commit_sha, "pending"), (good.commit_sha, "success"),
        (bad_sha, "pending"), (bad_sha, "failure")]
    for status in statuses:
        assert status.headers["authorization"] == "Bearer ghp_secret123"
        assert status.headers["accept"] == "application/vnd.github+json"
        assert status.body["context"] == "fraisier/production"
    assert statuses[-1].body["target_url"] == (
        f"https://fraisier.example.com/deployments/{bad.id}")
    assert statuses[-1].body["description"].startswith(
        "Deployment to production failed and was rolled back")

    created = stand_in.matching("POST", "/repos/acme/web/deployments")
    assert [c.body["ref"] for c in created] == [good.commit_sha, bad_sha]
    assert all(c.body["environment"] == "production" and c.body["required_contexts"] == []
               for c in created)
    states = [r.body["state"] for r in
              stand_in.matching("POST", "/repos/acme/web/deployments/77/statuses")]
    assert states == ["in_progress", "success", "in_progress", "failure"]

    attempts = store.notifications.attempts(limit=100)
    assert {a["status"] for a in attempts} == {"delivered"}
    assert len(attempts) == 4 * 3  # 4 events x (chat, status, deployment)
