"""Repository URL normalization and matching a configured repository against a push."""

from __future__ import annotations

import os

import pytest

from fraisier.domain import PushEvent
from fraisier.providers import normalize_repository_url, repository_matches


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/Acme/Web.git",
        "https://github.com/acme/web",
        "https://github.com/acme/web/",
        "http://github.com/acme/web.git",
        "https://user:token@github.com/acme/web.git",
        "ssh://git@github.com/acme/web.git",
        "ssh://git@github.com:22/acme/web.git",
        "git@github.com:acme/web.git",
        "git@github.com:acme/web",
        "git://github.com/acme/web.git",
        "  https://GitHub.com/acme/web.git/  ",
    ],
)
def test_spellings_of_one_repository_normalize_alike(url: str) -> None:
    assert normalize_repository_url(url) == "github.com/acme/web"


def test_nested_groups_keep_their_path() -> None:
    assert (
        normalize_repository_url("git@gitlab.com:group/sub/app.git") == "gitlab.com/group/sub/app"
    )


def test_local_paths() -> None:
    assert normalize_repository_url("/srv/git/web.git/") == "/srv/git/web"
    assert normalize_repository_url("file:///srv/git/web.git") == "/srv/git/web"
    assert normalize_repository_url("/srv/git/../git/Web") == "/srv/git/Web"
    assert normalize_repository_url("./web.git") == os.path.abspath("web")


def _event(repository: str, *urls: str) -> PushEvent:
    return PushEvent(
        provider="test",
        repository=repository,
        clone_urls=urls,
        ref="refs/heads/main",
        before="0" * 40,
        after="1" * 40,
    )


GITHUB_EVENT = _event(
    "Codertocat/Hello-World",
    "https://github.com/Codertocat/Hello-World.git",
    "git@github.com:Codertocat/Hello-World.git",
    "https://github.com/Codertocat/Hello-World",
)


@pytest.mark.parametrize(
    "configured",
    [
        "https://github.com/Codertocat/Hello-World.git",
        "https://github.com/codertocat/hello-world",
        "git@github.com:Codertocat/Hello-World.git",
        "ssh://git@github.com/Codertocat/Hello-World",
        "codertocat/hello-world",
        "Codertocat/Hello-World.git",
    ],
)
def test_matches(configured: str) -> None:
    assert repository_matches(configured, GITHUB_EVENT)


@pytest.mark.parametrize(
    "configured",
    [
        "https://github.com/Codertocat/Other",
        "git@github.com:Someone/Hello-World.git",
        "https://gitlab.com/Codertocat/Hello-World.git",
        "Codertocat/Hello",
        "/srv/git/Codertocat/Hello-World",
        "",
    ],
)
def test_does_not_match(configured: str) -> None:
    assert not repository_matches(configured, GITHUB_EVENT)


def test_ssh_remote_matches_a_payload_that_only_names_the_web_page() -> None:
    cloud = _event("acme/web", "https://bitbucket.org/acme/web")
    assert repository_matches("git@bitbucket.org:acme/web.git", cloud)
    assert not repository_matches("git@bitbucket.org:acme/api.git", cloud)
    assert not repository_matches("git@evil.example:acme/web.git", cloud)


def test_bitbucket_server_ssh_port_and_scm_prefix() -> None:
    server = _event(
        "ACME/web",
        "ssh://git@bitbucket.example.com:7999/acme/web.git",
        "https://bitbucket.example.com/scm/acme/web.git",
    )
    assert repository_matches("ssh://git@bitbucket.example.com:7999/acme/web.git", server)
    assert repository_matches("https://bitbucket.example.com/scm/acme/web.git", server)
    assert repository_matches("acme/web", server)
    assert not repository_matches("https://bitbucket.example.com/scm/acme/api.git", server)


def test_local_path_matches_a_local_clone_url() -> None:
    local = _event("web", "/srv/git/web.git")
    assert repository_matches("file:///srv/git/web", local)
    assert not repository_matches("/srv/git/other", local)
