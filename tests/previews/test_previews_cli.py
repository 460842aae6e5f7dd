"""`fraisier previews`, `fraisier preview destroy` and `fraisier status` with a real preview
(opened by a signed GitHub delivery, served on its port with its own PostgreSQL database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli._cli_support import invoke
from tests.notify._support import StandIn
from tests.previews._support import PreviewWorkspace, make_workspace, port_is_free
from tests.previews.test_previews_github import _event, _send
from tests.providers._support import SECRET
from tests.support.postgres import PostgresServer


@pytest.fixture
def ws(tmp_path: Path, postgres_server: PostgresServer, stand_in: StandIn):
    workspace = make_workspace(tmp_path, postgres_server, provider="github",
                               secrets=f"    webhook_secret: \"{SECRET}\"",
                               api_url=stand_in.url, api_repository="Codertocat/Hello-World")
    yield workspace
    workspace.stop_all()


def test_list_status_and_destroy(ws: PreviewWorkspace) -> None:
    assert "no previews open" in invoke(ws.config_path, "previews").stdout
    head = ws.branch("changes", {"VERSION": "v2\n"}, "Say v2")
    [done] = ws.run_queued(_send(ws, _event(ws, 4, "opened", head, "changes")))
    assert done.status == "succeeded", done.error

    listed = invoke(ws.config_path, "previews", "--json")
    assert listed.exit_code == 0, listed.stderr
    [entry] = listed.json()
    assert (entry["fraise"], entry["environment"], entry["status"], entry["port"]) == (
        "shop", "pr-4", "active", ws.port(4))
    assert entry["database"] == ws.database(4) and entry["head_sha"] == head
    table = invoke(ws.config_path, "previews").stdout
    assert "pr-4" in table and f"http://127.0.0.1:{ws.port(4)}/" in table

    status = invoke(ws.config_path, "status", "--json")
    assert status.exit_code == 0, status.stderr
    assert {(e["environment"], e["last_status"]) for e in status.json()} >= {
        ("pr-4", "succeeded")}

    missing = invoke(ws.config_path, "preview", "destroy", "shop", "9")
    assert missing.exit_code == 1 and "no open preview of pull request #9" in missing.stderr

    destroyed = invoke(ws.config_path, "preview", "destroy", "shop", "4", "--json")
    assert destroyed.exit_code == 0, destroyed.stderr
    assert destroyed.json()["status"] == "succeeded"
    assert ws.database(4) not in ws.databases()
    assert port_is_free(ws.port(4)) and not ws.app_path(4).exists()
    assert invoke(ws.config_path, "previews", "--json").json() == []
    [removed] = invoke(ws.config_path, "previews", "--all", "--json").json()
    assert removed["status"] == "removed" and "destroyed by request" in removed["reason"]
    history = invoke(ws.config_path, "history", "--fraise", "shop", "--env", "pr-4", "--json").json()
    assert len(history) == 2
