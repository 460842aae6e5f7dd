"""Pull-request (merge-request) payloads of every provider, as `PullRequestEvent`s.

Each function returns None for an action that asks nothing of a preview (a label, a review
request, a title edit) and raises MalformedPayload for a body that is not what the provider
documents. The head branch and commit come from an untrusted body: both are checked here with
the same rules as a push's ref and sha, so neither can reach a git command line as an option.
"""

from __future__ import annotations

import re
from typing import Any

from fraisier.domain.previews import PullRequestAction, PullRequestEvent
from fraisier.providers._common import (
    MalformedPayload,
    as_list,
    as_mapping,
    as_text,
    unique_urls,
    valid_ref,
)

# Bitbucket Cloud names commits by a 12-character prefix; the others by the full id.
_HEAD_SHA = re.compile(r"[0-9a-fA-F]{7,64}\Z")

GITHUB_ACTIONS = {"opened": PullRequestAction.OPENED, "reopened": PullRequestAction.OPENED,
                  "synchronize": PullRequestAction.UPDATED, "closed": PullRequestAction.CLOSED}
# Gitea and Forgejo send GitHub's shape with their own word for new commits.
GITEA_ACTIONS = {**GITHUB_ACTIONS, "synchronized": PullRequestAction.UPDATED}
GITLAB_ACTIONS = {"open": PullRequestAction.OPENED, "reopen": PullRequestAction.OPENED,
                  "update": PullRequestAction.UPDATED, "close": PullRequestAction.CLOSED,
                  "merge": PullRequestAction.CLOSED}
BITBUCKET_CLOUD_EVENTS = {"pullrequest:created": PullRequestAction.OPENED,
                          "pullrequest:updated": PullRequestAction.UPDATED,
                          "pullrequest:fulfilled": PullRequestAction.CLOSED,
                          "pullrequest:rejected": PullRequestAction.CLOSED}
BITBUCKET_SERVER_EVENTS = {"pr:opened": PullRequestAction.OPENED,
                           "pr:from_ref_updated": PullRequestAction.UPDATED,
                           "pr:merged": PullRequestAction.CLOSED,
                           "pr:declined": PullRequestAction.CLOSED,
                           "pr:deleted": PullRequestAction.CLOSED}


def _head_sha(value: Any) -> str:
    if not isinstance(value, str) or not _HEAD_SHA.match(value):
        raise MalformedPayload("the pull request's head commit is not a commit id")
    return value.lower()


def _branch(value: Any) -> str:
    name = as_text(value).removeprefix("refs/heads/")
    valid_ref(f"refs/heads/{name}")  # raises MalformedPayload naming the problem
    return name


def _number(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 10**10:
        raise MalformedPayload("the pull request has no number")
    return value


def parse_github(payload: dict[str, Any], flavour: str = "github") -> PullRequestEvent | None:
    """GitHub's `pull_request` event; Gitea and Forgejo send the same shape."""
    actions = GITHUB_ACTIONS if flavour == "github" else GITEA_ACTIONS
    action = actions.get(as_text(payload.get("action")))
    if action is None:
        return None
    repo = as_mapping(payload.get("repository"))
    pull = as_mapping(payload.get("pull_request"))
    if not as_text(repo.get("full_name")) or not pull:
        raise MalformedPayload("missing repository or pull_request")
    head, base = as_mapping(pull.get("head")), as_mapping(pull.get("base"))
    head_repo = as_text(as_mapping(head.get("repo")).get("full_name"))
    base_repo = as_text(as_mapping(base.get("repo")).get("full_name")) or repo["full_name"]
    return PullRequestEvent(
        provider=flavour, repository=repo["full_name"],
        clone_urls=unique_urls(repo.get("clone_url"), repo.get("ssh_url"),
                               repo.get("git_url"), repo.get("html_url")),
        number=_number(pull.get("number", payload.get("number"))), action=action,
        head_sha=_head_sha(head.get("sha")), head_branch=_branch(head.get("ref")),
        # A deleted fork has no head repository any more: treat it as a fork.
        from_fork=head_repo.lower() != base_repo.lower(),
        title=as_text(pull.get("title")), url=as_text(pull.get("html_url")),
        sender=as_text(as_mapping(payload.get("sender")).get("login")),
        merged=pull.get("merged") is True)


def parse_gitlab(payload: dict[str, Any]) -> PullRequestEvent | None:
    """GitLab's `Merge Request Hook`. An `update` without `oldrev` changed the title, labels
    or description, not the code: nothing to deploy."""
    attributes = as_mapping(payload.get("object_attributes"))
    action = GITLAB_ACTIONS.get(as_text(attributes.get("action")))
    if action is None:
        return None
    if action is PullRequestAction.UPDATED and not as_text(attributes.get("oldrev")):
        return None
    project = as_mapping(payload.get("project"))
    repository = as_text(project.get("path_with_namespace"))
    if not repository:
        raise MalformedPayload("missing project")
    source, target = attributes.get("source_project_id"), attributes.get("target_project_id")
    return PullRequestEvent(
        provider="gitlab", repository=repository,
        clone_urls=unique_urls(project.get("git_http_url"), project.get("git_ssh_url"),
                               project.get("http_url"), project.get("ssh_url"),
                               project.get("web_url")),
        number=_number(attributes.get("iid")), action=action,
        head_sha=_head_sha(as_mapping(attributes.get("last_commit")).get("id")),
        head_branch=_branch(attributes.get("source_branch")),
        from_fork=source is None or source != target,
        title=as_text(attributes.get("title")), url=as_text(attributes.get("url")),
        sender=as_text(as_mapping(payload.get("user")).get("username")),
        merged=as_text(attributes.get("action")) == "merge")


def parse_bitbucket_cloud(payload: dict[str, Any], event_type: str) -> PullRequestEvent | None:
    """Bitbucket Cloud's `pullrequest:*` events. `:updated` is also sent for a title edit; the
    head commit then is the one already deployed, which a deployment finishes early on."""
    action = BITBUCKET_CLOUD_EVENTS.get(event_type)
    if action is None:
        return None
    repo = as_mapping(payload.get("repository"))
    pull = as_mapping(payload.get("pullrequest"))
    repository = as_text(repo.get("full_name"))
    if not repository or not pull:
        raise MalformedPayload("missing repository or pullrequest")
    source, destination = as_mapping(pull.get("source")), as_mapping(pull.get("destination"))
    head_repo = as_text(as_mapping(source.get("repository")).get("full_name"))
    base_repo = as_text(as_mapping(destination.get("repository")).get("full_name")) or repository
    links = as_mapping(repo.get("links"))
    return PullRequestEvent(
        provider="bitbucket", repository=repository,
        clone_urls=unique_urls(as_mapping(links.get("html")).get("href"),
                               *(as_mapping(link).get("href") for link in as_list(links.get("clone")))),
        number=_number(pull.get("id")), action=action,
        head_sha=_head_sha(as_mapping(source.get("commit")).get("hash")),
        head_branch=_branch(as_mapping(source.get("branch")).get("name")),
        from_fork=head_repo.lower() != base_repo.lower(),
        title=as_text(pull.get("title")),
        url=as_text(as_mapping(as_mapping(pull.get("links")).get("html")).get("href")),
        sender=as_text(as_mapping(payload.get("actor")).get("display_name")),
        merged=event_type == "pullrequest:fulfilled")


def _server_repository(repo: dict[str, Any]) -> str:
    key = as_text(as_mapping(repo.get("project")).get("key"))
    slug = as_text(repo.get("slug"))
    return f"{key}/{slug}" if key and slug else ""


def parse_bitbucket_server(payload: dict[str, Any], event_type: str) -> PullRequestEvent | None:
    """Bitbucket Server and Data Center's `pr:*` events."""
    action = BITBUCKET_SERVER_EVENTS.get(event_type)
    if action is None:
        return None
    pull = as_mapping(payload.get("pullRequest"))
    from_ref, to_ref = as_mapping(pull.get("fromRef")), as_mapping(pull.get("toRef"))
    base = as_mapping(to_ref.get("repository"))
    repository = _server_repository(base)
    if not repository:
        raise MalformedPayload("missing pullRequest.toRef.repository")
    links = as_mapping(base.get("links"))
    hrefs = [as_mapping(link).get("href") for link in as_list(links.get("clone"))]
    hrefs += [as_mapping(link).get("href") for link in as_list(links.get("self"))]
    self_links = as_list(as_mapping(pull.get("links")).get("self"))
    return PullRequestEvent(
        provider="bitbucket", repository=repository, clone_urls=unique_urls(*hrefs),
        number=_number(pull.get("id")), action=action,
        head_sha=_head_sha(from_ref.get("latestCommit")),
        head_branch=_branch(from_ref.get("id") or from_ref.get("displayId")),
        from_fork=_server_repository(as_mapping(from_ref.get("repository"))).lower()
        != repository.lower(),
        title=as_text(pull.get("title")),
        url=as_text(as_mapping(self_links[0]).get("href")) if self_links else "",
        sender=as_text(as_mapping(payload.get("actor")).get("name")),
        merged=event_type == "pr:merged")
