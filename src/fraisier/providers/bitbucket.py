"""Bitbucket Cloud and Bitbucket Server / Data Center webhooks.

Both send X-Event-Key and, when the webhook has a secret, X-Hub-Signature:
"sha256=<hex HMAC-SHA256 of the raw body>" ("sha1=" from older servers).
Cloud identifies a delivery with X-Request-UUID, Server with X-Request-Id.

Cloud pushes (`repo:push`) carry push.changes[] with `new`/`old` ref states
({type: branch|tag, name, target: {hash, message, author, date}}); `new` is
null when a ref was deleted, `old` when it was created. They do not list
changed files. Server pushes (`repo:refs_changed`) carry changes[] with
ref.id, fromHash, toHash and type ADD|UPDATE|DELETE. Server's "Test
connection" sends `diagnostics:ping`.

One push may move several refs, so one delivery can yield several PushEvents.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fraisier.domain import PushEvent
from fraisier.providers._common import (
    ZERO_SHA,
    Delivery,
    Headers,
    MalformedPayload,
    Secrets,
    as_list,
    as_mapping,
    as_text,
    check_prefixed_signature,
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
from fraisier.providers.pull_requests import parse_bitbucket_cloud, parse_bitbucket_server

CLOUD_PUSH = "repo:push"
SERVER_PUSH = "repo:refs_changed"
SERVER_PING = "diagnostics:ping"

_CLOUD_REF_PREFIX = {"branch": "refs/heads/", "tag": "refs/tags/"}


class BitbucketProvider:
    name = "bitbucket"

    def detect(self, headers: Headers) -> bool:
        return "x-event-key" in lower_headers(headers)

    def verify(
        self, headers: Headers, body: bytes, secrets: Secrets, now: float | None = None
    ) -> None:
        secret = require_secret(secrets.webhook_secret, self.name)
        given = lower_headers(headers).get("x-hub-signature")
        check_prefixed_signature(given, secret, body, algorithms=("sha256", "sha1"))

    def parse(self, headers: Headers, body: bytes) -> Delivery:
        lowered = lower_headers(headers)
        event_type = lowered.get("x-event-key", "")
        if not event_type:
            raise MalformedPayload("missing X-Event-Key header")
        delivery_id = lowered.get("x-request-uuid") or lowered.get("x-request-id") or None
        if event_type == SERVER_PING:
            # The test body is trivial ({"test": true}); nothing in it matters.
            return Delivery(self.name, event_type, delivery_id, "ping", (), "")
        payload = load_json_object(body)
        if event_type == CLOUD_PUSH:
            pushes = parse_cloud_push(payload)
        elif event_type == SERVER_PUSH:
            pushes = parse_server_push(payload)
        else:
            repository = _cloud_repository_name(payload) or _server_repository_name(payload)
            if event_type.startswith("pullrequest:"):
                return pull_request_delivery(self.name, event_type, delivery_id,
                                             parse_bitbucket_cloud(payload, event_type),
                                             repository)
            if event_type.startswith("pr:"):
                pull = parse_bitbucket_server(payload, event_type)
                return pull_request_delivery(self.name, event_type, delivery_id, pull,
                                             pull.repository if pull else repository)
            return Delivery(self.name, event_type, delivery_id, "other", (), repository)
        repository = pushes[0].repository if pushes else _repository_or_fail(payload, event_type)
        return Delivery(self.name, event_type, delivery_id, "push", pushes, repository)


def _repository_or_fail(payload: dict[str, Any], event_type: str) -> str:
    name = (
        _cloud_repository_name(payload)
        if event_type == CLOUD_PUSH
        else _server_repository_name(payload)
    )
    if not name:
        raise MalformedPayload("missing repository")
    return name


# --------------------------------------------------------------------------- Cloud


def _cloud_repository_name(payload: dict[str, Any]) -> str:
    return as_text(as_mapping(payload.get("repository")).get("full_name"))


def _cloud_author(target: dict[str, Any]) -> str:
    # Real deliveries send {"raw": "Name <email>", "user": {...}}; the
    # documented example puts the account object itself there.
    author = as_mapping(target.get("author"))
    return (
        as_text(author.get("raw"))
        or as_text(as_mapping(author.get("user")).get("display_name"))
        or as_text(author.get("display_name"))
    )


def parse_cloud_push(payload: dict[str, Any]) -> tuple[PushEvent, ...]:
    repository = _cloud_repository_name(payload)
    if not repository:
        raise MalformedPayload("missing repository")
    changes = as_mapping(payload.get("push")).get("changes")
    if not isinstance(changes, list):
        raise MalformedPayload("missing push.changes")
    repo = as_mapping(payload.get("repository"))
    clone_urls = unique_urls(as_mapping(as_mapping(repo.get("links")).get("html")).get("href"))
    actor = as_mapping(payload.get("actor"))
    sender = (
        as_text(actor.get("nickname"))
        or as_text(actor.get("username"))
        or as_text(actor.get("display_name"))
    )
    pushes = []
    for change in changes:
        if not isinstance(change, dict):
            raise MalformedPayload("push.changes entry is not an object")
        new, old = change.get("new"), change.get("old")
        state = new if isinstance(new, dict) else old
        if not isinstance(state, dict):
            raise MalformedPayload("push change has neither new nor old ref")
        prefix = _CLOUD_REF_PREFIX.get(as_text(state.get("type")))
        if prefix is None:
            # Only branches and tags can be deployed; other ref kinds
            # (Mercurial bookmarks, in Bitbucket's past) are skipped.
            continue
        ref = valid_ref(prefix + as_text(state.get("name")))
        new_target = as_mapping(as_mapping(new).get("target"))
        old_target = as_mapping(as_mapping(old).get("target"))
        if isinstance(new, dict):
            after = valid_sha(new_target.get("hash"), "new target hash")
        else:
            after = ZERO_SHA
        deleted = change.get("closed") is True or is_zero_sha(after)
        pushes.append(
            PushEvent(
                provider="bitbucket",
                repository=repository,
                clone_urls=clone_urls,
                ref=ref,
                before=optional_sha(old_target.get("hash"), "old target hash"),
                after=ZERO_SHA if deleted else after,
                sender=sender,
                commit_message=as_text(new_target.get("message")),
                commit_author=_cloud_author(new_target),
                commit_timestamp=as_text(new_target.get("date")),
                changed_paths=None,
                deleted=deleted,
                event_type=CLOUD_PUSH,
                extra={
                    "created": change.get("created") is True,
                    "forced": change.get("forced") is True,
                },
            )
        )
    return tuple(pushes)


# --------------------------------------------------------------------------- Server / DC


def _server_repository_name(payload: dict[str, Any]) -> str:
    repo = as_mapping(payload.get("repository"))
    key = as_text(as_mapping(repo.get("project")).get("key"))
    slug = as_text(repo.get("slug"))
    return f"{key}/{slug}" if key and slug else ""


def _server_links(repo: dict[str, Any]) -> tuple[str, ...]:
    links = as_mapping(repo.get("links"))
    hrefs = [as_mapping(link).get("href") for link in as_list(links.get("clone"))]
    hrefs += [as_mapping(link).get("href") for link in as_list(links.get("self"))]
    return unique_urls(*hrefs)


def _millis_to_iso(value: Any) -> str:
    if not isinstance(value, int) or isinstance(value, bool):
        return ""
    try:
        moment = datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return ""
    return moment.isoformat().replace("+00:00", "Z")


def parse_server_push(payload: dict[str, Any]) -> tuple[PushEvent, ...]:
    repository = _server_repository_name(payload)
    if not repository:
        raise MalformedPayload("missing repository")
    changes = payload.get("changes")
    if not isinstance(changes, list):
        raise MalformedPayload("missing changes")
    clone_urls = _server_links(as_mapping(payload.get("repository")))
    actor = as_mapping(payload.get("actor"))
    sender = (as_text(actor.get("name")) or as_text(actor.get("slug"))
              or as_text(actor.get("displayName")))
    # Since Bitbucket 7.x the payload also names the tip commit; use it when it
    # is the commit a change moved to.
    to_commit = as_mapping(payload.get("toCommit"))
    pushes = []
    for change in changes:
        if not isinstance(change, dict):
            raise MalformedPayload("changes entry is not an object")
        ref = valid_ref(as_mapping(change.get("ref")).get("id") or change.get("refId"))
        after = valid_sha(change.get("toHash"), "toHash")
        deleted = change.get("type") == "DELETE" or is_zero_sha(after)
        tip = to_commit if as_text(to_commit.get("id")).lower() == after and not deleted else {}
        pushes.append(
            PushEvent(
                provider="bitbucket",
                repository=repository,
                clone_urls=clone_urls,
                ref=ref,
                before=optional_sha(change.get("fromHash"), "fromHash"),
                after=ZERO_SHA if deleted else after,
                sender=sender,
                commit_message=as_text(tip.get("message")),
                commit_author=as_text(as_mapping(tip.get("author")).get("name")),
                commit_timestamp=_millis_to_iso(tip.get("authorTimestamp")),
                changed_paths=None,
                deleted=deleted,
                event_type=SERVER_PUSH,
                extra={"change_type": as_text(change.get("type"))},
            )
        )
    return tuple(pushes)


provider = BitbucketProvider()
