"""Real payloads from every provider, signed as each provider signs them, through ingest."""

import json
import time
from urllib.parse import urlencode

import pytest

from tests.providers._support import (
    SECRET,
    bitbucket_cloud_headers,
    bitbucket_server_headers,
    fixture_bytes,
    github_headers,
    gitlab_headers,
)

from ._support import Receiver, signed

ACCEPTED = [
    # provider, fixture, fraise/environment that must be queued, commit
    ("github", "push_with-new-branch.payload.json", {"gh/production", "gh/mapped"},
     "6113728f27ae82c7b1a177c8d03f9e96e0adf246"),
    ("gitlab", "push_hook.json", {"gl/production"}, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"),
    ("gitea", "push.json", {"gt/production"}, None),
    ("forgejo", "push.json", {"fj/production"}, None),
    ("bitbucket", "cloud_repo_push.json", {"bb/production", "bb/tagged"}, None),
    ("bitbucket-server", "server_refs_changed.json", {"bbs/production"}, None),
]


@pytest.mark.parametrize(("provider", "fixture", "expected", "commit"), ACCEPTED,
                         ids=[a[0] for a in ACCEPTED])
def test_signed_push_is_queued_in_one_transaction(receiver, provider, fixture, expected, commit):
    headers, body = signed(provider, fixture)
    result = receiver.send(headers, body)
    assert result.status_code == 202, result.body
    assert result.body["status"] == "queued"
    deployments = receiver.deployments()
    assert sorted(result.body["deployments"]) == [d.id for d in deployments]
    assert {f"{d.fraise}/{d.environment}" for d in deployments} == expected
    assert {d.trigger for d in deployments} == {"webhook"}
    assert all(d.status == "queued" for d in deployments)
    if commit:
        assert {d.requested_commit for d in deployments} == {commit}
    (event,) = receiver.store.webhooks.list()
    assert event["outcome"] == "queued"
    assert sorted(event["deployment_ids"]) == sorted(result.body["deployments"])
    assert {d.webhook_event_id for d in deployments} == {event["id"]}
    stored = receiver.rows("SELECT payload FROM tb_webhook_event")[0]["payload"]
    assert stored and json.loads(stored)  # accepted bodies are kept (capped)


def test_github_form_encoded_body(receiver):
    payload = fixture_bytes("github", "push_with-new-branch.payload.json").decode()
    body = urlencode({"payload": payload}).encode()
    headers = github_headers("push", body, **{"Content-Type": "application/x-www-form-urlencoded"})
    result = receiver.send(headers, body)
    assert result.status_code == 202, result.body


def test_ping_answers_pong(receiver):
    headers, body = signed("github", "ping_payload.json", event="ping")
    assert receiver.send(headers, body).body == {"status": "pong"}
    assert receiver.deployments() == []


def test_bitbucket_server_sha1_signature(receiver):
    body = fixture_bytes("bitbucket", "server_refs_changed.json")
    result = receiver.send(bitbucket_server_headers("repo:refs_changed", body, algorithm="sha1"),
                           body)
    assert result.status_code == 202, result.body


def test_gitlab_tag_push_routes_to_tags_pattern(receiver):
    headers, body = signed("gitlab", "tag_push_hook.json", event="Tag Push Hook")
    result = receiver.send(headers, body)
    assert result.status_code == 202, result.body
    assert [f"{d.fraise}/{d.environment}" for d in receiver.deployments()] == ["gl/release"]


def test_paths_filter_uses_changed_files(receiver):
    # The GitLab push touches app/views.py: production (app/*) deploys, docs (docs/*) does not.
    headers, body = signed("gitlab", "push_hook.json")
    receiver.send(headers, body)
    assert [d.environment for d in receiver.deployments() if d.fraise == "gl"] == ["production"]


def test_branch_glob(receiver):
    payload = json.loads(fixture_bytes("github", "push_with-new-branch.payload.json"))
    payload["ref"] = "refs/heads/feature/login"
    body = json.dumps(payload).encode()
    result = receiver.send(github_headers("push", body), body)
    assert result.status_code == 202, result.body
    assert [d.environment for d in receiver.deployments()] == ["features"]
    assert receiver.deployments()[0].branch == "feature/login"


def test_branch_deletion_and_unmapped_branch_are_recorded_and_ignored(receiver):
    headers, body = signed("github", "push_payload.json")  # a deleted tag
    result = receiver.send(headers, body)
    assert result.status_code == 200
    assert result.body["status"] == "ignored"
    assert "deleted" in result.body["reason"]
    payload = json.loads(fixture_bytes("github", "push_with-new-branch.payload.json"))
    payload["ref"] = "refs/heads/unmapped"
    body = json.dumps(payload).encode()
    result = receiver.send(github_headers("push", body, **{"X-GitHub-Delivery": "other"}), body)
    assert result.body == {"status": "ignored",
                           "reason": "branch 'unmapped' is not mapped to any environment"}
    assert receiver.deployments() == []
    assert [e["outcome"] for e in receiver.store.webhooks.list()] == ["ignored", "ignored"]


def test_repository_mismatch_deploys_nothing(receiver):
    payload = json.loads(fixture_bytes("github", "push_with-new-branch.payload.json"))
    repo = payload["repository"]
    repo.update(full_name="mallory/Hello-World", clone_url="https://github.com/mallory/x.git",
                ssh_url="git@github.com:mallory/x.git", git_url="", html_url="")
    body = json.dumps(payload).encode()
    result = receiver.send(github_headers("push", body), body)
    assert result.status_code == 200
    assert result.body["status"] == "ignored"
    assert "not the repository of any configured fraise" in result.body["reason"]
    assert receiver.deployments() == []


@pytest.mark.parametrize(("fixture", "path", "headers"), [
    ("cloud_repo_push.json", ("push", "changes"), bitbucket_cloud_headers),
    ("server_refs_changed.json", ("changes",), bitbucket_server_headers),
])
def test_a_bitbucket_push_without_changes_says_no_ref_changed(receiver, fixture, path, headers):
    payload = json.loads(fixture_bytes("bitbucket", fixture))
    parent = payload
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = []
    body = json.dumps(payload).encode()
    event = "repo:push" if fixture.startswith("cloud") else "repo:refs_changed"
    result = receiver.send(headers(event, body), body)
    assert result.body == {"status": "ignored",
                           "reason": "no ref changed in this push: nothing to deploy"}
    assert receiver.deployments() == []


def test_replayed_delivery_is_a_duplicate(receiver):
    headers, body = signed("github", "push_with-new-branch.payload.json")
    first = receiver.send(headers, body)
    again = receiver.send(headers, body)
    assert first.status_code == 202
    assert (again.status_code, again.body) == (200, {"status": "duplicate"})
    # Same body under a new delivery id within the window: still the same push.
    third = receiver.send({**headers, "X-GitHub-Delivery": "a-new-id"}, body)
    assert third.body == {"status": "duplicate"}
    assert len(receiver.deployments()) == 2  # production + mapped, once
    outcomes = [e["outcome"] for e in receiver.store.webhooks.list()]
    assert outcomes == ["duplicate", "duplicate", "queued"]


def test_duplicate_window_zero_compares_delivery_ids_only(tmp_path):
    receiver = Receiver(tmp_path, extra="webhook:\n  duplicate_window_seconds: 0\n")
    try:
        headers, body = signed("github", "push_with-new-branch.payload.json")
        assert receiver.send(headers, body).status_code == 202
        assert receiver.send({**headers, "X-GitHub-Delivery": "b"}, body).status_code == 202
        assert receiver.send({**headers, "X-GitHub-Delivery": "b"}, body).body == {
            "status": "duplicate"}
    finally:
        receiver.close()


def test_per_fraise_secret_applies(receiver):
    body = fixture_bytes("forgejo", "push.json")
    from tests.providers._support import forgejo_headers

    # Signed with the top-level secret, but fraise fj overrides it for forgejo.
    result = receiver.send(forgejo_headers("push", body, SECRET), body)
    assert result.status_code == 401
    assert receiver.deployments() == []


def test_gitlab_stale_signing_timestamp_is_refused(receiver):
    body = fixture_bytes("gitlab", "push_hook.json")
    headers = gitlab_headers("Push Hook", body, signed_at=int(time.time()) - 600)
    result = receiver.send(headers, body)
    assert result.status_code == 401
    assert "window" in result.body["reason"]
