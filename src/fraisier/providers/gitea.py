"""Gitea and Forgejo webhooks (Forgejo is a Gitea fork with the same payloads).

Both send X-Gitea-Event / X-Gitea-Delivery / X-Gitea-Signature; Forgejo also
sends the X-Forgejo-* twins. For compatibility both ALSO send X-GitHub-Event
and X-GitHub-Delivery, and recent versions X-Hub-Signature-256, which is why
the registry asks this module before the GitHub one.

The signature headers hold the bare hex HMAC-SHA256 of the raw body;
X-Hub-Signature-256 holds the same with a "sha256=" prefix.
"""

from __future__ import annotations

from typing import Any

from fraisier.domain import PushEvent
from fraisier.providers._common import (
    ZERO_SHA,
    Delivery,
    Headers,
    MalformedPayload,
    Secrets,
    as_mapping,
    as_text,
    changed_paths,
    check_hex_signature,
    check_prefixed_signature,
    head_commit,
    is_zero_sha,
    load_json_object,
    lower_headers,
    optional_sha,
    pull_request_delivery,
    require_secret,
    unique_urls,
    valid_ref,
    valid_sha,
)
from fraisier.providers.pull_requests import parse_github


def _is_forgejo(headers: dict[str, str]) -> bool:
    return any(name.startswith("x-forgejo-") for name in headers)


class GiteaProvider:
    """One implementation, registered twice: `name` only decides what `detect` claims."""

    def __init__(self, name: str) -> None:
        self.name = name

    def detect(self, headers: Headers) -> bool:
        lowered = lower_headers(headers)
        if self.name == "forgejo":
            return "x-forgejo-event" in lowered
        return "x-gitea-event" in lowered or "x-forgejo-event" in lowered

    def verify(
        self, headers: Headers, body: bytes, secrets: Secrets, now: float | None = None
    ) -> None:
        lowered = lower_headers(headers)
        secret = require_secret(secrets.webhook_secret, _flavour(lowered, self.name))
        # Check only the most specific header present: a bad Forgejo signature
        # must not be rescued by some other header that happens to verify.
        for name in ("x-forgejo-signature", "x-gitea-signature"):
            if lowered.get(name):
                check_hex_signature(lowered[name], secret, body)
                return
        check_prefixed_signature(lowered.get("x-hub-signature-256"), secret, body)

    def parse(self, headers: Headers, body: bytes) -> Delivery:
        lowered = lower_headers(headers)
        flavour = _flavour(lowered, self.name)
        event_type = lowered.get("x-forgejo-event") or lowered.get("x-gitea-event") or ""
        if not event_type:
            raise MalformedPayload("missing X-Gitea-Event / X-Forgejo-Event header")
        payload = load_json_object(body)
        delivery_id = (
            lowered.get("x-forgejo-delivery")
            or lowered.get("x-gitea-delivery")
            or lowered.get("x-github-delivery")
            or None
        )
        if event_type == "push":
            push = parse_push(payload, flavour)
            return Delivery(flavour, event_type, delivery_id, "push", (push,), push.repository)
        repository = as_text(as_mapping(payload.get("repository")).get("full_name"))
        if event_type == "pull_request":
            return pull_request_delivery(flavour, event_type, delivery_id,
                                         parse_github(payload, flavour), repository)
        return Delivery(flavour, event_type, delivery_id, "other", (), repository)


def _flavour(headers: dict[str, str], default: str) -> str:
    if _is_forgejo(headers):
        return "forgejo"
    return "gitea" if any(name.startswith("x-gitea-") for name in headers) else default


def parse_push(payload: dict[str, Any], flavour: str) -> PushEvent:
    repo = payload.get("repository")
    if not isinstance(repo, dict) or not as_text(repo.get("full_name")):
        raise MalformedPayload("missing repository")
    ref = valid_ref(payload.get("ref"))
    before = optional_sha(payload.get("before"), "before")
    after = valid_sha(payload.get("after"), "after")
    deleted = is_zero_sha(after)
    commits = payload.get("commits")
    head = as_mapping(payload.get("head_commit")) or head_commit(commits, after)
    author = as_mapping(head.get("author"))
    sender = (
        as_text(as_mapping(payload.get("pusher")).get("login"))
        or as_text(as_mapping(payload.get("pusher")).get("username"))
        or as_text(as_mapping(payload.get("sender")).get("login"))
    )
    return PushEvent(
        provider=flavour,
        repository=repo["full_name"],
        clone_urls=unique_urls(repo.get("clone_url"), repo.get("ssh_url"), repo.get("html_url")),
        ref=ref,
        before=before,
        after=ZERO_SHA if deleted else after,
        sender=sender,
        commit_message=as_text(head.get("message")),
        commit_author=as_text(author.get("name")) or as_text(author.get("username")),
        commit_timestamp=as_text(head.get("timestamp")),
        changed_paths=changed_paths(commits),
        deleted=deleted,
        event_type="push",
    )


gitea_provider = GiteaProvider("gitea")
forgejo_provider = GiteaProvider("forgejo")
