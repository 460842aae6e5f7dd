"""The GraphQL shapes Fraisier was first described with: `ID` ids (taken as `"42"` or `42`),
`deploymentId` on cancel and retry, `deploymentStatusChanged` with the deployment's own
fields, `webhookReceived` with the webhook event's fields; and the older shapes next to
them, unchanged."""

from __future__ import annotations

import pytest

from fraisier.cli.remote import LEGACY_WS, TRANSPORT_WS, RemoteApi, RemoteError
from fraisier.domain.model import Trigger
from fraisier.engine.service import request_deployment
from fraisier.worker.inline import deploy_now


def _deploy(api, trigger: Trigger = Trigger.CLI):
    store, config = api.store, api.config
    return deploy_now(store, config, request_deployment(
        store, config, "hello", "production", trigger=trigger, force=True).id)


def test_ids_are_id_scalars_taken_as_strings_or_integers(live_api):
    done = _deploy(live_api)
    key = str(done.id)
    for literal in (f'"{done.id}"', str(done.id)):
        data = live_api.gql(f"{{ deployment(id: {literal}) {{ id fraiseId }} }}")
        assert data["deployment"] == {"id": key, "fraiseId": "hello"}
    for variable in (done.id, key):
        data = live_api.gql("query($id: ID!) { deployment(id: $id) { id } }", {"id": variable})
        assert data["deployment"]["id"] == key

    lookup = "query($id: ID!) { deployment(id: $id) { id } }"
    assert live_api.codes(lookup, {"id": "424242"}) == ["NOT_FOUND"]
    for malformed in ("abc", "-1", "1.5", "", "9" * 30):
        assert live_api.codes(lookup, {"id": malformed}) == ["BAD_USER_INPUT"], malformed

    # Every id a deployment answers with is an ID too, and names the same thing.
    again = live_api.gql("""query($id: ID!) { deployment(id: $id) { id retryOf supersededBy } }
        """, {"id": key})["deployment"]
    assert again == {"id": key, "retryOf": None, "supersededBy": None}


def test_cancel_and_retry_take_deployment_id(live_api):
    live_api.workspace.commit("break the build", {"FAIL_BUILD": "1"})
    bad = _deploy(live_api)
    assert bad.status in ("failed", "rolled_back")

    retry = """mutation($d: ID, $i: ID) { retryDeployment(deploymentId: $d, id: $i) {
        id status trigger retryOf } }"""
    again = live_api.gql(retry, {"d": str(bad.id)}, token="deploy")["retryDeployment"]
    assert again["trigger"] == "RETRY" and again["retryOf"] == str(bad.id)
    assert again["status"] == "QUEUED"

    cancel = """mutation($d: ID, $i: ID) { cancelDeployment(deploymentId: $d, id: $i) {
        id status cancelRequested } }"""
    # The older name of the argument still works; an integer is taken as well as a string.
    cancelled = live_api.gql(cancel, {"i": int(again["id"])}, token="deploy")
    assert cancelled["cancelDeployment"]["status"] == "CANCELLED"

    def count() -> int:
        return len(live_api.gql("{ deploymentHistory(limit: 100) { id } }")["deploymentHistory"])

    before = count()
    assert live_api.codes(cancel, {}, token="deploy") == ["BAD_USER_INPUT"]
    assert live_api.codes(cancel, {"d": "1", "i": "1"}, token="deploy") == ["BAD_USER_INPUT"]
    assert live_api.codes(retry, {"d": "x1"}, token="deploy") == ["BAD_USER_INPUT"]
    assert live_api.codes(retry, {"d": "987654"}, token="deploy") == ["NOT_FOUND"]
    assert live_api.codes(cancel, {"d": str(bad.id)}, token="deploy") == ["CONFLICT"]
    assert count() == before  # refused: nothing recorded


FLAT = """subscription($after: Int) {
  deploymentStatusChanged(fraiseId: "hello", environment: "production", after: $after) {
    eventId id status trigger commitSha branch release startedAt completedAt durationSeconds
    errorMessage fraiseId environment deploymentId deployment { id status }
  } }"""


def _until_succeeded(client, query, after, protocol) -> list[dict]:
    """The events up to SUCCEEDED, each once (on PostgreSQL the server may send an event of
    its re-read window again, as docs/api.md says)."""
    events: dict[object, dict] = {}
    for data in client.subscribe(query, {"after": after}, protocol=protocol):
        event = data["deploymentStatusChanged"]
        # Without eventId selected, one deployment's status names its event.
        events.setdefault(event.get("eventId", (event["id"], event["status"])), event)
        if event["status"] == "SUCCEEDED":
            break
    return list(events.values())


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
def test_status_changes_carry_the_deployment_as_it_was(live_api, protocol):
    client = RemoteApi(live_api.url, live_api.tokens["read"])
    after = live_api.store.events.last_id()
    done = _deploy(live_api)
    key = str(done.id)
    events = _until_succeeded(client, FLAT, after, protocol)
    assert [e["status"] for e in events] == ["QUEUED", "RUNNING", "SUCCEEDED"]
    queued, running, succeeded = events
    assert {e["id"] for e in events} == {e["deploymentId"] for e in events} == {key}
    assert all(e["trigger"] == "CLI" and e["branch"] == "main" for e in events)
    assert all((e["fraiseId"], e["environment"]) == ("hello", "production") for e in events)
    # As it was after each change, not as it is now.
    assert queued["startedAt"] is None and queued["completedAt"] is None
    assert queued["release"] is None and queued["durationSeconds"] is None
    assert running["startedAt"] == done.started_at and running["completedAt"] is None
    assert succeeded["completedAt"] == done.completed_at
    assert succeeded["durationSeconds"] == done.duration_seconds
    assert succeeded["release"] == done.release and succeeded["commitSha"] == done.commit_sha
    assert succeeded["errorMessage"] is None
    assert all(e["deployment"] == {"id": key, "status": "SUCCEEDED"} for e in events)
    ids = [e["eventId"] for e in events]
    assert ids == sorted(ids) and ids[0] > after

    # The shape the design note shows validates and streams; resuming after the first event
    # gives the rest.
    short = """subscription($after: Int) { deploymentStatusChanged(after: $after) {
        id status completedAt errorMessage } }"""
    rest = _until_succeeded(client, short, ids[0], protocol)
    # On PostgreSQL a resumed subscription may repeat events of its re-read window
    # (docs/api.md): the QUEUED one was seen already.
    rest = [e for e in rest if e["status"] != "QUEUED"]
    assert rest == [{"id": key, "status": "RUNNING", "completedAt": None, "errorMessage": None},
                    {"id": key, "status": "SUCCEEDED", "completedAt": done.completed_at,
                     "errorMessage": None}]


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
def test_webhook_received_carries_the_webhook_events_fields(live_api, protocol):
    client = RemoteApi(live_api.url, live_api.tokens["read"])
    after = live_api.store.events.last_id()
    event_id = live_api.store.webhooks.record(
        provider="github", event_type="push", outcome="ignored", reason="no mapping",
        branch="feature", commit_sha="c" * 40, delivery_id="delivery-14",
        repository="https://user:hunter2secret@example.com/acme/app.git")
    query = """subscription($after: Int) { webhookReceived(after: $after) {
        eventId id provider eventType deliveryId repository branch commitSha receivedAt
        outcome reason } }"""
    event = next(iter(client.subscribe(query, {"after": after}, protocol=protocol)))[
        "webhookReceived"]
    [row] = live_api.gql("{ webhookEvents(limit: 1) { id provider eventType deliveryId "
                         "repository branch commitSha receivedAt outcome reason } }")[
        "webhookEvents"]
    assert event.pop("eventId") > after
    assert event == row and row["id"] == str(event_id)
    assert event["deliveryId"] == "delivery-14" and event["reason"] == "no mapping"
    assert "hunter2secret" not in event["repository"]


def test_the_older_shapes_are_unchanged(live_api):
    first = _deploy(live_api)
    live_api.workspace.commit("break the build", {"FAIL_BUILD": "1"})
    bad = _deploy(live_api)
    data = live_api.gql("""{
      fraise(id: "hello") { id name type description
        environments { name branch appPath lastDeployed }
        deploymentHistory(limit: 5) { id status commitSha } }
      deploymentStatistics(fraiseId: "hello", timeRangeDays: 30) {
        totalDeployments successful failed successRate averageDurationSeconds }
      deploymentHistory(status: FAILED, limit: 100) {
        id fraiseId environment startedAt errorMessage } }""")
    fraise = data["fraise"]
    assert (fraise["id"], fraise["name"], fraise["type"]) == ("hello", "hello", "API")
    [env] = fraise["environments"]
    assert env["name"] == "production" and env["branch"] == "main" and env["appPath"]
    assert env["lastDeployed"] == bad.completed_at
    assert [d["id"] for d in fraise["deploymentHistory"]] == [str(bad.id), str(first.id)]
    stats = data["deploymentStatistics"]
    assert (stats["totalDeployments"], stats["successful"]) == (2, 1)
    assert stats["successRate"] == 0.5 and stats["averageDurationSeconds"] > 0
    failed = [d for d in data["deploymentHistory"]]
    if bad.status == "failed":
        assert [d["id"] for d in failed] == [str(bad.id)]
        assert failed[0]["errorMessage"] and failed[0]["startedAt"] == bad.started_at
    deployed = live_api.gql("""mutation { deploy(fraiseId: "hello", environment: "production",
        force: true) { id status startedAt } }""", token="deploy")["deploy"]
    assert deployed["status"] == "QUEUED" and deployed["startedAt"] is None
    assert int(deployed["id"]) > bad.id


def test_the_remote_cli_reads_ids_as_integers(sqlite_api):
    done = _deploy(sqlite_api)
    from fraisier.cli.backends import RemoteBackend

    backend = RemoteBackend(RemoteApi(sqlite_api.url, sqlite_api.tokens["deploy"]))
    record = backend.deployment(done.id)
    assert record.id == done.id and isinstance(record.id, int)
    with pytest.raises(RemoteError) as refused:
        backend.cancel(done.id)
    assert refused.value.code == "CONFLICT"
