"""Clients of the git providers' APIs: commit statuses, GitHub deployments, issues.

One module per provider, each through its documented REST API with httpx and a timeout.
The notifier uses them for deployments; pull-request previews reuse them for comments.
`client_for` picks the module from the provider's name and settings.
"""

from __future__ import annotations

from typing import Literal, Protocol

from fraisier.providers.api._http import DEFAULT_TIMEOUT, ApiError, Response

State = Literal["pending", "success", "failure", "error"]
PROVIDERS = ("github", "gitlab", "gitea", "forgejo", "bitbucket")



class ProviderApi(Protocol):
    name: str
    has_issues: bool

    def commit_status(self, sha: str, state: State, *, context: str, description: str,
                      target_url: str | None) -> Response: ...

    def open_issue(self, title: str, body: str) -> tuple[str, str | None]:
        """Open an issue; its id (number) and web address."""
        ...

    def comment_issue(self, issue: str, body: str) -> Response: ...

    def close_issue(self, issue: str) -> Response: ...

    def comment_pull_request(self, number: int, body: str) -> str:
        """Comment on a pull (merge) request; the comment's id, to edit it later."""
        ...

    def edit_pull_request_comment(self, number: int, comment_id: str, body: str
                                  ) -> Response: ...


def client_for(provider: str, *, token: str, repository: str, api_url: str | None = None,
               timeout: float = DEFAULT_TIMEOUT) -> ProviderApi:
    """The client of `provider` ("github", "gitlab", "gitea", "forgejo", "bitbucket") for
    `repository` ("owner/name"; a GitLab path may have subgroups). Bitbucket is Bitbucket
    Cloud unless `api_url` names another server (then Bitbucket Server / Data Center)."""
    if provider == "github":
        from fraisier.providers.api.github import GitHubApi

        return GitHubApi(token, repository, api_url=api_url, timeout=timeout)
    if provider == "gitlab":
        from fraisier.providers.api.gitlab import GitLabApi

        return GitLabApi(token, repository, api_url=api_url, timeout=timeout)
    if provider in ("gitea", "forgejo"):
        from fraisier.providers.api.gitea import GiteaApi

        if not api_url:
            raise ApiError(f"git.{provider}.api_url is needed (e.g. https://codeberg.org/api/v1)")
        return GiteaApi(token, repository, api_url=api_url, timeout=timeout, name=provider)
    if provider == "bitbucket":
        from fraisier.providers.api.bitbucket import (
            BITBUCKET_CLOUD_API,
            BitbucketCloudApi,
            BitbucketServerApi,
        )

        if api_url and api_url.rstrip("/") != BITBUCKET_CLOUD_API:
            return BitbucketServerApi(token, repository, api_url=api_url, timeout=timeout)
        return BitbucketCloudApi(token, repository, timeout=timeout)
    raise ApiError(f"unknown provider {provider!r} (known: {', '.join(PROVIDERS)})")


__all__ = ["ApiError", "ProviderApi", "Response", "State", "client_for"]
