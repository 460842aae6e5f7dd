"""Pull and merge requests, normalized: what a preview environment is made from."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from fraisier.domain.model import PushEvent

# `pr-<number>`: the environment name of a fraise's preview of one pull request.
PREVIEW_ENVIRONMENT = re.compile(r"pr-([1-9][0-9]{0,9})\Z")


class PullRequestAction(StrEnum):
    """What a pull-request event asks of its preview."""

    OPENED = "opened"  # opened or reopened: create (or bring back) the preview
    UPDATED = "updated"  # new commits on the head branch: deploy the new head
    CLOSED = "closed"  # closed or merged: remove the preview


class PreviewStatus(StrEnum):
    ACTIVE = "active"
    REMOVING = "removing"
    REMOVED = "removed"


@dataclass(frozen=True)
class PullRequestEvent:
    """A provider's pull-request (merge-request) event, normalized by providers/."""

    provider: str
    repository: str  # the base repository's full name, e.g. "acme/web"
    clone_urls: tuple[str, ...]  # URL forms of the base repository
    number: int  # GitHub/Gitea number, GitLab iid, Bitbucket id
    action: PullRequestAction
    head_sha: str  # 40/64 hex, or a 12-character prefix (Bitbucket Cloud)
    head_branch: str  # the source branch name
    from_fork: bool  # the head lives in another repository than the base
    title: str = ""
    url: str = ""  # the pull request's web page
    sender: str = ""
    merged: bool = False

    def head_push(self) -> PushEvent:
        """The head as a push of the base repository: what repository matching reads."""
        return PushEvent(provider=self.provider, repository=self.repository,
                         clone_urls=self.clone_urls, ref=f"refs/heads/{self.head_branch}",
                         before="0" * 40, after=self.head_sha, sender=self.sender,
                         event_type="pull_request")


def preview_environment(number: int) -> str:
    return f"pr-{number}"


def preview_number(environment: str) -> int | None:
    """The pull-request number of a preview environment's name, or None."""
    found = PREVIEW_ENVIRONMENT.match(environment)
    return int(found.group(1)) if found else None
