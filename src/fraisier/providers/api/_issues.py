"""Issues with comments as GitHub's REST API has them, which Gitea and Forgejo copy path for
path (`/repos/OWNER/REPO/issues`, `.../comments`, PATCH `state: closed`)."""

from __future__ import annotations

from fraisier.providers.api._http import ApiError, HttpClient, Response


class RepositoryIssues:
    """Mixed into a client that sets `http` and `repo` (`/repos/OWNER/REPO`)."""

    http: HttpClient
    repo: str
    has_issues = True

    def open_issue(self, title: str, body: str) -> tuple[str, str | None]:
        answer = self.http.request("POST", f"{self.repo}/issues", {"title": title,
                                                                   "body": body})
        number = answer.field("number")
        if number is None:
            raise ApiError(f"POST {self.repo}/issues: no number in the answer", answer.status)
        return str(number), answer.field("html_url")

    def comment_issue(self, issue: str, body: str) -> Response:
        return self.http.request("POST", f"{self.repo}/issues/{issue}/comments", {"body": body})

    def close_issue(self, issue: str) -> Response:
        return self.http.request("PATCH", f"{self.repo}/issues/{issue}", {"state": "closed"})

    # A pull request is an issue here: its comments are the issue's.
    def comment_pull_request(self, number: int, body: str) -> str:
        answer = self.comment_issue(str(number), body)
        return _comment_id(answer, f"{self.repo}/issues/{number}/comments")

    def edit_pull_request_comment(self, number: int, comment_id: str, body: str) -> Response:
        return self.http.request("PATCH", f"{self.repo}/issues/comments/{comment_id}",
                                 {"body": body})


def _comment_id(answer: Response, path: str) -> str:
    found = answer.field("id")
    if found is None:
        raise ApiError(f"POST {path}: no id in the answer", answer.status)
    return str(found)
