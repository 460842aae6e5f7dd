"""A pull request's whole life on GitHub, with real parts: signed `pull_request` deliveries
through the webhook ingest, a real PostgreSQL template database with rows, the deployment
saga with migrations, a real process serving each preview on its own port. GitHub's API is
a local stand-in (tests/notify/_support.StandIn) that records the status and comment calls.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from fraisier.domain.model import utc_now
from fraisier.previews.service import reap
from fraisier.providers._common import lower_headers
from tests.notify._support import Reply, StandIn
from tests.previews._support import PreviewWorkspace, make_workspace, port_is_free
from tests.providers._support import SECRET, fixture_bytes, github_headers
from tests.support.postgres import PostgresServer


@pytest.fixture
def ws(tmp_path: Path, postgres_server: PostgresServer, stand_in: StandIn):
    stand_in.route("POST", r"/repos/Codertocat/Hello-World/issues/\d+/comments",
                   Reply(201, {"id": 9001}))
    workspace = make_workspace(tmp_path, postgres_server, provider="github",
                               secrets=f"    webhook_secret: \"{SECRET}\"",
                               api_url=stand_in.url, api_repository="Codertocat/Hello-World")
    yield workspace
    workspace.stop_all()


def _event(ws: PreviewWorkspace, number: int, action: str, head: str, branch: str, *,
           fork: bool = False, merged: bool = False, delivery: str = "") -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(fixture_bytes("github", "pull_request_opened.json"))
    payload["action"], payload["number"] = action, number
    pull = payload["pull_request"]
    pull["number"], pull["merged"] = number, merged
    pull["head"].update(sha=head, ref=branch)
    # The base repository is the local test repository; GitHub's other fields stay.
    payload["repository"]["clone_url"] = str(ws.repo)
    if fork:
        pull["head"]["repo"]["full_name"] = "mallory/Hello-World"
    body = json.dumps(payload).encode()
    headers = github_headers("pull_request", body,
                             **{"X-GitHub-Delivery": delivery or f"{number}-{action}-{head}"})
    return {"headers": headers, "body": body}


def _send(ws: PreviewWorkspace, event: dict[str, Any]):
    return ws.send(event["headers"], event["body"])


def test_pull_request_life(ws: PreviewWorkspace, stand_in: StandIn) -> None:
    head = ws.branch("changes", {"VERSION": "v2\n"}, "Say v2")

    # Opened: the environment pr-1, its own database copied from the template, deployed.
    opened = _send(ws, _event(ws, 1, "opened", head, "changes"))
    assert opened.status_code == 202, opened.body
    [record] = ws.run_queued(opened)
    assert record.status == "succeeded", record.error
    assert record.environment == "pr-1" and record.commit_sha == head
    assert ws.get(1) == f"v2 {ws.database(1)} rows=3"
    preview = ws.store.previews.get("shop", 1)
    assert preview is not None and preview.status == "active"
    assert preview.port == ws.port(1) and preview.database == ws.database(1)
    assert {row["environment"] for row in ws.store.views.status(fraise="shop")} == {"pr-1"}
    # Reported: a pending then a success status, and one comment with the address.
    statuses = stand_in.matching("POST", rf"/repos/Codertocat/Hello-World/statuses/{head}")
    assert [r.body["state"] for r in statuses] == ["pending", "success"]
    assert statuses[-1].body["target_url"] == f"http://127.0.0.1:{ws.port(1)}/"
    [comment] = stand_in.matching("POST", r"/repos/Codertocat/Hello-World/issues/1/comments")
    assert f"http://127.0.0.1:{ws.port(1)}/" in comment.body["body"]
    assert "<!-- fraisier-preview:shop -->" in comment.body["body"]
    assert ws.store.previews.get("shop", 1).comment_id == "9001"

    # A second pull request: its own database, its own port.
    other = ws.branch("other", {"VERSION": "other\n"}, "Other change")
    [second] = ws.run_queued(_send(ws, _event(ws, 2, "opened", other, "other")))
    assert second.status == "succeeded", second.error
    assert ws.get(2) == f"other {ws.database(2)} rows=3"

    # New commit with a migration: a new release of pr-1; pr-2's database is untouched.
    with ws.pg.connect(ws.database(1)) as conn:
        conn.execute("INSERT INTO items (name) VALUES ('only in pr-1')")
    newer = ws.branch("changes", {"VERSION": "v3\n",
                                  "MIGRATION": "ALTER TABLE items ADD COLUMN color text"},
                      "Say v3, add a colour")
    [again] = ws.run_queued(_send(ws, _event(ws, 1, "synchronize", newer, "changes")))
    assert again.status == "succeeded", again.error
    assert again.release != record.release
    assert ws.get(1) == f"v3 {ws.database(1)} rows=4"
    assert "color" in ws.columns(ws.database(1))
    assert "color" not in ws.columns(ws.database(2))
    assert "color" not in ws.columns(ws.template)
    # The same comment, edited in place: no second comment.
    assert len(stand_in.matching("POST", r"/repos/Codertocat/Hello-World/issues/1/comments")
               ) == 1
    [edit] = stand_in.matching("PATCH", r"/repos/Codertocat/Hello-World/issues/comments/9001")
    assert newer[:12] in edit.body["body"]

    # Merged: stopped, database dropped, files gone, port free, history kept.
    closed = _send(ws, _event(ws, 1, "closed", newer, "changes", merged=True))
    [teardown] = ws.run_queued(closed)
    assert teardown.status == "succeeded", teardown.error
    assert ws.database(1) not in ws.databases()
    assert not ws.app_path(1).exists()
    assert port_is_free(ws.port(1))
    removed = ws.store.previews.get("shop", 1)
    assert removed.status == "removed" and "merged" in removed.reason
    history = ws.store.views.history(fraise="shop", environment="pr-1")
    assert [h.id for h in history] == [teardown.id, again.id, record.id]
    assert all(r.status == "pruned" for r in ws.store.releases.list("shop", "pr-1"))
    assert "removed" in stand_in.matching(
        "PATCH", r"/repos/Codertocat/Hello-World/issues/comments/9001")[-1].body["body"]
    # pr-2 still serves.
    assert ws.get(2) == f"other {ws.database(2)} rows=3"


def test_forks_max_active_and_ttl(ws: PreviewWorkspace) -> None:
    head = ws.branch("fork-change", {"VERSION": "fork\n"}, "From a fork")
    ignored = _send(ws, _event(ws, 7, "opened", head, "fork-change", fork=True))
    assert ignored.status_code == 200 and "fork" in ignored.body["reason"]
    [logged] = ws.store.webhooks.list(limit=1)
    assert logged["outcome"] == "ignored" and "allow_forks" in logged["reason"]
    assert ws.store.previews.get("shop", 7) is None

    # max_active: 2. The third is refused, with the reason recorded.
    for number in (1, 2):
        [done] = ws.run_queued(_send(ws, _event(ws, number, "opened", head, "fork-change")))
        assert done.status == "succeeded", done.error
    refused = _send(ws, _event(ws, 3, "opened", head, "fork-change"))
    assert refused.status_code == 200 and "max_active: 2" in refused.body["reason"]
    assert ws.store.webhooks.list(limit=1)[0]["outcome"] == "ignored"
    assert ws.store.previews.get("shop", 3) is None

    # The TTL reaper, with a clock a week and a day ahead: both idle previews go.
    assert reap(ws.store, ws.config, now=utc_now() + timedelta(days=6)) == []
    queued = reap(ws.store, ws.config, now=utc_now() + timedelta(days=8))
    assert len(queued) == 2
    from fraisier.worker.inline import deploy_now

    for deployment_id in queued:
        assert deploy_now(ws.store, ws.config, deployment_id).status == "succeeded"
    assert ws.databases() == {ws.template}
    assert all(port_is_free(ws.port(n)) for n in (1, 2))
    assert [p.status for p in ws.store.previews.find(fraise="shop")] == ["removed", "removed"]

    # A slot is free again: the refused pull request gets its preview with its next commit.
    newer = ws.branch("fork-change", {"VERSION": "again\n"}, "Again")
    [done] = ws.run_queued(_send(ws, _event(ws, 3, "synchronize", newer, "fork-change")))
    assert done.status == "succeeded", done.error
    assert ws.get(3) == f"again {ws.database(3)} rows=3"


def test_a_wrong_signature_is_refused_and_recorded(ws: PreviewWorkspace) -> None:
    event = _event(ws, 1, "opened", "a" * 40, "changes")
    event["headers"] = github_headers("pull_request", event["body"], secret="not the secret")
    refused = ws.send(event["headers"], event["body"])
    assert refused.status_code == 401
    assert ws.store.webhooks.list(limit=1)[0]["outcome"] == "rejected"
    assert ws.store.previews.get("shop", 1) is None
    assert lower_headers(event["headers"])["x-github-event"] == "pull_request"
