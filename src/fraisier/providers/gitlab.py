"""GitLab webhooks: project, group and system hooks.

Headers: X-Gitlab-Event ("Push Hook", "Tag Push Hook", "System Hook", ...),
X-Gitlab-Event-UUID per delivery, X-Gitlab-Token carrying the configured
secret token verbatim. GitLab's newer signing token follows the Standard
Webhooks scheme: headers webhook-id, webhook-timestamp (Unix seconds) and
webhook-signature, a space-separated list of "v1,<base64 HMAC-SHA256>" over
"<webhook-id>.<webhook-timestamp>.<raw body>".

The "Test" button sends an ordinary Push Hook body, so it needs no special case.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from typing import Any

from fraisier.domain import PushEvent
from fraisier.providers._common import (
    ZERO_SHA,
    Delivery,
    Headers,
    MalformedPayload,
    Secrets,
    SignatureError,
    as_mapping,
    as_text,
    changed_paths,
    constant_time_equal,
    head_commit,
    is_zero_sha,
    load_json_object,
    lower_headers,
    optional_sha,
    pull_request_delivery,
    unique_urls,
    valid_ref,
    valid_sha,
)
from fraisier.providers.pull_requests import parse_gitlab

# Standard Webhooks' recommended tolerance, both ways: a delivery older than
# this may be a replay; one from the future means a clock we cannot trust.
TIMESTAMP_TOLERANCE_SECONDS = 5 * 60

PUSH_EVENTS = frozenset({"Push Hook", "Tag Push Hook"})
PUSH_OBJECT_KINDS = frozenset({"push", "tag_push"})

_TIMESTAMP_PATTERN = re.compile(r"^[0-9]{1,15}\Z")  # ASCII digits only; int() accepts more


class GitLabProvider:
    name = "gitlab"

    def detect(self, headers: Headers) -> bool:
        return "x-gitlab-event" in lower_headers(headers)

    def verify(
        self, headers: Headers, body: bytes, secrets: Secrets, now: float | None = None
    ) -> None:
        if not secrets.secret_token and not secrets.signing_token:
            raise SignatureError(f"no webhook secret configured for {self.name}")
        lowered = lower_headers(headers)
        # Each configured mechanism must pass on its own: configuring both
        # means the operator wants both.
        if secrets.secret_token:
            given = lowered.get("x-gitlab-token")
            if not given:
                raise SignatureError("missing X-Gitlab-Token")
            if not constant_time_equal(given, secrets.secret_token):
                raise SignatureError("X-Gitlab-Token does not match")
        if secrets.signing_token:
            verify_standard_webhook(lowered, body, secrets.signing_token, now)

    def parse(self, headers: Headers, body: bytes) -> Delivery:
        lowered = lower_headers(headers)
        event_type = lowered.get("x-gitlab-event", "")
        if not event_type:
            raise MalformedPayload("missing X-Gitlab-Event header")
        payload = load_json_object(body)
        delivery_id = lowered.get("x-gitlab-event-uuid") or lowered.get("webhook-id") or None
        object_kind = as_text(payload.get("object_kind"))
        is_push = event_type in PUSH_EVENTS or (
            event_type == "System Hook" and object_kind in PUSH_OBJECT_KINDS
        )
        if is_push:
            push = parse_push(payload, event_type)
            return Delivery(self.name, event_type, delivery_id, "push", (push,), push.repository)
        repository = as_text(as_mapping(payload.get("project")).get("path_with_namespace"))
        if object_kind == "merge_request":
            return pull_request_delivery(self.name, event_type, delivery_id,
                                         parse_gitlab(payload), repository)
        return Delivery(self.name, event_type, delivery_id, "other", (), repository)


def signing_key(signing_token: str) -> bytes:
    """The HMAC key behind a signing token.

    GitLab issues tokens as "whsec_" + base64 of the key, and Standard Webhooks
    signs with the decoded bytes. A token without that prefix is used as its
    raw UTF-8 bytes, so a hand-chosen secret still works when both ends agree.
    """
    if not signing_token.startswith("whsec_"):
        return signing_token.encode("utf-8")
    try:
        return base64.b64decode(signing_token.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("signing token is not valid whsec_ base64") from exc


def verify_standard_webhook(
    headers: dict[str, str], body: bytes, signing_token: str, now: float | None
) -> None:
    message_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not message_id or not timestamp or not signatures:
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature")
    if not _TIMESTAMP_PATTERN.match(timestamp):
        raise SignatureError("webhook-timestamp is not a Unix timestamp")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > TIMESTAMP_TOLERANCE_SECONDS:
        raise SignatureError("webhook-timestamp is outside the accepted window")
    signed = f"{message_id}.{timestamp}.".encode("utf-8", "replace") + body
    expected = hmac.new(signing_key(signing_token), signed, hashlib.sha256).digest()
    # Several signatures appear during key rotation; any valid v1 one passes.
    # Every candidate is compared, so timing does not reveal which matched.
    matched = False
    for candidate in signatures.split():
        version, _, encoded = candidate.partition(",")
        if version != "v1":
            continue
        try:
            decoded = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        matched |= hmac.compare_digest(decoded, expected)
    if not matched:
        raise SignatureError("webhook-signature does not match")


def parse_push(payload: dict[str, Any], event_type: str) -> PushEvent:
    project = as_mapping(payload.get("project"))
    repository = as_text(project.get("path_with_namespace"))
    if not repository:
        raise MalformedPayload("missing repository")
    ref = valid_ref(payload.get("ref"))
    before = optional_sha(payload.get("before"), "before")
    after = valid_sha(payload.get("after"), "after")
    deleted = is_zero_sha(after)
    # For an annotated tag `after` names the tag object; checkout_sha is the
    # commit it points to, which is what gets deployed. For branches they agree.
    checkout = payload.get("checkout_sha")
    if not deleted and checkout:
        after = optional_sha(checkout, "checkout_sha")
    commits = payload.get("commits")
    head = head_commit(commits, after)
    # GitLab lists at most 20 commits; beyond that the file lists are partial.
    total = payload.get("total_commits_count")
    listed = len(commits) if isinstance(commits, list) else 0
    truncated = isinstance(total, int) and total > listed
    legacy = as_mapping(payload.get("repository"))
    return PushEvent(
        provider="gitlab",
        repository=repository,
        clone_urls=unique_urls(
            project.get("git_http_url"),
            project.get("git_ssh_url"),
            project.get("http_url"),
            project.get("ssh_url"),
            project.get("url"),
            project.get("web_url"),
            project.get("homepage"),
            legacy.get("git_http_url"),
            legacy.get("git_ssh_url"),
            legacy.get("url"),
            legacy.get("homepage"),
        ),
        ref=ref,
        before=before,
        after=ZERO_SHA if deleted else after,
        sender=as_text(payload.get("user_username")) or as_text(payload.get("user_name")),
        commit_message=as_text(head.get("message")) or as_text(payload.get("message")),
        commit_author=as_text(as_mapping(head.get("author")).get("name")),
        commit_timestamp=as_text(head.get("timestamp")),
        changed_paths=None if truncated else changed_paths(commits),
        deleted=deleted,
        event_type=event_type,
        extra={"object_kind": as_text(payload.get("object_kind"))},
    )


provider = GitLabProvider()
