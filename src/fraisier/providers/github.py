"""GitHub (and GitHub Enterprise Server) webhooks.

Headers: X-GitHub-Event names the event, X-GitHub-Delivery is a GUID per
delivery, X-Hub-Signature-256 is "sha256=" + hex HMAC-SHA256 of the raw body.
The legacy SHA-1 X-Hub-Signature is not accepted: every supported GitHub
version sends the SHA-256 one.

A webhook may be configured with content type application/json or
application/x-www-form-urlencoded; the latter wraps the same JSON in a
`payload` form field and is signed as sent, i.e. over the form-encoded bytes.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import parse_qs

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
    check_prefixed_signature,
    is_zero_sha,
    load_json_object,
    lower_headers,
    media_type,
    optional_sha,
    pull_request_delivery,
    require_secret,
    unique_urls,
    valid_ref,
    valid_sha,
)
from fraisier.providers.pull_requests import parse_github


class GitHubProvider:
    name = "github"

    def detect(self, headers: Headers) -> bool:
        return "x-github-event" in lower_headers(headers)

    def verify(
        self, headers: Headers, body: bytes, secrets: Secrets, now: float | None = None
    ) -> None:
        secret = require_secret(secrets.webhook_secret, self.name)
        given = lower_headers(headers).get("x-hub-signature-256")
        check_prefixed_signature(given, secret, body)

    def parse(self, headers: Headers, body: bytes) -> Delivery:
        lowered = lower_headers(headers)
        event_type = lowered.get("x-github-event", "")
        if not event_type:
            raise MalformedPayload("missing X-GitHub-Event header")
        payload = _decode_body(body, media_type(lowered))
        repository = as_text(as_mapping(payload.get("repository")).get("full_name"))
        delivery_id = lowered.get("x-github-delivery") or None
        if event_type == "push":
            push = parse_push(payload)
            return Delivery(self.name, event_type, delivery_id, "push", (push,), push.repository)
        if event_type == "pull_request":
            return pull_request_delivery(self.name, event_type, delivery_id,
                                         parse_github(payload), repository)
        kind: Literal["ping", "other"] = "ping" if event_type == "ping" else "other"
        return Delivery(self.name, event_type, delivery_id, kind, (), repository)


def _decode_body(body: bytes, content_type: str) -> dict[str, Any]:
    if content_type != "application/x-www-form-urlencoded":
        return load_json_object(body)
    try:
        form = parse_qs(body.decode("ascii"), max_num_fields=100)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedPayload("form body cannot be decoded") from exc
    values = form.get("payload")
    if not values:
        raise MalformedPayload("form body has no payload field")
    return load_json_object(values[0])


def parse_push(payload: dict[str, Any]) -> PushEvent:
    """A `push` payload as a PushEvent. Also used for anything shaped like one."""
    repo = payload.get("repository")
    if not isinstance(repo, dict) or not as_text(repo.get("full_name")):
        raise MalformedPayload("missing repository")
    ref = valid_ref(payload.get("ref"))
    before = optional_sha(payload.get("before"), "before")
    after = valid_sha(payload.get("after"), "after")
    # GitHub says so explicitly; the zero sha is the same fact in git's words.
    deleted = payload.get("deleted") is True or is_zero_sha(after)
    head = as_mapping(payload.get("head_commit"))
    author = as_mapping(head.get("author"))
    sender = as_text(as_mapping(payload.get("sender")).get("login")) or as_text(
        as_mapping(payload.get("pusher")).get("name")
    )
    return PushEvent(
        provider="github",
        repository=repo["full_name"],
        clone_urls=unique_urls(
            repo.get("clone_url"), repo.get("ssh_url"), repo.get("git_url"), repo.get("html_url")
        ),
        ref=ref,
        before=before,
        after=ZERO_SHA if deleted else after,
        sender=sender,
        commit_message=as_text(head.get("message")),
        commit_author=as_text(author.get("name")) or as_text(author.get("username")),
        commit_timestamp=as_text(head.get("timestamp")),
        changed_paths=changed_paths(payload.get("commits")),
        deleted=deleted,
        event_type="push",
        extra={"created": payload.get("created") is True, "forced": payload.get("forced") is True},
    )


provider = GitHubProvider()
