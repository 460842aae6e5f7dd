"""The GraphQL `previews` query and `destroyPreview` mutation, over ASGI, on a real preview;
and a preview's deployments through the existing history query, which accepts `pr-<n>`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from fraisier.api.router import graphql_router
from fraisier.server import create_app
from fraisier.worker.inline import deploy_now
from tests.notify._support import StandIn
from tests.previews._support import PreviewWorkspace, make_workspace, port_is_free
from tests.previews.test_previews_github import _event, _send
from tests.providers._support import SECRET
from tests.support.postgres import PostgresServer

PREVIEWS = "query($f: ID) { previews(fraiseId: $f) { id number environment status port database url } }"
DESTROY = "mutation($f: ID!, $n: Int!) { destroyPreview(fraiseId: $f, number: $n) { id status } }"
HISTORY = ('{ fraise(id: "shop") { deploymentHistory(environment: "pr-5") { id status }'
           ' environments { name branch status currentCommitSha } } }')


@pytest.fixture
def ws(tmp_path: Path, postgres_server: PostgresServer, stand_in: StandIn):
    workspace = make_workspace(tmp_path, postgres_server, provider="github",
                               secrets=f"    webhook_secret: \"{SECRET}\"",
                               api_url=stand_in.url, api_repository="Codertocat/Hello-World")
    yield workspace
    workspace.stop_all()


def _ask(ws: PreviewWorkspace, token: str, *calls: tuple[str, dict[str, Any]]) -> list[Any]:
    app = create_app(ws.config, ws.store, worker=False,
                     routers=[graphql_router(ws.config, ws.store, path="/graphql")])

    async def scenario() -> list[Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://fraisier") as client:
            return [(await client.post("/graphql", json={"query": q, "variables": v},
                                       headers={"Authorization": f"Bearer {token}"})).json()
                    for q, v in calls]

    try:
        return asyncio.run(scenario())
    finally:
        app.state.ingest.close()


def test_query_and_destroy(ws: PreviewWorkspace) -> None:
    head = ws.branch("changes", {"VERSION": "v2\n"}, "Say v2")
    [done] = ws.run_queued(_send(ws, _event(ws, 5, "opened", head, "changes")))
    assert done.status == "succeeded", done.error
    reader = ws.store.tokens.create("reader", "read")
    deployer = ws.store.tokens.create("deployer", "deploy")

    listed, history, denied, unknown = _ask(
        ws, reader, (PREVIEWS, {"f": "shop"}), (HISTORY, {}), (DESTROY, {"f": "shop", "n": 5}),
        (PREVIEWS, {"f": "nope"}))
    assert listed["data"]["previews"] == [{
        "id": "shop/pr-5", "number": 5, "environment": "pr-5", "status": "active",
        "port": ws.port(5), "database": ws.database(5), "url": f"http://127.0.0.1:{ws.port(5)}/"}]
    assert history["data"]["fraise"]["deploymentHistory"] == [
        {"id": str(done.id), "status": "SUCCEEDED"}]
    # The dashboard's overview lists a fraise's environments: the open preview is one.
    assert history["data"]["fraise"]["environments"] == [
        {"name": "staging", "branch": "main", "status": None, "currentCommitSha": None},
        {"name": "pr-5", "branch": "changes", "status": "SUCCEEDED", "currentCommitSha": head}]
    assert denied["errors"] and ws.store.previews.get("shop", 5).status == "active"
    assert "no fraise 'nope'" in unknown["errors"][0]["message"]

    [destroyed, missing] = _ask(ws, deployer, (DESTROY, {"f": "shop", "n": 5}),
                                (DESTROY, {"f": "shop", "n": 6}))
    deployment = destroyed["data"]["destroyPreview"]
    assert deployment["status"] == "QUEUED"
    assert "no open preview of pull request #6" in missing["errors"][0]["message"]
    # A worker runs the removal; here, this process does.
    assert deploy_now(ws.store, ws.config, int(deployment["id"])).status == "succeeded"
    assert ws.database(5) not in ws.databases() and port_is_free(ws.port(5))
    [after] = _ask(ws, reader, (PREVIEWS, {"f": "shop"}))
    assert after["data"]["previews"] == []
    assert any(entry.action == "preview.destroy" and entry.actor == "deployer"
               for entry in ws.store.audit.list(limit=5))
