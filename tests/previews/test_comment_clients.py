"""The pull-request comment calls of every provider client, against a local stand-in that
speaks each documented API: where the comment is written, how it is edited in place."""

from __future__ import annotations

from fraisier.providers.api import client_for
from tests.notify._support import Reply, StandIn


def test_gitea_and_forgejo_use_the_issue_comment_calls(stand_in: StandIn) -> None:
    stand_in.route("POST", r"/repos/acme/web/issues/3/comments", Reply(201, {"id": 77}))
    client = client_for("forgejo", token="t", repository="acme/web", api_url=stand_in.url)
    assert client.comment_pull_request(3, "hello") == "77"
    client.edit_pull_request_comment(3, "77", "hello again")
    [edit] = stand_in.matching("PATCH", r"/repos/acme/web/issues/comments/77")
    assert edit.body == {"body": "hello again"}
    assert edit.headers["authorization"] == "token t"


def test_bitbucket_cloud(stand_in: StandIn, monkeypatch) -> None:
    import fraisier.providers.api.bitbucket as bitbucket

    # Bitbucket Cloud lives at one address; the stand-in takes its place.
    monkeypatch.setattr(bitbucket, "BITBUCKET_CLOUD_API", stand_in.url)
    stand_in.route("POST", r"/2.0/repositories/acme/web/pullrequests/4/comments",
                   Reply(201, {"id": 501}))
    client = client_for("bitbucket", token="t", repository="acme/web")
    assert client.comment_pull_request(4, "hello") == "501"
    client.edit_pull_request_comment(4, "501", "again")
    [edit] = stand_in.matching("PUT", r"/2.0/repositories/acme/web/pullrequests/4/comments/501")
    assert edit.body == {"content": {"raw": "again"}}


def test_bitbucket_server_edits_with_the_comment_version(stand_in: StandIn) -> None:
    comments = r"/rest/api/1.0/projects/ACME/repos/web/pull-requests/5/comments"
    stand_in.route("POST", comments, Reply(201, {"id": 9, "version": 0}))
    stand_in.route("PUT", comments + "/9", Reply(200, {"id": 9, "version": 1}))
    client = client_for("bitbucket", token="t", repository="ACME/web", api_url=stand_in.url)
    comment_id = client.comment_pull_request(5, "hello")
    assert comment_id == "9:0"
    answer = client.edit_pull_request_comment(5, comment_id, "again")
    assert answer.field("version") == 1
    [edit] = stand_in.matching("PUT", comments + "/9")
    assert edit.body == {"text": "again", "version": 0}
