"""The CLI against a remote server: same output as local mode; deploy and logs follow the
subscription while a worker in another process runs the deployment."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from tests.api.test_api_subscriptions import _run_worker
from tests.support.waiting import wait_for


def fraisier(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-c", "from fraisier.cli.main import main; main()",
                           *args], capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, COLUMNS="200", **(env or {})))


def _remote(api, token="read"):
    return ["--server", api.url.removesuffix("/graphql"), "--token", api.tokens[token]]


def test_reads_match_local_mode(live_api):
    from fraisier.domain.model import Trigger
    from fraisier.engine.service import request_deployment
    from fraisier.worker.inline import deploy_now

    record = request_deployment(live_api.store, live_api.config, "hello", "production",
                                trigger=Trigger.CLI)
    deploy_now(live_api.store, live_api.config, record.id)
    live_api.store.webhooks.record(provider="github", event_type="push", outcome="ignored",
                                   reason="no mapping", branch="feature", ref="refs/heads/feature",
                                   sender="octocat")
    # As the worker's health watch records a live release that stopped answering.
    live_api.store.health.record("hello", "production", False,
                                 "GET http://127.0.0.1:1/health: HTTP 503 (expected 200)")
    local = ["-c", str(live_api.config_path)]
    for command in (["status", "--json"], ["history", "--json"], ["stats", "--json"],
                    ["logs", str(record.id), "--json"], ["webhooks", "--json"], ["status"],
                    ["history"], ["stats"], ["webhooks"]):
        here = fraisier(*local, *command)
        there = fraisier(*_remote(live_api), *command)
        assert here.returncode == 0 and there.returncode == 0, there.stderr
        if "--json" in command:
            assert json.loads(there.stdout) == json.loads(here.stdout), command
            if command[0] == "status":
                assert json.loads(here.stdout)[0]["health"]["ok"] is False
        else:
            assert there.stdout == here.stdout, command


def test_remote_errors_are_clear(sqlite_api):
    refused = fraisier("--server", sqlite_api.url, "--token", "frs_wrong", "status")
    assert refused.returncode == 1 and "UNAUTHENTICATED" in refused.stderr
    forbidden = fraisier(*_remote(sqlite_api, "read"), "deploy", "hello", "production")
    assert forbidden.returncode == 1 and "FORBIDDEN" in forbidden.stderr
    missing = fraisier(*_remote(sqlite_api), "logs", "4242")
    assert missing.returncode == 1 and "NOT_FOUND" in missing.stderr


def test_local_only_commands_say_so_with_server(sqlite_api, tmp_path):
    # Run from an empty directory: no fraises.yaml there to be read by mistake.
    for command in (["releases", "hello", "production"], ["list"], ["runs", "hello"],
                    ["jobs"], ["status", "hello", "production", "--hosts"]):
        done = subprocess.run(
            [sys.executable, "-c", "from fraisier.cli.main import main; main()",
             *_remote(sqlite_api), *command], capture_output=True, text=True, timeout=60,
            cwd=tmp_path, env=dict(os.environ, COLUMNS="200"))
        assert done.returncode == 1, command
        name = " ".join(c for c in command if c.startswith("--") or c == command[0])
        assert f"`fraisier {name}` is not available with --server" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and "fraises.yaml" not in done.stderr


def _wait_for_queued(store) -> int:
    return int(wait_for(lambda: store.db.scalar(
        "SELECT MAX(id) FROM tb_deployment WHERE status = 'queued'"), what="a queued deployment"))


def test_deploy_follow_and_logs_follow_through_the_subscription(sqlite_api):
    env = {"FRAISIER_SERVER": sqlite_api.url, "FRAISIER_TOKEN": sqlite_api.tokens["deploy"]}
    cli = subprocess.Popen(
        [sys.executable, "-c", "from fraisier.cli.main import main; main()", "deploy", "hello",
         "production"], env=dict(os.environ, COLUMNS="200", **env), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        deployment_id = _wait_for_queued(sqlite_api.store)
        follower = subprocess.Popen(
            [sys.executable, "-c", "from fraisier.cli.main import main; main()", "logs",
             str(deployment_id), "--follow"], env=dict(os.environ, COLUMNS="200", **env),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # The same command in local mode, reading the state database directly.
        local_follower = subprocess.Popen(
            [sys.executable, "-c", "from fraisier.cli.main import main; main()", "-c",
             str(sqlite_api.config_path), "logs", str(deployment_id), "--follow"],
            env=dict(os.environ, COLUMNS="200"), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        try:
            assert _run_worker(sqlite_api, deployment_id) == "succeeded"
            out, err = cli.communicate(timeout=60)
            followed, _ = follower.communicate(timeout=60)
            followed_here, _ = local_follower.communicate(timeout=60)
        finally:
            follower.kill()
            local_follower.kill()
    finally:
        cli.kill()
    assert cli.returncode == 0, err
    assert f"deployment {deployment_id}: hello/production from branch main" in out
    for step in ("fetch", "build", "activate", "health_check"):
        assert f"✓ {step}" in out and f"✓ {step}" in followed
    assert "installing" in out  # a command's output line, live
    assert "succeeded" in out and "succeeded" in followed
    # Same output, local or remote, but for how long each step took: each follower times the
    # steps as it sees them.
    def untimed(text: str) -> str:
        return re.sub(r" \(\d+\.\d[sm]\)", "", text)

    assert untimed(followed_here) == untimed(followed)


def test_cancel_and_retry_remotely(sqlite_api):
    deploy = ["--server", sqlite_api.url, "--token", sqlite_api.tokens["deploy"]]
    queued = fraisier(*deploy, "deploy", "hello", "production", "--no-follow", "--json")
    deployment_id = json.loads(queued.stdout)["id"]
    cancelled = fraisier(*deploy, "cancel", str(deployment_id), "--json")
    assert json.loads(cancelled.stdout)["status"] == "cancelled"
    again = fraisier(*deploy, "retry", str(deployment_id), "--no-follow", "--json")
    retried = json.loads(again.stdout)
    assert retried["retry_of"] == deployment_id and retried["status"] == "queued"
    twice = fraisier(*deploy, "cancel", str(deployment_id))
    assert twice.returncode == 1 and "CONFLICT" in twice.stderr


def test_tokens_commands(sqlite_api):
    config = ["-c", str(sqlite_api.config_path)]
    created = fraisier(*config, "tokens", "create", "ci", "--scope", "deploy")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("frs_") and "not shown again" in created.stderr
    listed = json.loads(fraisier(*config, "tokens", "list", "--json").stdout)
    assert {"name": "ci", "scope": "deploy"}.items() <= next(
        t for t in listed if t["name"] == "ci").items()
    assert token not in json.dumps(listed)
    assert sqlite_api.gql("{ fraises { id } }", token=token)
    assert fraisier(*config, "tokens", "revoke", "ci").returncode == 0
    assert sqlite_api.codes("{ fraises { id } }", token=token) == ["UNAUTHENTICATED"]
    assert fraisier(*config, "tokens", "revoke", "ci").returncode == 1
    assert fraisier(*config, "tokens", "create", "ci").returncode == 1  # name taken


def test_rollback_remotely_is_run_by_a_worker(sqlite_api):
    from fraisier.domain.model import Trigger
    from fraisier.engine.service import request_deployment
    from fraisier.worker.inline import deploy_now

    store, config = sqlite_api.store, sqlite_api.config
    first = deploy_now(store, config, request_deployment(
        store, config, "hello", "production", trigger=Trigger.CLI).id)
    deploy_now(store, config, request_deployment(
        store, config, "hello", "production", trigger=Trigger.CLI, force=True).id)
    deploy = ["--server", sqlite_api.url, "--token", sqlite_api.tokens["deploy"]]
    asked = fraisier(*deploy, "rollback", "hello", "production", "--migrate-down",
                     "--no-follow", "--json")
    assert asked.returncode == 0, asked.stderr
    record = json.loads(asked.stdout)
    assert record["trigger"] == "rollback" and record["status"] == "queued"
    assert store.queue.get(record["id"]).options == {"to": None, "migrate_down": True}
    assert fraisier(*deploy, "cancel", str(record["id"])).returncode == 0

    queued = fraisier(*deploy, "rollback", "hello", "production", "--to", first.release,
                      "--no-follow", "--json")
    record = json.loads(queued.stdout)
    assert _run_worker(sqlite_api, record["id"]) == "succeeded"
    status = json.loads(fraisier(*deploy, "status", "--json").stdout)
    assert status[0]["current_release"] == first.release
