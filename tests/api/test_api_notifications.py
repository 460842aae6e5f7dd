"""The notificationAttempts query (read scope) lists what the notifier recorded."""

from __future__ import annotations

from fraisier.store.notifications import NewDelivery, Outcome

QUERY = """query($deployment: ID, $status: String) {
  notificationAttempts(deploymentId: $deployment, status: $status) {
    channel kind event eventId deploymentId fraiseId environment attempt status httpStatus
    error durationSeconds nextRetryAt
  }
}"""


def test_attempts_are_listed_with_read_scope(live_api):
    store = live_api.store
    store.notifications.plan("notifier", 0, set(), [
        NewDelivery(event_id=5, event="deployment.failed", channel="ops", kind="message",
                    deployment_id=3, fraise="hello", environment="production")])
    [row] = store.notifications.due()
    store.notifications.record(row, Outcome(ok=False, duration_seconds=0.25, http_status=500,
                                            error="Internal server error"),
                               max_attempts=5, retry_in=15)
    data = live_api.gql(QUERY, {"deployment": 3})
    [attempt] = data["notificationAttempts"]
    assert attempt | {"nextRetryAt": None} == {
        "channel": "ops", "kind": "message", "event": "deployment.failed", "eventId": 5,
        "deploymentId": "3", "fraiseId": "hello", "environment": "production", "attempt": 1,
        "status": "failed", "httpStatus": 500, "error": "Internal server error",
        "durationSeconds": 0.25, "nextRetryAt": None}
    assert attempt["nextRetryAt"] is not None
    assert live_api.gql(QUERY, {"deployment": 4}) == {"notificationAttempts": []}
    assert live_api.gql(QUERY, {"status": "delivered"}) == {"notificationAttempts": []}
    assert live_api.codes(QUERY, {}, token=None) == ["UNAUTHENTICATED"]
