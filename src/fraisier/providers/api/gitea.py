"""Gitea's and Forgejo's REST API (`https://HOST/api/v1`): commit statuses, issues with
comments."""

from __future__ import annotations

from typing import Any

from fraisier.providers.api._http import DEFAULT_TIMEOUT, HttpClient, Response
from fraisier.providers.api._issues import RepositoryIssues


class GiteaApi(RepositoryIssues):
    def __init__(self, token: str, repository: str, *, api_url: str,
                 timeout: float = DEFAULT_TIMEOUT, name: str = "gitea") -> None:
        self.name = name
        self.repo = f"/repos/{repository}"
        self.http = HttpClient(api_url, {"Authorization": f"token {token}"}, timeout=timeout)

    def commit_status(self, sha: str, state: str, *, context: str, description: str,
                      target_url: str | None) -> Response:
        body: dict[str, Any] = {"state": state, "context": context,
                                "description": description[:255]}
        if target_url:
            body["target_url"] = target_url
        return self.http.request("POST", f"{self.repo}/statuses/{sha}", body)
