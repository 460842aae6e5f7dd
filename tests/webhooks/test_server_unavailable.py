"""When the state database cannot record a webhook, the provider is told to retry (503)."""

import uuid

import httpx

from ._server import Server
from ._support import signed, write_config


def test_database_gone_answers_503(tmp_path, postgres_server):
    name = f"gone_{uuid.uuid4().hex[:10]}"
    url = postgres_server.create_database(name)
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace(f"sqlite:///{tmp_path}/state.db", url))
    server = Server(config, "--no-worker", log=tmp_path / "serve.log")
    try:
        headers, body = signed("github", "push_with-new-branch.payload.json")
        first = httpx.post(f"{server.url}/webhook", content=body, headers=headers)
        assert first.status_code == 202, first.text
        # The database disappears under the running server (its sessions are ended).
        postgres_server.drop_database(name)
        headers["X-GitHub-Delivery"] = "after-the-fall"
        response = httpx.post(f"{server.url}/webhook", content=body, headers=headers)
        assert response.status_code == 503, response.text
        assert response.json()["status"] == "rejected"
        assert httpx.get(f"{server.url}/readyz").status_code == 503
        assert httpx.get(f"{server.url}/healthz").status_code == 200
    finally:
        server.stop()
        postgres_server.drop_database(name)
