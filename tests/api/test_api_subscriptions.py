"""Subscriptions fed by the outbox while the deployment runs in another process, over both
WebSocket protocols; resuming with `after` misses nothing."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from fraisier.cli.remote import LEGACY_WS, TRANSPORT_WS, RemoteApi, RemoteError
from fraisier.store.tokens import Tokens
from tests.support.waiting import wait_for

WORKER = Path(__file__).with_name("worker_process.py")

STATUS = """subscription($after: Int) {
  deploymentStatusChanged(fraiseId: "hello", environment: "production", after: $after) {
    eventId deploymentId status deployment { id trigger } } }"""
LOGS = """subscription($id: ID!, $after: Int! = 0) { deploymentLogs(id: $id, after: $after) {
    eventId kind line stepName stepStatus status } }"""
DEPLOY = 'mutation { deploy(fraiseId: "hello", environment: "production") { id } }'


def _run_worker(api, deployment_id: int) -> str:
    done = subprocess.run([sys.executable, str(WORKER), str(api.config_path),
                           str(deployment_id)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _collect(client, query, variables, protocol, until, found: list, errors: list):
    try:
        for data in client.subscribe(query, variables, protocol=protocol):
            found.append(data)
            if until(data):
                return
    except Exception as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
def test_status_changes_and_logs_from_a_worker_in_another_process(live_api, protocol):
    client = RemoteApi(live_api.url, live_api.tokens["read"])
    after = live_api.store.events.last_id()
    statuses: list = []
    errors: list = []
    listener = threading.Thread(target=_collect, args=(
        client, STATUS, {"after": after}, protocol,
        lambda d: d["deploymentStatusChanged"]["status"] in ("SUCCEEDED", "FAILED"),
        statuses, errors), daemon=True)
    listener.start()
    deployment_id = RemoteApi(live_api.url, live_api.tokens["deploy"]).execute(DEPLOY)[
        "deploy"]["id"]
    assert _run_worker(live_api, deployment_id) == "succeeded"
    listener.join(60)
    assert not listener.is_alive() and not errors
    events = [d["deploymentStatusChanged"] for d in statuses]
    assert [e["status"] for e in events] == ["QUEUED", "RUNNING", "SUCCEEDED"]
    assert {e["deploymentId"] for e in events} == {deployment_id}
    assert events[0]["deployment"]["trigger"] == "API"
    ids = [e["eventId"] for e in events]
    assert ids == sorted(ids) and ids[0] > after

    # The log subscription replays a finished deployment and then completes by itself.
    replay = [d["deploymentLogs"] for d in client.subscribe(
        LOGS, {"id": deployment_id}, protocol=protocol)]
    kinds = {e["kind"] for e in replay}
    assert kinds == {"LOG", "STEP", "STATUS"}
    assert replay[-1]["status"] == "SUCCEEDED"
    steps = [(e["stepName"], e["stepStatus"]) for e in replay if e["kind"] == "STEP"]
    assert ("build", "SUCCEEDED") in steps and ("health_check", "SUCCEEDED") in steps
    logged = [e["line"] for e in replay if e["kind"] == "LOG"]
    assert logged == [r["line"] for r in live_api.store.ledger.logs(deployment_id)]

    # Resume after a "reconnect" from the middle: exactly the rest, nothing missed.
    middle = replay[len(replay) // 2]["eventId"]
    resumed = [d["deploymentLogs"] for d in client.subscribe(
        LOGS, {"id": deployment_id, "after": middle}, protocol=protocol)]
    rest = [e for e in replay if e["eventId"] > middle]
    assert [e for e in resumed if e["eventId"] > middle] == rest


def test_live_logs_follow_a_running_deployment(sqlite_api):
    deployment_id = RemoteApi(sqlite_api.url, sqlite_api.tokens["deploy"]).execute(DEPLOY)[
        "deploy"]["id"]
    client = RemoteApi(sqlite_api.url, sqlite_api.tokens["read"])
    found: list = []
    errors: list = []
    listener = threading.Thread(target=_collect, args=(
        client, LOGS, {"id": deployment_id}, TRANSPORT_WS, lambda d: False, found, errors),
        daemon=True)
    listener.start()  # subscribed while the deployment is still queued
    assert _run_worker(sqlite_api, deployment_id) == "succeeded"
    listener.join(60)
    assert not listener.is_alive() and not errors  # completed when the deployment ended
    statuses = [d["deploymentLogs"]["status"] for d in found
                if d["deploymentLogs"]["kind"] == "STATUS"]
    assert statuses == ["QUEUED", "RUNNING", "SUCCEEDED"]


def test_webhook_received_and_subscription_auth(sqlite_api):
    found: list = []
    errors: list = []
    after = sqlite_api.store.events.last_id()
    client = RemoteApi(sqlite_api.url, sqlite_api.tokens["read"])
    query = """subscription($after: Int) { webhookReceived(after: $after) { eventId provider
        outcome branch webhookEvent { id reason } } }"""
    listener = threading.Thread(target=_collect, args=(
        client, query, {"after": after}, LEGACY_WS, lambda d: True, found, errors), daemon=True)
    listener.start()
    event_id = sqlite_api.store.webhooks.record(
        provider="github", event_type="push", outcome="ignored", reason="no mapping",
        branch="feature")
    listener.join(30)
    assert not errors
    (data,) = found
    assert data["webhookReceived"]["webhookEvent"] == {"id": str(event_id), "reason": "no mapping"}
    assert data["webhookReceived"]["outcome"] == "IGNORED"

    for token, code in ((None, "UNAUTHENTICATED"), ("frs_wrong", "UNAUTHENTICATED")):
        with pytest.raises(RemoteError) as refused:
            next(iter(RemoteApi(sqlite_api.url, token).subscribe(query, {"after": after})))
        assert refused.value.code == code


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
def test_revoking_a_token_ends_its_open_subscriptions(sqlite_api, protocol):
    name = f"short-lived-{protocol}"
    token = Tokens(sqlite_api.store.db).create(name, "read")
    query = "subscription($after: Int) { webhookReceived(after: $after) { eventId } }"
    found: list = []
    errors: list = []
    listener = threading.Thread(target=_collect, args=(
        RemoteApi(sqlite_api.url, token), query, {"after": sqlite_api.store.events.last_id()},
        protocol, lambda d: False, found, errors), daemon=True)
    listener.start()
    sqlite_api.store.webhooks.record(provider="github", event_type="push", outcome="ignored",
                                     reason="before revoke")
    wait_for(lambda: len(found) == 1, 30, "the event before the revocation")

    revoked = RemoteApi(sqlite_api.url, sqlite_api.tokens["admin"]).execute(
        f'mutation {{ revokeApiToken(name: "{name}") }}')
    assert revoked == {"revokeApiToken": True}
    listener.join(30)  # it ends by itself once the server notices the revocation
    assert not listener.is_alive(), "the subscription outlived its revoked token"
    (error,) = errors
    assert isinstance(error, RemoteError) and error.code == "UNAUTHENTICATED"
    assert [d["webhookReceived"]["eventId"] for d in found] == [
        sqlite_api.store.events.last_id()]


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
def test_queries_and_mutations_over_either_websocket_protocol(sqlite_api, protocol):
    deployer = RemoteApi(sqlite_api.url, sqlite_api.tokens["deploy"])
    (answer,) = list(deployer.subscribe(DEPLOY, protocol=protocol))
    deployment_id = answer["deploy"]["id"]
    assert sqlite_api.store.queue.get(deployment_id).trigger == "api"
    (read,) = list(deployer.subscribe(
        "query($id: ID!) { deployment(id: $id) { id status } }", {"id": deployment_id},
        protocol=protocol))
    assert read == {"deployment": {"id": deployment_id, "status": "QUEUED"}}
    # The same scopes as over HTTP: a read token may not deploy.
    with pytest.raises(RemoteError) as refused:
        list(RemoteApi(sqlite_api.url, sqlite_api.tokens["read"]).subscribe(
            DEPLOY, protocol=protocol))
    assert refused.value.code == "FORBIDDEN"
