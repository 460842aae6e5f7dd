"""Gitea and Forgejo: bare-hex signatures, GitHub look-alike headers."""

from __future__ import annotations

import pytest

from fraisier.providers import MalformedPayload, Secrets, SignatureError, get_provider
from tests.providers._support import (
    DELIVERY,
    SECRET,
    fixture_bytes,
    forgejo_headers,
    gitea_headers,
    hex_hmac,
)

SECRETS = Secrets(webhook_secret=SECRET)
GITEA_PUSH = fixture_bytes("gitea", "push.json")
FORGEJO_PUSH = fixture_bytes("forgejo", "push.json")


def test_gitea_push() -> None:
    gitea = get_provider("gitea")
    headers = gitea_headers("push", GITEA_PUSH)
    gitea.verify(headers, GITEA_PUSH, SECRETS)
    delivery = gitea.parse(headers, GITEA_PUSH)

    assert (delivery.provider, delivery.event_type, delivery.kind) == ("gitea", "push", "push")
    assert delivery.delivery_id == DELIVERY
    assert delivery.repository == "acme/web"
    (push,) = delivery.pushes
    assert push.provider == "gitea"
    assert push.ref == "refs/heads/main"
    assert push.branch == "main"
    assert push.before == "28e1879d029cb852e4844d9c718537df08844e03"
    assert push.after == "bffeb74224043ba2feb48d137756c8a9331c449a"
    assert push.changed_paths == (
        "app/health.py",
        "app/settings.py",
        "app/urls.py",
        "config/legacy.ini",
    )
    assert push.clone_urls == (
        "https://gitea.example.com/acme/web.git",
        "git@gitea.example.com:acme/web.git",
        "https://gitea.example.com/acme/web",
    )
    assert push.sender == "jdoe"
    assert push.commit_message == "Remove legacy settings\n"
    assert push.commit_author == "Jane Doe"


def test_forgejo_push() -> None:
    forgejo = get_provider("forgejo")
    headers = forgejo_headers("push", FORGEJO_PUSH)
    forgejo.verify(headers, FORGEJO_PUSH, SECRETS)
    delivery = forgejo.parse(headers, FORGEJO_PUSH)

    assert delivery.provider == "forgejo"
    assert delivery.delivery_id == DELIVERY
    (push,) = delivery.pushes
    assert push.provider == "forgejo"
    assert push.repository == "acme/web"
    assert push.ref == "refs/heads/release"
    assert push.after == "e0a6d0c2f1b3a4958677d6c5b4a3928170f6e5d4"
    assert "git@codeberg.example.org:acme/web.git" in push.clone_urls


def test_forgejo_headers_name_the_flavour_whichever_entry_parses() -> None:
    headers = forgejo_headers("push", FORGEJO_PUSH)
    assert get_provider("gitea").parse(headers, FORGEJO_PUSH).provider == "forgejo"


def test_forgejo_signature_is_checked_before_the_others() -> None:
    headers = forgejo_headers("push", FORGEJO_PUSH)
    headers["X-Forgejo-Signature"] = "0" * 64  # the Gitea and Hub headers still verify
    with pytest.raises(SignatureError):
        get_provider("forgejo").verify(headers, FORGEJO_PUSH, SECRETS)


def test_hub_signature_256_alone_is_accepted() -> None:
    headers = {
        "X-Gitea-Event": "push",
        "X-Hub-Signature-256": "sha256=" + hex_hmac(GITEA_PUSH),
    }
    get_provider("gitea").verify(headers, GITEA_PUSH, SECRETS)


def test_uppercase_hex_signature_is_accepted() -> None:
    headers = gitea_headers("push", GITEA_PUSH)
    headers["X-Gitea-Signature"] = headers["X-Gitea-Signature"].upper()
    get_provider("gitea").verify(headers, GITEA_PUSH, SECRETS)


def test_missing_signature() -> None:
    headers = {"X-Gitea-Event": "push", "X-Gitea-Delivery": DELIVERY}
    with pytest.raises(SignatureError, match="missing"):
        get_provider("gitea").verify(headers, GITEA_PUSH, SECRETS)


def test_wrong_secret() -> None:
    headers = gitea_headers("push", GITEA_PUSH, secret="wrong")
    with pytest.raises(SignatureError):
        get_provider("gitea").verify(headers, GITEA_PUSH, SECRETS)


def test_tampered_body() -> None:
    headers = forgejo_headers("push", FORGEJO_PUSH)
    with pytest.raises(SignatureError):
        get_provider("forgejo").verify(headers, FORGEJO_PUSH[:-2] + b" }", SECRETS)


@pytest.mark.parametrize("name", ["gitea", "forgejo"])
def test_no_secret_configured_fails_closed(name: str) -> None:
    headers = (
        forgejo_headers("push", FORGEJO_PUSH)
        if name == "forgejo"
        else gitea_headers("push", GITEA_PUSH)
    )
    with pytest.raises(SignatureError, match=f"no webhook secret configured for {name}"):
        get_provider(name).verify(headers, GITEA_PUSH, Secrets())


def test_other_event() -> None:
    body = b'{"action": "opened", "repository": {"full_name": "acme/web"}}'
    delivery = get_provider("gitea").parse(gitea_headers("issues", body), body)
    assert (delivery.kind, delivery.repository) == ("other", "acme/web")
    # A pull-request event previews act on must say which pull request.
    with pytest.raises(MalformedPayload, match="missing repository or pull_request"):
        get_provider("gitea").parse(gitea_headers("pull_request", body), body)


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[{}]",
        b'{"ref": "refs/heads/main", "after": "bffeb74224043ba2feb48d137756c8a9331c449a"}',
        b'{"repository": "acme/web"}',
    ],
    ids=["not-json", "list", "missing-repository", "repository-not-object"],
)
def test_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        get_provider("gitea").parse(gitea_headers("push", body), body)
