"""GitHub: real payloads from GitHub's documentation, signed as GitHub signs them."""

from __future__ import annotations

from urllib.parse import quote_plus

import pytest

from fraisier.providers import MalformedPayload, Secrets, SignatureError, get_provider
from tests.providers._support import DELIVERY, SECRET, fixture_bytes, github_headers

github = get_provider("github")
SECRETS = Secrets(webhook_secret=SECRET)
NEW_BRANCH = fixture_bytes("github", "push_with-new-branch.payload.json")
TAG_DELETE = fixture_bytes("github", "push_payload.json")
PING = fixture_bytes("github", "ping_payload.json")


def test_push_json_verifies_and_parses() -> None:
    headers = github_headers("push", NEW_BRANCH)
    github.verify(headers, NEW_BRANCH, SECRETS)
    delivery = github.parse(headers, NEW_BRANCH)

    assert (delivery.provider, delivery.event_type, delivery.kind) == ("github", "push", "push")
    assert delivery.delivery_id == DELIVERY
    assert delivery.repository == "Codertocat/Hello-World"
    (push,) = delivery.pushes
    assert push.repository == "Codertocat/Hello-World"
    assert push.ref == "refs/heads/master"
    assert push.branch == "master"
    assert push.before == "0" * 40
    assert push.after == "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
    assert push.deleted is False
    assert push.changed_paths == ("README.md",)
    assert push.sender == "Codertocat"
    assert push.commit_message == "Initial commit"
    assert push.commit_author == "Codertocat"
    assert push.commit_timestamp == "2019-05-15T15:19:25Z"
    assert push.clone_urls == (
        "https://github.com/Codertocat/Hello-World.git",
        "git@github.com:Codertocat/Hello-World.git",
        "git://github.com/Codertocat/Hello-World.git",
        "https://github.com/Codertocat/Hello-World",
    )


def test_push_form_encoded_is_signed_over_the_form_bytes() -> None:
    body = b"payload=" + quote_plus(NEW_BRANCH.decode()).encode()
    headers = github_headers("push", body, **{"Content-Type": "application/x-www-form-urlencoded"})
    github.verify(headers, body, SECRETS)
    (push,) = github.parse(headers, body).pushes
    assert push.after == "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
    assert push.changed_paths == ("README.md",)

    # A signature over the inner JSON is not a signature over what was sent.
    wrong = github_headers(
        "push", NEW_BRANCH, **{"Content-Type": "application/x-www-form-urlencoded"}
    )
    with pytest.raises(SignatureError):
        github.verify(wrong, body, SECRETS)


def test_form_body_without_payload_field_is_malformed() -> None:
    body = b"other=1"
    headers = github_headers("push", body, **{"Content-Type": "application/x-www-form-urlencoded"})
    with pytest.raises(MalformedPayload):
        github.parse(headers, body)


@pytest.mark.parametrize("name", ["push_payload.json", "push_with-organization.payload.json"])
def test_tag_delete_is_a_deleted_push(name: str) -> None:
    body = fixture_bytes("github", name)
    headers = github_headers("push", body)
    github.verify(headers, body, SECRETS)
    (push,) = github.parse(headers, body).pushes
    assert push.deleted is True
    assert push.ref == "refs/tags/simple-tag"
    assert push.tag == "simple-tag"
    assert push.after == "0" * 40
    assert push.before == "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
    assert push.changed_paths is None  # no commits listed: unknown, not "nothing"


def test_ping() -> None:
    headers = github_headers("ping", PING)
    github.verify(headers, PING, SECRETS)
    delivery = github.parse(headers, PING)
    assert delivery.kind == "ping"
    assert delivery.pushes == ()
    assert delivery.repository == "Octocoders/Hello-World"


def test_other_event_is_other() -> None:
    body = b'{"action": "opened", "repository": {"full_name": "acme/web"}}'
    delivery = github.parse(github_headers("issues", body), body)
    assert (delivery.kind, delivery.repository, delivery.pushes) == ("other", "acme/web", ())


def test_headers_are_case_insensitive() -> None:
    headers = {k.lower(): v for k, v in github_headers("push", NEW_BRANCH).items()}
    github.verify(headers, NEW_BRANCH, SECRETS)
    assert github.parse(headers, NEW_BRANCH).kind == "push"


def test_missing_signature() -> None:
    headers = github_headers("push", NEW_BRANCH)
    del headers["X-Hub-Signature-256"]
    with pytest.raises(SignatureError, match="missing"):
        github.verify(headers, NEW_BRANCH, SECRETS)


def test_wrong_signature() -> None:
    headers = github_headers("push", NEW_BRANCH)
    headers["X-Hub-Signature-256"] = "sha256=" + "0" * 64
    with pytest.raises(SignatureError):
        github.verify(headers, NEW_BRANCH, SECRETS)


def test_sha1_signature_is_not_enough() -> None:
    headers = github_headers("push", NEW_BRANCH)
    headers["X-Hub-Signature-256"] = headers["X-Hub-Signature-256"].replace("sha256=", "sha1=")
    with pytest.raises(SignatureError):
        github.verify(headers, NEW_BRANCH, SECRETS)


def test_wrong_secret() -> None:
    headers = github_headers("push", NEW_BRANCH, secret="not the secret")
    with pytest.raises(SignatureError):
        github.verify(headers, NEW_BRANCH, SECRETS)


def test_no_secret_configured_fails_closed() -> None:
    headers = github_headers("push", NEW_BRANCH)
    with pytest.raises(SignatureError, match="no webhook secret configured for github") as info:
        github.verify(headers, NEW_BRANCH, Secrets())
    assert info.value.status_code == 401


def test_tampered_body() -> None:
    headers = github_headers("push", NEW_BRANCH)
    tampered = bytearray(NEW_BRANCH)
    tampered[100] ^= 0x01
    with pytest.raises(SignatureError):
        github.verify(headers, bytes(tampered), SECRETS)


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2, 3]",
        b'"just a string"',
        b"\xff\xfe\x00garbage",
        b'{"ref": "refs/heads/main", "after": "6113728f27ae82c7b1a177c8d03f9e96e0adf246"}',
        b'{"repository": {"full_name": "a/b"}, "ref": "main", "after": "6113728f27ae82c7b1a177c8d03f9e96e0adf246"}',
        b'{"repository": {"full_name": "a/b"}, "ref": "refs/heads/main", "after": "--upload-pack=x"}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["not-json", "list", "string", "binary", "no-repository", "short-ref", "bad-sha", "deep"],
)
def test_malformed_push(body: bytes) -> None:
    with pytest.raises(MalformedPayload) as info:
        github.parse(github_headers("push", body), body)
    assert info.value.status_code == 400


def test_missing_event_header_is_malformed() -> None:
    headers = github_headers("push", NEW_BRANCH)
    del headers["X-GitHub-Event"]
    with pytest.raises(MalformedPayload):
        github.parse(headers, NEW_BRANCH)
