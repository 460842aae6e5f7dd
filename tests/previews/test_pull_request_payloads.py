"""Every provider's pull-request payload, in its documented shape and signed the way that
provider signs, parsed into the one PullRequestEvent previews act on."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fraisier.domain.previews import PullRequestAction
from fraisier.providers import MalformedPayload, Secrets, SignatureError, detect_provider
from tests.providers._support import (
    GITLAB_TOKEN,
    SECRET,
    bitbucket_cloud_headers,
    bitbucket_server_headers,
    fixture_bytes,
    forgejo_headers,
    gitea_headers,
    github_headers,
    gitlab_headers,
)


def _payload(provider: str, name: str, **changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(fixture_bytes(provider, name))
    payload.update(changes)
    return payload


def _deliver(headers: dict[str, str], body: bytes, secrets: Secrets):
    provider = detect_provider(headers)
    assert provider is not None
    provider.verify(headers, body, secrets)
    return provider.parse(headers, body)


def test_github_opened_synchronize_and_merged() -> None:
    payload = _payload("github", "pull_request_opened.json")
    body = json.dumps(payload).encode()
    delivery = _deliver(github_headers("pull_request", body), body, Secrets(SECRET))
    assert delivery.kind == "pull_request"
    [pull] = delivery.pull_requests
    assert (pull.provider, pull.repository, pull.number, pull.action) == (
        "github", "Codertocat/Hello-World", 2, PullRequestAction.OPENED)
    assert pull.head_sha == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    assert pull.head_branch == "changes" and not pull.from_fork
    assert pull.url == "https://github.com/Codertocat/Hello-World/pull/2"
    assert "https://github.com/Codertocat/Hello-World.git" in pull.clone_urls

    payload["action"] = "synchronize"
    body = json.dumps(payload).encode()
    [pull] = _deliver(github_headers("pull_request", body), body,
                      Secrets(SECRET)).pull_requests
    assert pull.action is PullRequestAction.UPDATED

    payload["action"], payload["pull_request"]["merged"] = "closed", True
    body = json.dumps(payload).encode()
    [pull] = _deliver(github_headers("pull_request", body), body,
                      Secrets(SECRET)).pull_requests
    assert pull.action is PullRequestAction.CLOSED and pull.merged


def test_github_fork_labels_and_bad_signature() -> None:
    payload = _payload("github", "pull_request_opened.json")
    payload["pull_request"]["head"]["repo"]["full_name"] = "mallory/Hello-World"
    body = json.dumps(payload).encode()
    [pull] = _deliver(github_headers("pull_request", body), body,
                      Secrets(SECRET)).pull_requests
    assert pull.from_fork

    payload["action"] = "labeled"
    body = json.dumps(payload).encode()
    delivery = _deliver(github_headers("pull_request", body), body, Secrets(SECRET))
    assert delivery.kind == "other" and delivery.pull_requests == ()

    with pytest.raises(SignatureError):
        _deliver(github_headers("pull_request", body, secret="wrong"), body, Secrets(SECRET))


def test_github_head_that_git_would_refuse_is_malformed() -> None:
    for field, value, message in (("ref", "bad branch", "not a valid git ref"),
                                  ("sha", "--upload-pack=evil", "head commit")):
        payload = _payload("github", "pull_request_opened.json")
        payload["pull_request"]["head"][field] = value
        body = json.dumps(payload).encode()
        with pytest.raises(MalformedPayload, match=message):
            _deliver(github_headers("pull_request", body), body, Secrets(SECRET))


@pytest.mark.parametrize(("action", "oldrev", "expected"), [
    ("open", None, PullRequestAction.OPENED),
    ("reopen", None, PullRequestAction.OPENED),
    ("update", "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567", PullRequestAction.UPDATED),
    ("update", None, None),  # a title or label change: nothing to deploy
    ("close", None, PullRequestAction.CLOSED),
    ("merge", None, PullRequestAction.CLOSED),
    ("approved", None, None),
])
def test_gitlab_merge_request_hook(action: str, oldrev: str | None,
                                   expected: PullRequestAction | None) -> None:
    payload = _payload("gitlab", "merge_request_hook.json")
    payload["object_attributes"]["action"] = action
    if oldrev:
        payload["object_attributes"]["oldrev"] = oldrev
    body = json.dumps(payload).encode()
    delivery = _deliver(gitlab_headers("Merge Request Hook", body), body,
                        Secrets(secret_token=GITLAB_TOKEN))
    if expected is None:
        assert delivery.kind == "other"
        return
    [pull] = delivery.pull_requests
    assert (pull.provider, pull.repository, pull.number, pull.action) == (
        "gitlab", "gitlabhq/gitlab-test", 1, expected)
    assert pull.head_sha == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
    assert pull.head_branch == "ms-viewport" and not pull.from_fork
    assert pull.merged == (action == "merge")


def test_gitlab_fork_is_told_by_project_ids() -> None:
    payload = _payload("gitlab", "merge_request_hook.json")
    payload["object_attributes"]["source_project_id"] = 77
    body = json.dumps(payload).encode()
    [pull] = _deliver(gitlab_headers("Merge Request Hook", body), body,
                      Secrets(secret_token=GITLAB_TOKEN)).pull_requests
    assert pull.from_fork


@pytest.mark.parametrize(("headers", "flavour"), [(gitea_headers, "gitea"),
                                                   (forgejo_headers, "forgejo")])
def test_gitea_and_forgejo(headers: Any, flavour: str) -> None:
    payload = _payload("gitea", "pull_request.json")
    body = json.dumps(payload).encode()
    [pull] = _deliver(headers("pull_request", body), body, Secrets(SECRET)).pull_requests
    assert (pull.provider, pull.repository, pull.number, pull.action) == (
        flavour, "acme/web", 3, PullRequestAction.OPENED)
    assert pull.head_branch == "health"
    payload["action"] = "synchronized"
    body = json.dumps(payload).encode()
    [pull] = _deliver(headers("pull_request", body), body, Secrets(SECRET)).pull_requests
    assert pull.action is PullRequestAction.UPDATED


@pytest.mark.parametrize(("event", "expected"), [
    ("pullrequest:created", PullRequestAction.OPENED),
    ("pullrequest:updated", PullRequestAction.UPDATED),
    ("pullrequest:fulfilled", PullRequestAction.CLOSED),
    ("pullrequest:rejected", PullRequestAction.CLOSED),
])
def test_bitbucket_cloud(event: str, expected: PullRequestAction) -> None:
    body = fixture_bytes("bitbucket", "cloud_pullrequest_created.json")
    [pull] = _deliver(bitbucket_cloud_headers(event, body), body,
                      Secrets(SECRET)).pull_requests
    assert (pull.provider, pull.repository, pull.number, pull.action) == (
        "bitbucket", "acme/web", 4, expected)
    # Bitbucket Cloud names the head by a 12-character prefix; the mirror resolves it.
    assert pull.head_sha == "1e1a1b1c1d1e" and pull.head_branch == "faster-checkout"
    assert pull.merged == (event == "pullrequest:fulfilled")


@pytest.mark.parametrize(("event", "expected"), [
    ("pr:opened", PullRequestAction.OPENED),
    ("pr:from_ref_updated", PullRequestAction.UPDATED),
    ("pr:merged", PullRequestAction.CLOSED),
    ("pr:declined", PullRequestAction.CLOSED),
])
def test_bitbucket_server(event: str, expected: PullRequestAction) -> None:
    body = fixture_bytes("bitbucket", "server_pr_opened.json")
    [pull] = _deliver(bitbucket_server_headers(event, body), body,
                      Secrets(SECRET)).pull_requests
    assert (pull.provider, pull.repository, pull.number, pull.action) == (
        "bitbucket", "ACME/web", 5, expected)
    assert pull.head_sha == "ef8755f06ee4b28c96a847a95cb8ec8ed6ddd1ca"
    assert pull.head_branch == "faster-checkout" and not pull.from_fork
    assert "https://bitbucket.example.com/scm/acme/web.git" in pull.clone_urls
