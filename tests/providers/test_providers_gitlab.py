"""GitLab: secret token, Standard Webhooks signing token, push and tag push."""

from __future__ import annotations

import json

import pytest

from fraisier.providers import MalformedPayload, Secrets, SignatureError, get_provider
from tests.providers._support import (
    DELIVERY,
    GITLAB_SIGNING_TOKEN,
    GITLAB_TOKEN,
    fixture_bytes,
    gitlab_headers,
)

gitlab = get_provider("gitlab")
PUSH = fixture_bytes("gitlab", "push_hook.json")
TAG_PUSH = fixture_bytes("gitlab", "tag_push_hook.json")
NOW = 1_763_600_000
TOKEN_ONLY = Secrets(secret_token=GITLAB_TOKEN)
SIGNING_ONLY = Secrets(signing_token=GITLAB_SIGNING_TOKEN)
BOTH = Secrets(secret_token=GITLAB_TOKEN, signing_token=GITLAB_SIGNING_TOKEN)


def test_push_hook() -> None:
    headers = gitlab_headers("Push Hook", PUSH)
    gitlab.verify(headers, PUSH, TOKEN_ONLY)
    delivery = gitlab.parse(headers, PUSH)

    assert (delivery.provider, delivery.event_type, delivery.kind) == (
        "gitlab",
        "Push Hook",
        "push",
    )
    assert delivery.delivery_id == DELIVERY
    assert delivery.repository == "acme/web"
    (push,) = delivery.pushes
    assert push.ref == "refs/heads/main"
    assert push.branch == "main"
    assert push.before == "95790bf891e76fee5e1747ab589903a6a1f80f22"
    assert push.after == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
    assert push.changed_paths == (
        "README.md",
        "app/views.py",
        "static/old.css",
        "templates/catalogue.html",
    )
    assert push.sender == "jdoe"
    assert push.commit_message == "Fix the readme and drop the old stylesheet\n"
    assert push.commit_author == "Jane Doe"
    assert push.commit_timestamp == "2026-11-20T09:30:02+00:00"
    assert push.deleted is False
    assert "git@gitlab.example.com:acme/web.git" in push.clone_urls
    assert "https://gitlab.example.com/acme/web.git" in push.clone_urls
    assert "https://gitlab.example.com/acme/web" in push.clone_urls
    assert push.event_type == "Push Hook"


def test_tag_push_hook_deploys_the_commit_the_tag_points_to() -> None:
    headers = gitlab_headers("Tag Push Hook", TAG_PUSH)
    gitlab.verify(headers, TAG_PUSH, TOKEN_ONLY)
    delivery = gitlab.parse(headers, TAG_PUSH)
    assert delivery.kind == "push"
    (push,) = delivery.pushes
    assert push.ref == "refs/tags/v1.4.0"
    assert push.tag == "v1.4.0"
    assert push.after == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"  # checkout_sha
    assert push.commit_message == "Release 1.4.0"
    assert push.changed_paths is None


def test_system_hook_push_is_a_push() -> None:
    headers = gitlab_headers("System Hook", PUSH)
    delivery = gitlab.parse(headers, PUSH)
    assert delivery.kind == "push"
    assert delivery.pushes[0].after == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"


def test_system_hook_other_kind_is_other() -> None:
    body = b'{"event_name": "project_create", "path_with_namespace": "acme/new"}'
    assert gitlab.parse(gitlab_headers("System Hook", body), body).kind == "other"


def test_other_event_is_other() -> None:
    body = b'{"object_kind": "merge_request", "project": {"path_with_namespace": "acme/web"}}'
    delivery = gitlab.parse(gitlab_headers("Merge Request Hook", body), body)
    assert (delivery.kind, delivery.repository) == ("other", "acme/web")


def test_branch_deletion_is_deleted() -> None:
    payload = json.loads(PUSH)
    payload.update(after="0" * 40, checkout_sha=None, commits=[], total_commits_count=0)
    body = json.dumps(payload).encode()
    (push,) = gitlab.parse(gitlab_headers("Push Hook", body), body).pushes
    assert push.deleted is True
    assert push.after == "0" * 40


def test_truncated_commit_list_means_unknown_paths() -> None:
    payload = json.loads(PUSH)
    payload["total_commits_count"] = 45
    body = json.dumps(payload).encode()
    (push,) = gitlab.parse(gitlab_headers("Push Hook", body), body).pushes
    assert push.changed_paths is None


def test_wrong_token() -> None:
    headers = gitlab_headers("Push Hook", PUSH, token="guess")
    with pytest.raises(SignatureError, match="does not match"):
        gitlab.verify(headers, PUSH, TOKEN_ONLY)


def test_missing_token() -> None:
    headers = gitlab_headers("Push Hook", PUSH, token=None)
    with pytest.raises(SignatureError, match="missing"):
        gitlab.verify(headers, PUSH, TOKEN_ONLY)


def test_no_secret_configured_fails_closed() -> None:
    headers = gitlab_headers("Push Hook", PUSH, signed_at=NOW)
    with pytest.raises(SignatureError, match="no webhook secret configured for gitlab"):
        gitlab.verify(headers, PUSH, Secrets(webhook_secret="irrelevant"), now=NOW)


def test_signing_token_valid() -> None:
    headers = gitlab_headers("Push Hook", PUSH, token=None, signed_at=NOW)
    gitlab.verify(headers, PUSH, SIGNING_ONLY, now=NOW + 30)
    assert gitlab.parse(headers, PUSH).delivery_id == DELIVERY


def test_delivery_id_falls_back_to_webhook_id() -> None:
    headers = gitlab_headers("Push Hook", PUSH, token=None, signed_at=NOW)
    del headers["X-Gitlab-Event-UUID"]
    assert gitlab.parse(headers, PUSH).delivery_id == headers["webhook-id"]


def test_signing_token_any_listed_signature_may_match() -> None:
    headers = gitlab_headers("Push Hook", PUSH, token=None, signed_at=NOW)
    headers["webhook-signature"] = "v1,AAAA v2,zzz " + headers["webhook-signature"]
    gitlab.verify(headers, PUSH, SIGNING_ONLY, now=NOW)


def test_signing_token_without_prefix_uses_raw_bytes() -> None:
    headers = gitlab_headers("Push Hook", PUSH, token=None, signed_at=NOW, key=b"plain-secret")
    gitlab.verify(headers, PUSH, Secrets(signing_token="plain-secret"), now=NOW)


@pytest.mark.parametrize("offset", [-301, 301, -3600, 10**9])
def test_signing_token_stale_or_future_timestamp(offset: int) -> None:
    headers = gitlab_headers("Push Hook", PUSH, token=None, signed_at=NOW)
    with pytest.raises(SignatureError, match="window"):
        gitlab.verify(headers, PUSH, SIGNING_ONLY, now=NOW - offset)


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_signing_token_missing_header(header: str) -> None:
    headers = gitlab_headers("Push Hook", PUSH, token=None, signed_at=NOW)
    del headers[header]
    with pytest.raises(SignatureError, match="missing"):
        gitlab.verify(headers, PUSH, SIGNING_ONLY, now=NOW)


def test_signing_token_tampered_body() -> None:
    headers = gitlab_headers("Push Hook", PUSH, token=None, signed_at=NOW)
    tampered = PUSH.replace(b"acme/web", b"acme/wev", 1)
    with pytest.raises(SignatureError):
        gitlab.verify(headers, tampered, SIGNING_ONLY, now=NOW)


def test_signing_token_wrong_key() -> None:
    headers = gitlab_headers("Push Hook", PUSH, token=None, signed_at=NOW, key=b"\x01" * 32)
    with pytest.raises(SignatureError):
        gitlab.verify(headers, PUSH, SIGNING_ONLY, now=NOW)


def test_signature_binds_the_message_id() -> None:
    headers = gitlab_headers("Push Hook", PUSH, token=None, signed_at=NOW)
    headers["webhook-id"] = "another-delivery"
    with pytest.raises(SignatureError):
        gitlab.verify(headers, PUSH, SIGNING_ONLY, now=NOW)


def test_both_configured_both_required() -> None:
    good = gitlab_headers("Push Hook", PUSH, signed_at=NOW)
    gitlab.verify(good, PUSH, BOTH, now=NOW)
    with pytest.raises(SignatureError):
        gitlab.verify(gitlab_headers("Push Hook", PUSH, signed_at=None), PUSH, BOTH, now=NOW)
    with pytest.raises(SignatureError):
        gitlab.verify(
            gitlab_headers("Push Hook", PUSH, token="wrong", signed_at=NOW), PUSH, BOTH, now=NOW
        )


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"nope",
        b"[]",
        b'{"object_kind": "push", "ref": "refs/heads/main", "after": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"}',
    ],
    ids=["empty", "not-json", "list", "missing-repository"],
)
def test_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        gitlab.parse(gitlab_headers("Push Hook", body), body)
