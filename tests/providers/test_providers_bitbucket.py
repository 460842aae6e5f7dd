"""Bitbucket Cloud (repo:push) and Server / Data Center (repo:refs_changed, diagnostics:ping)."""

from __future__ import annotations

import json

import pytest

from fraisier.providers import MalformedPayload, Secrets, SignatureError, get_provider
from tests.providers._support import (
    DELIVERY,
    SECRET,
    bitbucket_cloud_headers,
    bitbucket_server_headers,
    fixture_bytes,
)

bitbucket = get_provider("bitbucket")
SECRETS = Secrets(webhook_secret=SECRET)
CLOUD = fixture_bytes("bitbucket", "cloud_repo_push.json")
SERVER = fixture_bytes("bitbucket", "server_refs_changed.json")


def test_cloud_push_carries_one_event_per_ref() -> None:
    headers = bitbucket_cloud_headers("repo:push", CLOUD)
    bitbucket.verify(headers, CLOUD, SECRETS)
    delivery = bitbucket.parse(headers, CLOUD)

    assert (delivery.provider, delivery.event_type, delivery.kind) == (
        "bitbucket",
        "repo:push",
        "push",
    )
    assert delivery.delivery_id == DELIVERY
    assert delivery.repository == "acme/web"
    branch, tag = delivery.pushes
    assert branch.ref == "refs/heads/main"
    assert branch.branch == "main"
    assert branch.before == "1e65c05c1d5171631d92438a13901ca7dae9618c"
    assert branch.after == "709d658dc5b6d6afcd46049c2f332ee3f515a67d"
    assert branch.changed_paths is None  # Cloud does not list files
    assert branch.commit_message == "Add the order history page\n"
    assert branch.commit_author == "Jane Doe <jane@example.com>"
    assert branch.commit_timestamp == "2026-11-20T08:41:37+00:00"
    assert branch.sender == "jdoe"
    assert branch.clone_urls == ("https://bitbucket.org/acme/web",)
    assert branch.deleted is False

    assert tag.ref == "refs/tags/v2.3.0"
    assert tag.tag == "v2.3.0"
    assert tag.before == "0" * 40
    assert tag.after == "709d658dc5b6d6afcd46049c2f332ee3f515a67d"
    assert tag.extra["created"] is True


def test_cloud_branch_closed_is_deleted() -> None:
    payload = json.loads(CLOUD)
    change = payload["push"]["changes"][0]
    change.update(new=None, closed=True)
    body = json.dumps(payload).encode()
    push = bitbucket.parse(bitbucket_cloud_headers("repo:push", body), body).pushes[0]
    assert push.deleted is True
    assert push.after == "0" * 40
    assert push.ref == "refs/heads/main"


def test_server_refs_changed() -> None:
    headers = bitbucket_server_headers("repo:refs_changed", SERVER)
    bitbucket.verify(headers, SERVER, SECRETS)
    delivery = bitbucket.parse(headers, SERVER)

    assert (delivery.event_type, delivery.kind) == ("repo:refs_changed", "push")
    assert delivery.delivery_id == DELIVERY
    assert delivery.repository == "ACME/web"
    main, gone = delivery.pushes
    assert main.repository == "ACME/web"
    assert main.ref == "refs/heads/main"
    assert main.before == "f09c8889a2d234985734958795a31589cd91ffda"
    assert main.after == "22671f0349857934857983457983475ec39f196b"
    assert main.deleted is False
    assert main.changed_paths is None
    assert main.sender == "jdoe"
    assert main.commit_message == "Bump the payment client"
    assert main.commit_author == "jdoe"
    assert main.commit_timestamp == "2026-11-20T00:45:32Z"
    assert main.clone_urls[:2] == (
        "ssh://git@bitbucket.example.com:7999/acme/web.git",
        "https://bitbucket.example.com/scm/acme/web.git",
    )
    assert gone.ref == "refs/heads/old-feature"
    assert gone.deleted is True
    assert gone.after == "0" * 40
    assert gone.commit_message == ""


def test_server_sha1_signature_from_older_servers() -> None:
    headers = bitbucket_server_headers("repo:refs_changed", SERVER, algorithm="sha1")
    bitbucket.verify(headers, SERVER, SECRETS)


def test_server_ping() -> None:
    body = b'{"test": true}'
    headers = bitbucket_server_headers("diagnostics:ping", body)
    bitbucket.verify(headers, body, SECRETS)
    delivery = bitbucket.parse(headers, body)
    assert (delivery.kind, delivery.pushes, delivery.repository) == ("ping", (), "")


def test_other_event() -> None:
    body = b'{"repository": {"full_name": "acme/web"}, "pullrequest": {}}'
    delivery = bitbucket.parse(bitbucket_cloud_headers("pullrequest:comment_created", body),
                               body)
    assert (delivery.kind, delivery.repository) == ("other", "acme/web")
    # A pull-request event previews act on must say which pull request.
    with pytest.raises(MalformedPayload, match="missing repository or pullrequest"):
        bitbucket.parse(bitbucket_cloud_headers("pullrequest:created", body), body)


def test_missing_signature() -> None:
    headers = bitbucket_cloud_headers("repo:push", CLOUD)
    del headers["X-Hub-Signature"]
    with pytest.raises(SignatureError, match="missing"):
        bitbucket.verify(headers, CLOUD, SECRETS)


def test_wrong_secret() -> None:
    headers = bitbucket_server_headers("repo:refs_changed", SERVER, secret="nope")
    with pytest.raises(SignatureError):
        bitbucket.verify(headers, SERVER, SECRETS)


def test_tampered_body() -> None:
    headers = bitbucket_cloud_headers("repo:push", CLOUD)
    with pytest.raises(SignatureError):
        bitbucket.verify(headers, CLOUD.replace(b"709d658d", b"709d658e", 1), SECRETS)


def test_unknown_algorithm() -> None:
    headers = bitbucket_cloud_headers("repo:push", CLOUD)
    headers["X-Hub-Signature"] = headers["X-Hub-Signature"].replace("sha256=", "md5=")
    with pytest.raises(SignatureError, match="unsupported"):
        bitbucket.verify(headers, CLOUD, SECRETS)


def test_no_secret_configured_fails_closed() -> None:
    headers = bitbucket_cloud_headers("repo:push", CLOUD)
    with pytest.raises(SignatureError, match="no webhook secret configured for bitbucket"):
        bitbucket.verify(headers, CLOUD, Secrets(secret_token="gitlab-only"))


@pytest.mark.parametrize(
    ("event", "body"),
    [
        ("repo:push", b"<xml/>"),
        ("repo:push", b"[]"),
        ("repo:push", b'{"push": {"changes": []}}'),
        ("repo:push", b'{"repository": {"full_name": "a/b"}, "push": {"changes": {}}}'),
        (
            "repo:push",
            b'{"repository": {"full_name": "a/b"}, "push": {"changes": [{"new": {"type": "branch", "name": "x"}}]}}',
        ),
        ("repo:refs_changed", b'{"changes": []}'),
        (
            "repo:refs_changed",
            b'{"repository": {"slug": "web", "project": {"key": "A"}}, "changes": [{"ref": {"id": "main"}}]}',
        ),
    ],
    ids=[
        "xml",
        "list",
        "cloud-no-repository",
        "cloud-changes-object",
        "cloud-no-hash",
        "server-no-repository",
        "server-short-ref",
    ],
)
def test_malformed(event: str, body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        bitbucket.parse(bitbucket_cloud_headers(event, body), body)
