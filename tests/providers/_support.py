"""Fixture loading and request signing, done the way each provider does it."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

SECRET = "It's a Secret to Everybody"
GITLAB_TOKEN = "gl-secret-token-7f3a"
# Standard Webhooks keys are "whsec_" + base64 of random bytes.
GITLAB_SIGNING_KEY = bytes(range(32))
GITLAB_SIGNING_TOKEN = "whsec_" + base64.b64encode(GITLAB_SIGNING_KEY).decode()

DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958"


def fixture_bytes(provider: str, name: str) -> bytes:
    return (FIXTURES / provider / name).read_bytes()


def hex_hmac(body: bytes, secret: str = SECRET, algorithm: str = "sha256") -> str:
    return hmac.new(secret.encode(), body, getattr(hashlib, algorithm)).hexdigest()


def github_headers(event: str, body: bytes, secret: str = SECRET, **extra: str) -> dict[str, str]:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": DELIVERY,
        "X-GitHub-Hook-ID": "109948940",
        "X-Hub-Signature-256": "sha256=" + hex_hmac(body, secret),
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/044aadd",
        **extra,
    }


def gitea_headers(event: str, body: bytes, secret: str = SECRET) -> dict[str, str]:
    signature = hex_hmac(body, secret)
    return {
        "X-GitHub-Delivery": DELIVERY,
        "X-GitHub-Event": event,
        "X-Gogs-Delivery": DELIVERY,
        "X-Gogs-Event": event,
        "X-Gogs-Signature": signature,
        "X-Gitea-Delivery": DELIVERY,
        "X-Gitea-Event": event,
        "X-Gitea-Event-Type": event,
        "X-Gitea-Signature": signature,
        "X-Hub-Signature": "sha1=" + hex_hmac(body, secret, "sha1"),
        "X-Hub-Signature-256": "sha256=" + signature,
        "Content-Type": "application/json",
    }


def forgejo_headers(event: str, body: bytes, secret: str = SECRET) -> dict[str, str]:
    signature = hex_hmac(body, secret)
    return {
        **gitea_headers(event, body, secret),
        "X-Forgejo-Delivery": DELIVERY,
        "X-Forgejo-Event": event,
        "X-Forgejo-Event-Type": event,
        "X-Forgejo-Signature": signature,
    }


def standard_webhook_signature(message_id: str, timestamp: str, body: bytes, key: bytes) -> str:
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def gitlab_headers(
    event: str,
    body: bytes,
    token: str | None = GITLAB_TOKEN,
    signed_at: int | None = None,
    key: bytes = GITLAB_SIGNING_KEY,
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitLab/18.6.0",
        "X-Gitlab-Event": event,
        "X-Gitlab-Event-UUID": DELIVERY,
        "X-Gitlab-Webhook-UUID": "3c5c0404-c866-44d0-a5c5-ef8c5b8e1f20",
        "X-Gitlab-Instance": "https://gitlab.example.com",
        "Idempotency-Key": "0a4b8d1e-6f70-4c39-9d1b-2d2f1c9e7a11",
    }
    if token is not None:
        headers["X-Gitlab-Token"] = token
    if signed_at is not None:
        message_id = headers["Idempotency-Key"]
        headers["webhook-id"] = message_id
        headers["webhook-timestamp"] = str(signed_at)
        headers["webhook-signature"] = standard_webhook_signature(
            message_id, str(signed_at), body, key
        )
    return headers


def bitbucket_cloud_headers(event: str, body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "Bitbucket-Webhooks/2.0",
        "X-Event-Key": event,
        "X-Hook-UUID": "{2d6d2a3c-1b5e-4f7a-9c0d-8e1f2a3b4c5d}",
        "X-Request-UUID": DELIVERY,
        "X-Attempt-Number": "1",
        "X-Hub-Signature": "sha256=" + hex_hmac(body, secret),
    }


def bitbucket_server_headers(
    event: str, body: bytes, secret: str = SECRET, algorithm: str = "sha256"
) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Atlassian HttpClient 4.2.0 / Bitbucket-9.4.1 (9004001) / Default",
        "X-Event-Key": event,
        "X-Request-Id": DELIVERY,
        "X-Hub-Signature": f"{algorithm}=" + hex_hmac(body, secret, algorithm),
    }
