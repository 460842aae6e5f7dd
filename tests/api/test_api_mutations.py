"""Mutations queue work through the same queue as the CLI; they never run it themselves."""

from __future__ import annotations

from fraisier.domain.model import Trigger
from fraisier.engine.service import request_deployment
from fraisier.worker.inline import deploy_now

DEPLOY = """mutation($commit: String, $force: Boolean! = false) {
  deploy(fraiseId: "hello", environment: "production", commitSha: $commit, force: $force) {
    id status trigger commitSha branch } }"""


def test_deploy_queues_and_a_newer_request_supersedes(live_api):
    first = live_api.gql(DEPLOY, token="deploy")["deploy"]
    assert first["status"] == "QUEUED" and first["trigger"] == "API"
    assert first["branch"] == "main" and first["commitSha"] is None
    head = live_api.workspace.commit("v2", {"VERSION": "v2\n"})
    second = live_api.gql(DEPLOY, {"commit": head, "force": True}, token="deploy")["deploy"]
    assert second["commitSha"] == head
    stored = live_api.store.queue.get(int(first["id"]))
    assert stored.status == "superseded" and str(stored.superseded_by) == second["id"]
    # Nobody ran it: the API process only queues.
    assert live_api.store.queue.get(int(second["id"])).status == "queued"
    assert live_api.codes('mutation { deploy(fraiseId: "hello", environment: "nope") { id } }',
                          token="deploy") == ["NOT_FOUND"]


def test_cancel_queued_at_once_and_running_through_its_worker(live_api):
    queued = live_api.gql(DEPLOY, token="deploy")["deploy"]
    cancel = "mutation($id: ID!) { cancelDeployment(id: $id) { id status cancelRequested } }"
    assert live_api.gql(cancel, {"id": queued["id"]}, token="deploy")["cancelDeployment"] == {
        "id": queued["id"], "status": "CANCELLED", "cancelRequested": False}
    assert live_api.codes(cancel, {"id": queued["id"]}, token="deploy") == ["CONFLICT"]
    running = live_api.gql(DEPLOY, token="deploy")["deploy"]
    live_api.store.queue.claim(running["id"], "test-worker", 60)
    asked = live_api.gql(cancel, {"id": running["id"]}, token="deploy")["cancelDeployment"]
    assert asked == {"id": running["id"], "status": "RUNNING", "cancelRequested": True}
    assert live_api.store.queue.cancel_requested(running["id"])  # its worker's heartbeat sees it
    live_api.store.queue.finish(running["id"], "cancelled")
    assert live_api.codes(cancel, {"id": running["id"]}, token="deploy") == ["CONFLICT"]
    assert live_api.codes(cancel, {"id": 12345}, token="deploy") == ["NOT_FOUND"]


def test_retry_a_failed_deployment_and_roll_back(live_api):
    store, config = live_api.store, live_api.config
    good = deploy_now(store, config, request_deployment(
        store, config, "hello", "production", trigger=Trigger.CLI).id)
    assert good.status == "succeeded"
    live_api.workspace.commit("break the build", {"FAIL_BUILD": "1"})
    bad = deploy_now(store, config, request_deployment(
        store, config, "hello", "production", trigger=Trigger.CLI).id)
    assert bad.status in ("failed", "rolled_back")

    retry = "mutation($id: ID!) { retryDeployment(id: $id) { id status trigger retryOf commitSha } }"
    again = live_api.gql(retry, {"id": bad.id}, token="deploy")["retryDeployment"]
    assert again["trigger"] == "RETRY" and again["retryOf"] == str(bad.id)
    assert again["status"] == "QUEUED" and again["commitSha"] == bad.commit_sha
    assert live_api.codes(retry, {"id": good.id}, token="deploy") == ["CONFLICT"]
    assert live_api.codes(retry, {"id": again["id"]}, token="deploy") == ["CONFLICT"]
    store.queue.cancel_queued(again["id"])

    rollback = """mutation($to: String) { rollback(fraiseId: "hello", environment: "production",
        toRelease: $to) { id status trigger } }"""
    assert live_api.codes(rollback, token="deploy") == ["CONFLICT"]  # one good release only
    assert live_api.codes(rollback, {"to": "20000101T000000000000Z-nothing"},
                          token="deploy") == ["NOT_FOUND"]
    queued = live_api.gql(rollback, {"to": good.release}, token="deploy")["rollback"]
    assert queued["trigger"] == "ROLLBACK" and queued["status"] == "QUEUED"
    assert store.queue.get(queued["id"]).options["to"] == good.release
