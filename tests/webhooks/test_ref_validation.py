"""Refs and commit ids from a signed body are checked as git would check them, for every
provider: a trailing newline, an empty branch name or an enormous ref is a 400 with the
reason, and nothing is queued."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.providers._support import (
    bitbucket_server_headers,
    fixture_bytes,
    gitea_headers,
    github_headers,
    gitlab_headers,
)

SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"


def _github(ref: str, after: str) -> tuple[dict[str, str], bytes]:
    payload = json.loads(fixture_bytes("github", "push_with-new-branch.payload.json"))
    payload.update(ref=ref, after=after)
    body = json.dumps(payload).encode()
    return github_headers("push", body), body


def _gitlab(ref: str, after: str) -> tuple[dict[str, str], bytes]:
    payload = json.loads(fixture_bytes("gitlab", "push_hook.json"))
    payload.update(ref=ref, after=after, checkout_sha=after)
    body = json.dumps(payload).encode()
    return gitlab_headers("Push Hook", body, signed_at=int(time.time())), body


def _gitea(ref: str, after: str) -> tuple[dict[str, str], bytes]:
    payload = json.loads(fixture_bytes("gitea", "push.json"))
    payload.update(ref=ref, after=after)
    body = json.dumps(payload).encode()
    return gitea_headers("push", body), body


def _bitbucket_server(ref: str, after: str) -> tuple[dict[str, str], bytes]:
    payload: dict[str, Any] = json.loads(fixture_bytes("bitbucket", "server_refs_changed.json"))
    payload["changes"][0]["ref"]["id"] = ref
    payload["changes"][0]["toHash"] = after
    body = json.dumps(payload).encode()
    return bitbucket_server_headers("repo:refs_changed", body), body


BUILDERS: dict[str, Callable[[str, str], tuple[dict[str, str], bytes]]] = {
    "github": _github, "gitlab": _gitlab, "gitea": _gitea, "bitbucket-server": _bitbucket_server,
}


def _assert_400(receiver, headers: dict[str, str], body: bytes, reason_part: str) -> None:
    result = receiver.send(headers, body)
    assert result.status_code == 400, result.body
    assert reason_part in result.body["reason"], result.body
    assert receiver.deployments() == []


@pytest.mark.parametrize("provider", BUILDERS)
@pytest.mark.parametrize(("ref", "reason"), [
    ("refs/heads/main\n", "contains '\\n'"),
    ("refs/heads/", "name is empty"),
    ("refs/heads//main", "empty component"),
    ("refs/heads/" + "b" * 300, "longer than 255 bytes"),
    ("refs/heads/" + "/".join(["b" * 200] * 1000), "at most 1024"),
    ("refs/heads/main.lock", "'.lock'"),
    ("refs/heads/a@{1}", "'@{'"),
])
def test_a_bad_ref_is_400_with_the_reason(receiver, provider: str, ref: str, reason: str):
    headers, body = BUILDERS[provider](ref, SHA)
    _assert_400(receiver, headers, body, reason)


@pytest.mark.parametrize("provider", BUILDERS)
@pytest.mark.parametrize("after", [SHA + "\n", SHA + "\r\n", " " + SHA])
def test_a_commit_id_with_a_trailing_newline_is_400(receiver, provider: str, after: str):
    headers, body = BUILDERS[provider]("refs/heads/main", after)
    _assert_400(receiver, headers, body, "not a commit id")
