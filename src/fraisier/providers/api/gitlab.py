"""GitLab's REST API v4 (gitlab.com or self-managed at `https://HOST/api/v4`): commit
statuses, issues with notes. The project is named by its URL-encoded path."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fraisier.providers.api._http import DEFAULT_TIMEOUT, ApiError, HttpClient, Response

GITLAB_API = "https://gitlab.com/api/v4"
# GitLab's own names for the four states.
STATES = {"pending": "running", "success": "success", "failure": "failed",
          "error": "canceled"}


class GitLabApi:
    name = "gitlab"
    has_issues = True

    def __init__(self, token: str, repository: str, *, api_url: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.project = f"/projects/{quote(repository, safe='')}"
        self.http = HttpClient(api_url or GITLAB_API, {"PRIVATE-TOKEN": token},
                               timeout=timeout)

    def commit_status(self, sha: str, state: str, *, context: str, description: str,
                      target_url: str | None) -> Response:
        body: dict[str, Any] = {"state": STATES[state], "name": context,
                                "description": description[:255]}
        if target_url:
            body["target_url"] = target_url
        return self.http.request("POST", f"{self.project}/statuses/{sha}", body)

    def open_issue(self, title: str, body: str) -> tuple[str, str | None]:
        answer = self.http.request("POST", f"{self.project}/issues",
                                   {"title": title, "description": body})
        iid = answer.field("iid")
        if iid is None:
            raise ApiError(f"POST {self.project}/issues: no iid in the answer", answer.status)
        return str(iid), answer.field("web_url")

    def comment_issue(self, issue: str, body: str) -> Response:
        return self.http.request("POST", f"{self.project}/issues/{issue}/notes", {"body": body})

    def close_issue(self, issue: str) -> Response:
        return self.http.request("PUT", f"{self.project}/issues/{issue}",
                                 {"state_event": "close"})

    def comment_pull_request(self, number: int, body: str) -> str:
        path = f"{self.project}/merge_requests/{number}/notes"
        answer = self.http.request("POST", path, {"body": body})
        if answer.field("id") is None:
            raise ApiError(f"POST {path}: no id in the answer", answer.status)
        return str(answer.field("id"))

    def edit_pull_request_comment(self, number: int, comment_id: str, body: str) -> Response:
        return self.http.request(
            "PUT", f"{self.project}/merge_requests/{number}/notes/{comment_id}", {"body": body})
