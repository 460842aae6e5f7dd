"""Build a push delivery exactly as each provider would send it, signed with our secrets.

Used by `fraisier webhook send` (test a set-up end to end) and by the benchmarks. The shapes
follow each provider's documented push payload, reduced to the fields a receiver relies on.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from fraisier.providers import Secrets, normalize_repository_url

ZERO = "0" * 40


def full_name_of(repository: str) -> str:
    """`owner/repo` from a clone URL (the last two path parts); the directory name for a path."""
    normalized = normalize_repository_url(repository)
    parts = [p for p in normalized.split("/") if p]
    return "/".join(parts[-2:]) if len(parts) >= 2 else (parts[-1] if parts else "repo")


def _commit(after: str, message: str, paths: list[str] | None, url: str) -> dict[str, Any]:
    commit: dict[str, Any] = {
        "id": after, "message": message, "url": url,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "author": {"name": "Fraisier", "email": "fraisier@localhost", "username": "fraisier"},
    }
    if paths is not None:
        # Absent lists mean "not told" (deploy whatever `paths` says); present ones are used.
        commit.update(added=[], modified=list(paths), removed=[])
    return commit


def _github_like(repository: str, ref: str, before: str, after: str, message: str,
                 paths: list[str] | None) -> dict[str, Any]:
    name = full_name_of(repository)
    commit = _commit(after, message, paths, f"{repository}/commit/{after}")
    return {
        "ref": ref, "before": before, "after": after, "created": before == ZERO,
        "deleted": False, "forced": False, "compare": "",
        "commits": [commit], "head_commit": commit,
        "repository": {"name": name.split("/")[-1], "full_name": name, "clone_url": repository,
                       "ssh_url": repository, "html_url": repository, "private": True},
        "pusher": {"name": "fraisier", "login": "fraisier", "email": "fraisier@localhost"},
        "sender": {"login": "fraisier", "id": 1, "type": "User"},
    }


def _hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def build_push(provider: str, secrets: Secrets, *, repository: str, branch: str, after: str,
               before: str = ZERO, message: str = "fraisier webhook send",
               paths: list[str] | None = None, bitbucket_flavour: str = "cloud",
               delivery: str | None = None, now: float | None = None
               ) -> tuple[dict[str, str], bytes]:
    """(headers, body) of a signed push of `branch` to `after` in `repository`."""
    delivery = delivery or str(uuid.uuid4())
    ref = f"refs/heads/{branch}"
    if provider in ("github", "gitea", "forgejo"):
        body = _encode(_github_like(repository, ref, before, after, message, paths))
        secret = _need(secrets.webhook_secret, provider)
        signature = _hex(secret, body)
        headers = {"Content-Type": "application/json", "X-GitHub-Event": "push",
                   "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": f"sha256={signature}"}
        if provider == "github":
            headers["User-Agent"] = "GitHub-Hookshot/fraisier"
        else:
            headers.update({"X-Gitea-Event": "push", "X-Gitea-Event-Type": "push",
                            "X-Gitea-Delivery": delivery, "X-Gitea-Signature": signature})
        if provider == "forgejo":
            headers.update({"X-Forgejo-Event": "push", "X-Forgejo-Event-Type": "push",
                            "X-Forgejo-Delivery": delivery, "X-Forgejo-Signature": signature})
        return headers, body
    if provider == "gitlab":
        return _gitlab(secrets, repository, ref, before, after, message, paths, delivery, now)
    if provider == "bitbucket":
        secret = _need(secrets.webhook_secret, provider)
        if bitbucket_flavour == "server":
            payload, event = _bitbucket_server(repository, ref, before, after), "repo:refs_changed"
        else:
            payload, event = _bitbucket_cloud(repository, branch, before, after, message), \
                "repo:push"
        body = _encode(payload)
        return {"Content-Type": "application/json", "X-Event-Key": event,
                "X-Request-UUID": delivery, "X-Request-Id": delivery,
                "X-Hub-Signature": "sha256=" + _hex(secret, body)}, body
    raise ValueError(f"unknown provider {provider!r}")


def _gitlab(secrets: Secrets, repository: str, ref: str, before: str, after: str, message: str,
            paths: list[str] | None, delivery: str, now: float | None
            ) -> tuple[dict[str, str], bytes]:
    name = full_name_of(repository)
    project = {"name": name.split("/")[-1], "path_with_namespace": name,
               "git_http_url": repository, "git_ssh_url": repository, "web_url": repository}
    body = _encode({
        "object_kind": "push", "event_name": "push", "before": before, "after": after,
        "ref": ref, "checkout_sha": after, "user_username": "fraisier", "user_name": "Fraisier",
        "project": project, "repository": {"name": project["name"], "url": repository,
                                           "homepage": repository},
        "commits": [_commit(after, message, paths, repository)], "total_commits_count": 1,
    })
    headers = {"Content-Type": "application/json", "X-Gitlab-Event": "Push Hook",
               "X-Gitlab-Event-UUID": delivery, "Idempotency-Key": delivery}
    if not secrets.secret_token and not secrets.signing_token:
        raise ValueError("no git.gitlab.secret_token or signing_token configured")
    if secrets.secret_token:
        headers["X-Gitlab-Token"] = secrets.secret_token
    if secrets.signing_token:
        from fraisier.providers.gitlab import signing_key

        stamp = str(int(time.time() if now is None else now))
        signed = f"{delivery}.{stamp}.".encode() + body
        digest = hmac.new(signing_key(secrets.signing_token), signed, hashlib.sha256).digest()
        headers.update({"webhook-id": delivery, "webhook-timestamp": stamp,
                        "webhook-signature": "v1," + base64.b64encode(digest).decode()})
    return headers, body


def _bitbucket_cloud(repository: str, branch: str, before: str, after: str, message: str
                     ) -> dict[str, Any]:
    name = full_name_of(repository)
    def state(sha: str) -> dict[str, Any]:
        return {"type": "branch", "name": branch,
                "target": {"type": "commit", "hash": sha, "message": message,
                           "author": {"raw": "Fraisier <fraisier@localhost>"}}}
    return {
        "actor": {"nickname": "fraisier", "display_name": "Fraisier"},
        "repository": {"type": "repository", "full_name": name, "name": name.split("/")[-1],
                       "links": {"html": {"href": repository}}},
        "push": {"changes": [{"new": state(after), "old": None if before == ZERO else state(
            before), "created": before == ZERO, "closed": False, "forced": False,
            "truncated": False, "commits": []}]},
    }


def _bitbucket_server(repository: str, ref: str, before: str, after: str) -> dict[str, Any]:
    name = full_name_of(repository)
    key, _, slug = name.rpartition("/")
    return {
        "eventKey": "repo:refs_changed",
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "actor": {"name": "fraisier", "slug": "fraisier"},
        "repository": {"slug": slug, "name": slug, "project": {"key": key or "PRJ"},
                       "links": {"clone": [{"href": repository, "name": "http"}]}},
        "changes": [{"ref": {"id": ref, "displayId": ref.rsplit("/", 1)[-1], "type": "BRANCH"},
                     "refId": ref, "fromHash": before, "toHash": after, "type": "UPDATE"}],
    }


def _need(secret: str | None, provider: str) -> str:
    if not secret:
        raise ValueError(f"no git.{provider}.webhook_secret configured")
    return secret


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()
