"""Each provider client against a local HTTP server standing in for that provider's API:
method, path, authentication header and JSON body as the provider documents them."""

from __future__ import annotations

import pytest

from fraisier.providers.api import ApiError, client_for
from tests.notify._support import Reply

SHA = "0123456789abcdef0123456789abcdef01234567"


def test_github_commit_status_deployment_and_issue(stand_in):
    stand_in.route("POST", "/repos/acme/web/deployments", Reply(201, {"id": 9}))
    stand_in.route("POST", "/repos/acme/web/issues",
                   Reply(201, {"number": 12, "html_url": "https://github.example/i/12"}))
    api = client_for("github", token="ghp_x", repository="acme/web", api_url=stand_in.url)
    api.commit_status(SHA, "success", context="fraisier/production",
                      description="Deployed to production", target_url="https://f.example/d/1")
    deployment = api.create_deployment(SHA, "production", description="d", production=True,
                                       payload={"fraisier_deployment": 1})
    api.deployment_status(deployment, "success", environment="production", description="ok",
                          log_url="https://f.example/d/1",
                          environment_url="https://app.example")
    assert api.open_issue("t", "b") == ("12", "https://github.example/i/12")
    api.comment_issue("12", "again")
    api.close_issue("12")
    seen = [(r.method, r.path, r.body) for r in stand_in.requests]
    assert seen == [
        ("POST", f"/repos/acme/web/statuses/{SHA}",
         {"state": "success", "context": "fraisier/production",
          "description": "Deployed to production", "target_url": "https://f.example/d/1"}),
        ("POST", "/repos/acme/web/deployments",
         {"ref": SHA, "environment": "production", "description": "d", "auto_merge": False,
          "required_contexts": [], "payload": {"fraisier_deployment": 1},
          "production_environment": True}),
        ("POST", "/repos/acme/web/deployments/9/statuses",
         {"state": "success", "environment": "production", "description": "ok",
          "auto_inactive": True, "log_url": "https://f.example/d/1",
          "environment_url": "https://app.example"}),
        ("POST", "/repos/acme/web/issues", {"title": "t", "body": "b"}),
        ("POST", "/repos/acme/web/issues/12/comments", {"body": "again"}),
        ("PATCH", "/repos/acme/web/issues/12", {"state": "closed"}),
    ]
    for request in stand_in.requests:
        assert request.headers["authorization"] == "Bearer ghp_x"
        assert request.headers["x-github-api-version"] == "2022-11-28"


def test_gitlab_status_and_issue_with_notes(stand_in):
    stand_in.route("POST", "/api/v4/projects/acme%2Fsub%2Fweb/issues",
                   Reply(201, {"iid": 4, "web_url": "https://gitlab.example/i/4"}))
    api = client_for("gitlab", token="glpat-x", repository="acme/sub/web",
                     api_url=stand_in.url + "/api/v4")
    api.commit_status(SHA, "pending", context="fraisier/staging", description="Deploying",
                      target_url=None)
    api.commit_status(SHA, "failure", context="fraisier/staging", description="Failed",
                      target_url="https://f.example/d/2")
    assert api.open_issue("t", "b") == ("4", "https://gitlab.example/i/4")
    api.comment_issue("4", "again")
    api.close_issue("4")
    project = "/api/v4/projects/acme%2Fsub%2Fweb"
    assert [(r.method, r.path, r.body) for r in stand_in.requests] == [
        ("POST", f"{project}/statuses/{SHA}",
         {"state": "running", "name": "fraisier/staging", "description": "Deploying"}),
        ("POST", f"{project}/statuses/{SHA}",
         {"state": "failed", "name": "fraisier/staging", "description": "Failed",
          "target_url": "https://f.example/d/2"}),
        ("POST", f"{project}/issues", {"title": "t", "description": "b"}),
        ("POST", f"{project}/issues/4/notes", {"body": "again"}),
        ("PUT", f"{project}/issues/4", {"state_event": "close"}),
    ]
    assert all(r.headers["private-token"] == "glpat-x" for r in stand_in.requests)
    assert all("authorization" not in r.headers for r in stand_in.requests)


@pytest.mark.parametrize("provider", ["gitea", "forgejo"])
def test_gitea_and_forgejo_status_and_issue(stand_in, provider):
    stand_in.route("POST", "/api/v1/repos/acme/web/issues",
                   Reply(201, {"number": 3, "html_url": "https://git.example/acme/web/issues/3"}))
    api = client_for(provider, token="tok", repository="acme/web",
                     api_url=stand_in.url + "/api/v1")
    api.commit_status(SHA, "error", context="fraisier/production", description="Interrupted",
                      target_url=None)
    api.open_issue("t", "b")
    api.comment_issue("3", "again")
    api.close_issue("3")
    assert [(r.method, r.path, r.body) for r in stand_in.requests] == [
        ("POST", f"/api/v1/repos/acme/web/statuses/{SHA}",
         {"state": "error", "context": "fraisier/production", "description": "Interrupted"}),
        ("POST", "/api/v1/repos/acme/web/issues", {"title": "t", "body": "b"}),
        ("POST", "/api/v1/repos/acme/web/issues/3/comments", {"body": "again"}),
        ("PATCH", "/api/v1/repos/acme/web/issues/3", {"state": "closed"}),
    ]
    assert all(r.headers["authorization"] == "token tok" for r in stand_in.requests)


def test_gitea_needs_its_api_url():
    with pytest.raises(ApiError, match=r"git.gitea.api_url is needed"):
        client_for("gitea", token="t", repository="a/b")


def test_bitbucket_cloud_build_status_and_issue(stand_in, monkeypatch):
    from fraisier.providers.api import bitbucket

    # Bitbucket Cloud lives at one address; the stand-in takes its place.
    monkeypatch.setattr(bitbucket, "BITBUCKET_CLOUD_API", stand_in.url)
    stand_in.route("POST", "/2.0/repositories/team/web/issues",
                   Reply(201, {"id": 8, "links": {"html": {"href": "https://bb/i/8"}}}))
    api = bitbucket.BitbucketCloudApi("bbtok", "team/web")
    api.commit_status(SHA, "pending", context="fraisier/production", description="Deploying",
                      target_url=None)
    assert api.open_issue("t", "b") == ("8", "https://bb/i/8")
    api.comment_issue("8", "again")
    api.close_issue("8")
    assert [(r.method, r.path, r.body) for r in stand_in.requests] == [
        ("POST", f"/2.0/repositories/team/web/commit/{SHA}/statuses/build",
         {"state": "INPROGRESS", "key": "fraisier/production", "name": "fraisier/production",
          "description": "Deploying",
          "url": f"https://bitbucket.org/team/web/commits/{SHA}"}),
        ("POST", "/2.0/repositories/team/web/issues", {"title": "t", "content": {"raw": "b"}}),
        ("POST", "/2.0/repositories/team/web/issues/8/comments", {"content": {"raw": "again"}}),
        ("PUT", "/2.0/repositories/team/web/issues/8", {"state": "resolved"}),
    ]
    assert all(r.headers["authorization"] == "Bearer bbtok" for r in stand_in.requests)


def test_bitbucket_server_build_status_and_no_issues(stand_in):
    api = client_for("bitbucket", token="bbs", repository="proj/web", api_url=stand_in.url)
    assert api.has_issues is False
    api.commit_status(SHA, "success", context="fraisier/production", description="Deployed",
                      target_url="https://f.example/d/3")
    [request] = stand_in.requests
    assert (request.method, request.path) == ("POST", f"/rest/build-status/1.0/commits/{SHA}")
    assert request.body == {"state": "SUCCESSFUL", "key": "fraisier/production",
                            "name": "fraisier/production", "description": "Deployed",
                            "url": "https://f.example/d/3"}
    assert request.headers["authorization"] == "Bearer bbs"
    with pytest.raises(ApiError, match="no issues API"):
        api.open_issue("t", "b")


def test_an_error_names_the_call_and_the_status_never_the_token(stand_in):
    stand_in.route("POST", r"/repos/acme/web/statuses/\w+",
                   Reply(422, {"message": "No commit found for SHA"}))
    api = client_for("github", token="ghp_very_secret", repository="acme/web",
                     api_url=stand_in.url)
    with pytest.raises(ApiError) as caught:
        api.commit_status(SHA, "success", context="c", description="d", target_url=None)
    assert caught.value.status == 422
    assert str(caught.value) == (f"POST /repos/acme/web/statuses/{SHA}: HTTP 422 "
                                 "(No commit found for SHA)")
    assert "ghp_very_secret" not in str(caught.value)


def test_a_hanging_provider_is_cut_by_the_timeout(stand_in):
    stand_in.route("POST", r"/repos/acme/web/statuses/\w+", Reply(hang=True))
    api = client_for("github", token="t", repository="acme/web", api_url=stand_in.url,
                     timeout=0.5)
    with pytest.raises(ApiError, match=r"no answer within 0.5 s"):
        api.commit_status(SHA, "success", context="c", description="d", target_url=None)
