"""Bitbucket Cloud (api.bitbucket.org/2.0: build statuses, issues when the repository has the
issue tracker on) and Bitbucket Server / Data Center (`/rest/build-status/1.0`: build
statuses only — it has no issues API)."""

from __future__ import annotations

from typing import Any

from fraisier.providers.api._http import DEFAULT_TIMEOUT, ApiError, HttpClient, Response

BITBUCKET_CLOUD_API = "https://api.bitbucket.org"
STATES = {"pending": "INPROGRESS", "success": "SUCCESSFUL", "failure": "FAILED",
          "error": "STOPPED"}


def _build_status(state: str, context: str, description: str, url: str) -> dict[str, Any]:
    # `key` identifies the status (a later one with the same key replaces it); `url` is
    # required by both APIs.
    return {"state": STATES[state], "key": context, "name": context,
            "description": description[:255], "url": url}


class BitbucketCloudApi:
    name = "bitbucket"
    has_issues = True

    def __init__(self, token: str, repository: str, *,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.repo = f"/2.0/repositories/{repository}"
        self.web = f"https://bitbucket.org/{repository}"
        self.http = HttpClient(BITBUCKET_CLOUD_API, {"Authorization": f"Bearer {token}"},
                               timeout=timeout)

    def commit_status(self, sha: str, state: str, *, context: str, description: str,
                      target_url: str | None) -> Response:
        return self.http.request(
            "POST", f"{self.repo}/commit/{sha}/statuses/build",
            _build_status(state, context, description, target_url or f"{self.web}/commits/{sha}"))

    def open_issue(self, title: str, body: str) -> tuple[str, str | None]:
        answer = self.http.request("POST", f"{self.repo}/issues",
                                   {"title": title, "content": {"raw": body}})
        issue_id = answer.field("id")
        if issue_id is None:
            raise ApiError(f"POST {self.repo}/issues: no id in the answer", answer.status)
        links = answer.field("links") or {}
        html = links.get("html", {}).get("href") if isinstance(links, dict) else None
        return str(issue_id), html

    def comment_issue(self, issue: str, body: str) -> Response:
        return self.http.request("POST", f"{self.repo}/issues/{issue}/comments",
                                 {"content": {"raw": body}})

    def close_issue(self, issue: str) -> Response:
        return self.http.request("PUT", f"{self.repo}/issues/{issue}", {"state": "resolved"})

    def comment_pull_request(self, number: int, body: str) -> str:
        path = f"{self.repo}/pullrequests/{number}/comments"
        answer = self.http.request("POST", path, {"content": {"raw": body}})
        if answer.field("id") is None:
            raise ApiError(f"POST {path}: no id in the answer", answer.status)
        return str(answer.field("id"))

    def edit_pull_request_comment(self, number: int, comment_id: str, body: str) -> Response:
        return self.http.request("PUT", f"{self.repo}/pullrequests/{number}/comments/"
                                 f"{comment_id}", {"content": {"raw": body}})


class BitbucketServerApi:
    name = "bitbucket"
    has_issues = False  # Bitbucket Server / Data Center has no issues API

    def __init__(self, token: str, repository: str, *, api_url: str,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.web = api_url.rstrip("/")
        self.repository = repository
        self.http = HttpClient(api_url, {"Authorization": f"Bearer {token}"}, timeout=timeout)

    def commit_status(self, sha: str, state: str, *, context: str, description: str,
                      target_url: str | None) -> Response:
        project, _, slug = self.repository.partition("/")
        fallback = f"{self.web}/projects/{project}/repos/{slug}/commits/{sha}"
        return self.http.request("POST", f"/rest/build-status/1.0/commits/{sha}",
                                 _build_status(state, context, description,
                                               target_url or fallback))

    def open_issue(self, title: str, body: str) -> tuple[str, str | None]:
        raise ApiError("Bitbucket Server has no issues API")

    def comment_issue(self, issue: str, body: str) -> Response:
        raise ApiError("Bitbucket Server has no issues API")

    def close_issue(self, issue: str) -> Response:
        raise ApiError("Bitbucket Server has no issues API")

    def _pull_comments(self, number: int) -> str:
        project, _, slug = self.repository.partition("/")
        return f"/rest/api/1.0/projects/{project}/repos/{slug}/pull-requests/{number}/comments"

    def comment_pull_request(self, number: int, body: str) -> str:
        answer = self.http.request("POST", self._pull_comments(number), {"text": body})
        if answer.field("id") is None:
            raise ApiError(f"POST {self._pull_comments(number)}: no id in the answer",
                           answer.status)
        # Server edits a comment only with its current version: keep both.
        return f"{answer.field('id')}:{answer.field('version') or 0}"

    def edit_pull_request_comment(self, number: int, comment_id: str, body: str) -> Response:
        found, _, version = comment_id.partition(":")
        return self.http.request("PUT", f"{self._pull_comments(number)}/{found}",
                                 {"text": body, "version": int(version or 0)})
