"""A merge request's preview on GitLab, end to end: `Merge Request Hook` deliveries with
GitLab's secret token, a real PostgreSQL database per preview, notes on the merge request
through a local stand-in of GitLab's REST API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.notify._support import Reply, StandIn
from tests.previews._support import PreviewWorkspace, make_workspace, port_is_free
from tests.providers._support import GITLAB_TOKEN, fixture_bytes, gitlab_headers
from tests.support.postgres import PostgresServer

NOTES = r"/projects/gitlabhq%2Fgitlab-test/merge_requests/1/notes"


@pytest.fixture
def ws(tmp_path: Path, postgres_server: PostgresServer, stand_in: StandIn):
    stand_in.route("POST", NOTES, Reply(201, {"id": 301}))
    workspace = make_workspace(tmp_path, postgres_server, provider="gitlab",
                               secrets=f"    secret_token: {GITLAB_TOKEN}",
                               api_url=stand_in.url, api_repository="gitlabhq/gitlab-test")
    yield workspace
    workspace.stop_all()


def _send(ws: PreviewWorkspace, action: str, head: str, *, oldrev: str | None = None,
          uuid: str) -> Any:
    payload: dict[str, Any] = json.loads(fixture_bytes("gitlab", "merge_request_hook.json"))
    payload["project"]["git_http_url"] = str(ws.repo)
    attributes = payload["object_attributes"]
    attributes.update(action=action, source_branch="ms-viewport")
    attributes["last_commit"]["id"] = head
    if oldrev:
        attributes["oldrev"] = oldrev
    body = json.dumps(payload).encode()
    headers = gitlab_headers("Merge Request Hook", body)
    headers["X-Gitlab-Event-UUID"] = uuid
    return ws.send(headers, body)


def test_merge_request_life(ws: PreviewWorkspace, stand_in: StandIn) -> None:
    head = ws.branch("ms-viewport", {"VERSION": "viewport\n"}, "Viewport")
    opened = _send(ws, "open", head, uuid="1")
    assert opened.status_code == 202, opened.body
    [deployed] = ws.run_queued(opened)
    assert deployed.status == "succeeded", deployed.error
    assert ws.get(1) == f"viewport {ws.database(1)} rows=3"
    [note] = stand_in.matching("POST", NOTES)
    assert f"http://127.0.0.1:{ws.port(1)}/" in note.body["body"]
    statuses = stand_in.matching("POST", rf"/projects/gitlabhq%2Fgitlab-test/statuses/{head}")
    assert [s.body["state"] for s in statuses] == ["running", "success"]

    # A title change (update without oldrev) deploys nothing; new commits do.
    assert _send(ws, "update", head, uuid="2").body["status"] == "ignored"
    newer = ws.branch("ms-viewport", {"VERSION": "viewport 2\n"}, "Viewport, again")
    [again] = ws.run_queued(_send(ws, "update", newer, oldrev=head, uuid="3"))
    assert again.status == "succeeded", again.error
    assert ws.get(1) == f"viewport 2 {ws.database(1)} rows=3"
    assert len(stand_in.matching("POST", NOTES)) == 1
    assert stand_in.matching("PUT", NOTES + "/301")

    [removed] = ws.run_queued(_send(ws, "merge", newer, uuid="4"))
    assert removed.status == "succeeded", removed.error
    assert ws.database(1) not in ws.databases()
    assert not ws.app_path(1).exists() and port_is_free(ws.port(1))
    assert ws.store.previews.get("shop", 1).status == "removed"
