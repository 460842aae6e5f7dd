"""Queries against a live server, on SQLite and PostgreSQL, after a real deployment."""

from __future__ import annotations

from fraisier.domain.model import Trigger
from fraisier.engine.service import request_deployment
from fraisier.worker.inline import deploy_now

HISTORY = """query($fraise: String, $status: DeploymentStatus, $limit: Int! = 50, $after: ID) {
  deploymentHistory(fraiseId: $fraise, status: $status, limit: $limit, after: $after) {
    id fraiseId environment status trigger commitSha branch release durationSeconds
    steps { name status }
  }
}"""


def _deploy(api, commit=None):
    record = request_deployment(api.store, api.config, "hello", "production",
                                trigger=Trigger.CLI, commit=commit, force=True)
    return deploy_now(api.store, api.config, record.id)


def test_fraises_environments_and_history_after_a_deployment(live_api):
    first = _deploy(live_api)
    assert first.status == "succeeded"
    data = live_api.gql("""{ fraises { id name type description repository
        environments { name branch appPath status currentRelease lastDeployed
                       lastDeployment { id status release } } } }""")
    (fraise,) = data["fraises"]
    assert fraise["id"] == "hello" and fraise["type"] == "API"
    (env,) = fraise["environments"]
    assert env["name"] == "production" and env["branch"] == "main"
    assert env["status"] == "SUCCEEDED" and env["currentRelease"] == first.release
    assert env["lastDeployment"] == {"id": str(first.id), "status": "SUCCEEDED",
                                     "release": first.release}
    assert env["lastDeployed"] == first.completed_at

    history = live_api.gql(HISTORY, {"fraise": "hello", "status": "SUCCEEDED"})
    (row,) = history["deploymentHistory"]
    assert row["id"] == str(first.id) and row["trigger"] == "CLI"
    assert [s["name"] for s in row["steps"]][:2] == ["fetch", "release"]
    assert all(s["status"] in ("SUCCEEDED", "SKIPPED") for s in row["steps"])
    assert live_api.gql(HISTORY, {"fraise": "hello", "status": "FAILED"}) == {
        "deploymentHistory": []}


def test_single_lookups_releases_stats_logs(live_api):
    first = _deploy(live_api)
    second = _deploy(live_api)
    data = live_api.gql("""query($id: ID!) { deployment(id: $id) { id status
        logs(limit: 5) { id stream line } }
      fraise(id: "hello") { deploymentHistory(limit: 1) { id } }
      releases(fraiseId: "hello", environment: "production") { releaseId status commitSha }
      deploymentStatistics(timeRangeDays: 30) { totalDeployments successful failed rolledBack
        successRate averageDurationSeconds p95DurationSeconds }
      webhookEvents(limit: 5) { id } }""", {"id": first.id})
    assert data["deployment"]["id"] == str(first.id)
    assert 0 < len(data["deployment"]["logs"]) <= 5
    assert data["fraise"]["deploymentHistory"] == [{"id": str(second.id)}]
    assert [r["releaseId"] for r in data["releases"]] == [second.release, first.release]
    assert [r["status"] for r in data["releases"]] == ["ACTIVE", "PREVIOUS"]
    stats = data["deploymentStatistics"]
    assert stats["totalDeployments"] == 2 and stats["successful"] == 2
    assert stats["successRate"] == 1.0 and stats["p95DurationSeconds"] > 0
    assert data["webhookEvents"] == []
    # Cursor paging: after the newest id comes the older one.
    older = live_api.gql(HISTORY, {"limit": 1, "after": second.id})["deploymentHistory"]
    assert [d["id"] for d in older] == [str(first.id)]


def test_webhook_events_are_listed_and_filtered(live_api):
    live_api.store.webhooks.record(provider="github", event_type="push", outcome="ignored",
                                   reason="branch not mapped", repository="acme/hello",
                                   branch="feature", commit_sha="a" * 40)
    live_api.store.webhooks.record(provider="gitlab", event_type="push", outcome="rejected",
                                   reason="bad signature")
    query = """query($o: WebhookOutcome) { webhookEvents(outcome: $o) {
        provider eventType repository branch commitSha outcome reason receivedAt } }"""
    (only,) = live_api.gql(query, {"o": "IGNORED"})["webhookEvents"]
    assert only["provider"] == "github" and only["branch"] == "feature"
    assert only["reason"] == "branch not mapped"
    assert len(live_api.gql(query)["webhookEvents"]) == 2


def test_not_found_and_bad_input_codes(sqlite_api):
    assert sqlite_api.codes('{ fraise(id: "nope") { id } }') == ["NOT_FOUND"]
    assert sqlite_api.codes("{ deployment(id: 999) { id } }") == ["NOT_FOUND"]
    assert sqlite_api.codes('{ releases(fraiseId: "hello", environment: "nope") { releaseId } }'
                            ) == ["NOT_FOUND"]
    assert sqlite_api.codes("{ deploymentHistory(limit: 501) { id } }") == ["BAD_USER_INPUT"]
    assert sqlite_api.codes("{ deploymentHistory(limit: 0) { id } }") == ["BAD_USER_INPUT"]
    assert sqlite_api.codes("{ deploymentStatistics(timeRangeDays: 0) { totalDeployments } }"
                            ) == ["BAD_USER_INPUT"]


RUNS = """query($env: String, $kind: String) {
  runs(fraiseId: "hello", environment: $env, kind: $kind) {
    id fraiseId environment kind name trigger status exitCode outputTail error
  }
}"""


def test_runs_are_listed_newest_first(live_api):
    runs = live_api.store.runs
    first = runs.start("hello", "production", "etl", "script", trigger="cli")
    runs.finish(first, "succeeded", exit_code=0, duration_seconds=1.5, output_tail="loaded 3 rows")
    second = runs.start("hello", "production", "job", "nightly", trigger="schedule")
    runs.finish(second, "failed", exit_code=2, duration_seconds=0.2, output_tail="",
                error="nightly exited with status 2")
    data = live_api.gql(RUNS, {"env": "production"})["runs"]
    assert [r["id"] for r in data] == [str(second), str(first)]
    assert data[0] == {"id": str(second), "fraiseId": "hello", "environment": "production",
                       "kind": "job", "name": "nightly", "trigger": "schedule",
                       "status": "failed", "exitCode": 2, "outputTail": "",
                       "error": "nightly exited with status 2"}
    assert data[1]["outputTail"] == "loaded 3 rows"
    assert [r["id"] for r in live_api.gql(RUNS, {"kind": "etl"})["runs"]] == [str(first)]
    assert live_api.codes(RUNS, {"env": "nowhere"}) == ["NOT_FOUND"]
