"""GitHub's REST API (github.com, or GitHub Enterprise Server at `https://HOST/api/v3`):
commit statuses, deployments with their statuses, issues with comments."""

from __future__ import annotations

from typing import Any

from fraisier.providers.api._http import DEFAULT_TIMEOUT, ApiError, HttpClient, Response
from fraisier.providers.api._issues import RepositoryIssues

GITHUB_API = "https://api.github.com"
DEPLOYMENT_STATES = ("error", "failure", "inactive", "in_progress", "queued", "pending",
                     "success")


class GitHubApi(RepositoryIssues):
    name = "github"

    def __init__(self, token: str, repository: str, *, api_url: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.repo = f"/repos/{repository}"
        self.http = HttpClient(api_url or GITHUB_API, {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }, timeout=timeout)

    def commit_status(self, sha: str, state: str, *, context: str, description: str,
                      target_url: str | None) -> Response:
        body: dict[str, Any] = {"state": state, "context": context,
                                "description": description[:140]}
        if target_url:
            body["target_url"] = target_url
        return self.http.request("POST", f"{self.repo}/statuses/{sha}", body)

    def create_deployment(self, ref: str, environment: str, *, description: str,
                          production: bool, payload: dict[str, Any]) -> str:
        """A deployment of `ref` (a commit sha) to `environment`; its id. required_contexts
        is empty: Fraisier has already decided to deploy, GitHub must not refuse for a
        pending check."""
        answer = self.http.request("POST", f"{self.repo}/deployments", {
            "ref": ref, "environment": environment, "description": description[:140],
            "auto_merge": False, "required_contexts": [], "payload": payload,
            "production_environment": production,
        })
        deployment_id = answer.field("id")
        if deployment_id is None:
            raise ApiError(f"POST {self.repo}/deployments: no id in the answer", answer.status)
        return str(deployment_id)

    def deployment_status(self, deployment_id: str, state: str, *, environment: str,
                          description: str, log_url: str | None,
                          environment_url: str | None) -> Response:
        if state not in DEPLOYMENT_STATES:
            raise ValueError(f"unknown deployment state {state!r}")
        body: dict[str, Any] = {"state": state, "environment": environment,
                                "description": description[:140], "auto_inactive": True}
        if log_url:
            body["log_url"] = log_url
        if environment_url:
            body["environment_url"] = environment_url
        return self.http.request("POST", f"{self.repo}/deployments/{deployment_id}/statuses",
                                 body)
