"""The API fields the dashboard's views read: who is asking, the trigger filter, commit
details and links, per-day statistics, and what to fix for a refused webhook."""

from __future__ import annotations

import pytest

from fraisier.api.hints import webhook_hint
from fraisier.api.weblinks import commit_web_url, repository_web_url
from fraisier.domain.model import Trigger
from fraisier.engine.service import request_deployment
from fraisier.worker.inline import deploy_now

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize("repository, expected", [
    ("https://github.com/acme/shop.git", f"https://github.com/acme/shop/commit/{SHA}"),
    ("git@github.com:acme/shop.git", f"https://github.com/acme/shop/commit/{SHA}"),
    ("ssh://git@gitlab.com/group/sub/app.git", f"https://gitlab.com/group/sub/app/-/commit/{SHA}"),
    ("https://bitbucket.org/team/app", f"https://bitbucket.org/team/app/commits/{SHA}"),
    ("https://user:secret@codeberg.org/me/app.git", f"https://codeberg.org/me/app/commit/{SHA}"),
    ("/srv/git/app.git", None),
    ("https://git.internal.example/acme/app.git", None),
])
def test_commit_links_only_for_known_sites_and_never_with_credentials(repository, expected):
    assert commit_web_url(repository, SHA) == expected
    assert "secret" not in (repository_web_url(repository) or "")


def test_no_link_for_something_that_is_not_a_sha():
    assert commit_web_url("https://github.com/a/b", "main") is None
    assert commit_web_url("https://github.com/a/b", None) is None


@pytest.mark.parametrize("provider, reason, expected", [
    ("github", "401: signature does not match", "check git.github.webhook_secret"),
    ("gitlab", "401: X-Gitlab-Token does not match", "git.gitlab.secret_token"),
    ("github", "401: no webhook secret configured for github", "set git.github.webhook_secret"),
    ("gitea", "401: missing signature", "git.gitea.webhook_secret"),
    ("github", "branch 'feature' is not mapped to any environment", "branch_mapping"),
    ("github", "repository 'x/y' is not the repository of any fraise", "`repository`"),
])
def test_webhook_hints_name_the_key_to_fix(provider, reason, expected):
    assert expected in webhook_hint(provider, reason)


def test_viewer_says_who_is_asking(sqlite_api):
    assert sqlite_api.gql("{ viewer { name scope anonymous } }", token="deploy") == {
        "viewer": {"name": "test-deploy", "scope": "DEPLOY", "anonymous": False}}
    assert sqlite_api.codes("{ viewer { name } }", token=None) == ["UNAUTHENTICATED"]
    assert sqlite_api.codes("{ viewer { name } }", token="frs_unknown") == ["UNAUTHENTICATED"]


def test_history_by_trigger_commit_details_and_daily_statistics(sqlite_api):
    store, config = sqlite_api.store, sqlite_api.config
    first = request_deployment(store, config, "hello", "production", trigger=Trigger.CLI)
    deploy_now(store, config, first.id)
    second = request_deployment(store, config, "hello", "production", trigger=Trigger.API,
                                force=True)
    deploy_now(store, config, second.id)

    data = sqlite_api.gql("""{ deploymentHistory(trigger: CLI) { id trigger commitUrl
        commit { sha message author } } }""")
    assert [d["id"] for d in data["deploymentHistory"]] == [str(first.id)]
    row = data["deploymentHistory"][0]
    assert row["commitUrl"] is None  # a local repository has no web page
    assert row["commit"]["message"] == "Add hooks"
    assert row["commit"]["author"].startswith("Fraisier Demo")

    live = sqlite_api.gql("""{ fraise(id: "hello") { environments { liveRelease {
        releaseId deployment { id } } strategy hosts { host } } } }""")
    environment = live["fraise"]["environments"][0]
    assert environment["liveRelease"]["deployment"]["id"] == str(second.id)
    assert environment["strategy"] is None and environment["hosts"] == []

    daily = sqlite_api.gql("{ deploymentDailyStatistics(timeRangeDays: 7) { day total "
                           "successful successRate averageDurationSeconds } }")
    days = daily["deploymentDailyStatistics"]
    assert len(days) == 1 and days[0]["total"] == 2 and days[0]["successful"] == 2
    assert days[0]["successRate"] == 1.0 and days[0]["averageDurationSeconds"] > 0
    assert sqlite_api.codes("{ deploymentDailyStatistics(timeRangeDays: 0) { day } }") == [
        "BAD_USER_INPUT"]


def test_jobs_and_backups_of_a_target(sqlite_api):
    data = sqlite_api.gql('{ jobs(fraiseId: "hello") { name } '
                          'backups(fraiseId: "hello", environment: "production") { id } }')
    assert data == {"jobs": [], "backups": []}
    assert sqlite_api.codes('{ backups(fraiseId: "nope", environment: "x") { id } }') == [
        "NOT_FOUND"]


def test_event_cursor_then_after_delivers_a_change_made_in_between(sqlite_api):
    """The overview reads `eventCursor` before its data and subscribes with `after:` it: a
    status change committed in between still reaches it (without `after`, the subscription
    would start at the newest event and miss it)."""
    from fraisier.cli.remote import RemoteApi

    client = RemoteApi(sqlite_api.url, sqlite_api.tokens["read"])
    cursor = client.execute("{ eventCursor }")["eventCursor"]
    assert cursor == sqlite_api.store.events.last_id()
    queued = request_deployment(sqlite_api.store, sqlite_api.config, "hello", "production",
                                trigger=Trigger.CLI)
    assert client.execute("{ eventCursor }")["eventCursor"] > cursor
    changes = client.subscribe(
        "subscription($after: Int) { deploymentStatusChanged(after: $after) {"
        " eventId deploymentId status } }", {"after": cursor})
    first = next(changes)["deploymentStatusChanged"]
    changes.close()
    assert (first["deploymentId"], first["status"]) == (str(queued.id), "QUEUED")
    assert first["eventId"] > cursor


def test_requested_by_names_the_token_the_local_user_and_the_pusher(sqlite_api):
    import getpass

    store, config = sqlite_api.store, sqlite_api.config
    by_token = sqlite_api.gql('mutation { deploy(fraiseId: "hello", environment: "production") '
                              '{ id } }', token="deploy")["deploy"]["id"]
    # A later request supersedes the queued one; each names its own asker.
    by_cli = request_deployment(store, config, "hello", "production", trigger=Trigger.CLI).id
    pushed = store.webhooks.record(provider="github", event_type="push", outcome="accepted",
                                   sender="octocat", branch="main")
    by_push = store.queue.enqueue("hello", "production", trigger=Trigger.WEBHOOK.value,
                                  branch="main", force=True, webhook_event_id=pushed)
    nobody = store.queue.enqueue("hello", "production", trigger=Trigger.SCHEDULE.value,
                                 branch="main", force=True)
    query = "query($id: ID!) { deployment(id: $id) { requestedBy { name kind source } } }"

    def requester(deployment_id):
        return sqlite_api.gql(query, {"id": deployment_id})["deployment"]["requestedBy"]

    assert requester(by_token) == {"name": "test-deploy", "kind": "token",
                                   "source": "api from 127.0.0.1"}
    from_cli = requester(by_cli)
    assert (from_cli["name"], from_cli["kind"]) == (getpass.getuser(), "os_user")
    assert from_cli["source"].startswith("cli on ")
    assert requester(by_push.id) == {"name": "octocat", "kind": "pusher",
                                     "source": "github push"}
    assert requester(nobody.id) is None


def test_environment_health_and_its_changes_live(sqlite_api):
    from fraisier.cli.remote import RemoteApi

    query = '{ fraise(id: "hello") { environments { health { ok detail since } } } }'
    assert sqlite_api.gql(query)["fraise"]["environments"][0]["health"] is None  # not seen yet
    client = RemoteApi(sqlite_api.url, sqlite_api.tokens["read"])
    cursor = client.execute("{ eventCursor }")["eventCursor"]
    # What the worker's health watch records (tests/worker/test_health_watch.py runs it).
    store = sqlite_api.store
    assert store.health.record("hello", "production", False, "GET http://x/health: HTTP 503")
    assert not store.health.record("hello", "production", False, "GET http://x/health: HTTP 503")
    health = sqlite_api.gql(query)["fraise"]["environments"][0]["health"]
    assert health["ok"] is False and health["detail"].endswith("HTTP 503")
    changes = client.subscribe(
        'subscription($after: Int) { healthChanged(after: $after, fraiseId: "hello") {'
        " eventId fraiseId environment ok detail } }", {"after": cursor})
    first = next(changes)["healthChanged"]
    assert store.health.record("hello", "production", True, "GET http://x/health: HTTP 200")
    second = next(changes)["healthChanged"]
    changes.close()
    assert (first["ok"], first["environment"], second["ok"]) == (False, "production", True)
    assert second["eventId"] > first["eventId"] > cursor
