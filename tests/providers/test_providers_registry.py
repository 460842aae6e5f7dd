"""Which provider a request comes from, and the registry's shape."""

from __future__ import annotations

import pytest

from fraisier.providers import PROVIDERS, detect_provider, get_provider
from tests.providers._support import (
    bitbucket_cloud_headers,
    bitbucket_server_headers,
    fixture_bytes,
    forgejo_headers,
    gitea_headers,
    github_headers,
    gitlab_headers,
)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (github_headers("push", fixture_bytes("github", "push_payload.json")), "github"),
        (github_headers("ping", fixture_bytes("github", "ping_payload.json")), "github"),
        (gitlab_headers("Push Hook", fixture_bytes("gitlab", "push_hook.json")), "gitlab"),
        (gitlab_headers("Tag Push Hook", fixture_bytes("gitlab", "tag_push_hook.json")), "gitlab"),
        (gitea_headers("push", fixture_bytes("gitea", "push.json")), "gitea"),
        (forgejo_headers("push", fixture_bytes("forgejo", "push.json")), "forgejo"),
        (
            bitbucket_cloud_headers(
                "repo:push", fixture_bytes("bitbucket", "cloud_repo_push.json")
            ),
            "bitbucket",
        ),
        (
            bitbucket_server_headers(
                "repo:refs_changed", fixture_bytes("bitbucket", "server_refs_changed.json")
            ),
            "bitbucket",
        ),
        (bitbucket_server_headers("diagnostics:ping", b"{}"), "bitbucket"),
    ],
    ids=[
        "github-push",
        "github-ping",
        "gitlab-push",
        "gitlab-tag",
        "gitea",
        "forgejo",
        "bb-cloud",
        "bb-server",
        "bb-ping",
    ],
)
def test_detect_provider(headers: dict[str, str], expected: str) -> None:
    provider = detect_provider(headers)
    assert provider is not None
    assert provider.name == expected


def test_gitea_and_forgejo_are_not_mistaken_for_github() -> None:
    body = fixture_bytes("gitea", "push.json")
    assert PROVIDERS["github"].detect(gitea_headers("push", body))  # they do look like GitHub
    assert detect_provider(gitea_headers("push", body)).name == "gitea"
    assert detect_provider(forgejo_headers("push", body)).name == "forgejo"


def test_detection_is_case_insensitive() -> None:
    assert detect_provider({"x-gitlab-event": "Push Hook"}).name == "gitlab"
    assert detect_provider({"X-EVENT-KEY": "repo:push"}).name == "bitbucket"


def test_unknown_request() -> None:
    assert detect_provider({"Content-Type": "application/json"}) is None
    assert detect_provider({}) is None


def test_registry() -> None:
    assert set(PROVIDERS) == {"github", "gitlab", "gitea", "forgejo", "bitbucket"}
    for name, provider in PROVIDERS.items():
        assert provider.name == name
        assert get_provider(name) is provider
    with pytest.raises(KeyError):
        get_provider("sourcehut")
