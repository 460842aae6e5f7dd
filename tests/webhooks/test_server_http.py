"""`fraisier serve` as a real process on a free port, spoken to over HTTP."""

import itertools
import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from fraisier.store import open_store
from tests.providers._support import fixture_bytes, github_headers, gitlab_headers
from tests.support.waiting import children_of, wait_for

from ._server import Server
from ._support import signed, write_config

LIMITS = """\
webhook:
  max_body_bytes: 65536
  rate_limit_per_minute: 5
  trusted_proxies: [127.0.0.1/32]
"""

_sources = itertools.count(1)


def source() -> dict[str, str]:
    """A fresh client address (through the trusted proxy) so rate limits stay per test."""
    return {"X-Forwarded-For": f"198.51.100.{next(_sources)}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    config = write_config(root, extra=LIMITS)
    running = Server(config, "--no-worker", log=root / "serve.log")
    running.state_url = f"sqlite:///{root}/state.db"
    yield running
    running.stop()


def events(server):
    store = open_store(server.state_url)
    try:
        return store.webhooks.list(limit=1000)
    finally:
        store.close()


def test_health_and_readiness(server):
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{server.url}/readyz").json() == {"status": "ready"}


@pytest.mark.parametrize("path", ["/webhook", "/webhook/gitlab"])
def test_signed_push_over_http(server, path):
    headers, body = signed("gitlab", "push_hook.json")
    headers["X-Gitlab-Event-UUID"] = f"http-{path}"
    response = httpx.post(server.url + path, content=body, headers={**headers, **source()})
    assert response.status_code in (202, 200), response.text
    data = response.json()
    if data["status"] == "queued":
        assert data["deployments"] and all(isinstance(i, int) for i in data["deployments"])
    else:
        assert data == {"status": "duplicate"}  # the second path replays the first's body


def test_other_methods_and_paths_are_not_webhooks(server):
    assert httpx.get(f"{server.url}/webhook").status_code == 405
    unknown = httpx.post(f"{server.url}/webhook/nope", content=b"{}", headers=source())
    assert unknown.status_code == 404
    assert unknown.json()["status"] == "rejected"
    assert httpx.post(f"{server.url}/webhook/github/extra", content=b"{}").status_code == 404


def test_bad_signature_over_http(server):
    headers, body = signed("github", "push_with-new-branch.payload.json")
    headers["X-Hub-Signature-256"] = "sha256=" + "1" * 64
    response = httpx.post(f"{server.url}/webhook", content=body, headers={**headers, **source()})
    assert response.status_code == 401
    assert response.json()["status"] == "rejected"


def test_oversized_body_by_content_length(server):
    body = b"{" + b" " * 70_000 + b"}"
    response = httpx.post(f"{server.url}/webhook", content=body,
                          headers={**github_headers("push", body), **source()})
    assert response.status_code == 413
    assert events(server)[0]["reason"].startswith("413")


def test_oversized_body_streamed_without_length(server):
    sent = []

    def chunks():
        for _ in range(40):  # 40 x 4 KiB > 64 KiB; the server stops reading at the cap
            sent.append(1)
            yield b"x" * 4096

    try:
        response = httpx.post(f"{server.url}/webhook", content=chunks(),
                              headers={"X-GitHub-Event": "push", **source()})
    except httpx.HTTPError:
        pytest.fail("the server should answer 413, not drop the connection")
    assert response.status_code == 413


def test_rate_limit_per_source(server):
    client = source()
    body = b"{}"
    codes = [httpx.post(f"{server.url}/webhook", content=body,
                        headers={"X-GitHub-Event": "push", **client}).status_code
             for _ in range(6)]
    assert codes[:5] == [401] * 5  # unsigned, but counted
    assert codes[5] == 429
    other = httpx.post(f"{server.url}/webhook", content=body,
                       headers={"X-GitHub-Event": "push", **source()})
    assert other.status_code == 401  # another source is not limited
    assert any(e["reason"].startswith("429") for e in events(server))


def test_kill_9_during_a_burst_loses_no_accepted_push(tmp_path):
    config = write_config(tmp_path, extra="webhook:\n  rate_limit_per_minute: 100000\n")
    server = Server(config, "--no-worker", log=tmp_path / "serve.log")
    payload = json.loads(fixture_bytes("github", "push_with-new-branch.payload.json"))
    accepted: list[list[int]] = []
    lock = threading.Lock()
    stop = threading.Event()
    counter = itertools.count()

    def pusher():
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                n = next(counter)
                payload["after"] = f"{n:040x}"
                body = json.dumps(payload).encode()
                headers = github_headers("push", body, **{"X-GitHub-Delivery": f"burst-{n}"})
                try:
                    response = client.post(f"{server.url}/webhook", content=body, headers=headers)
                except httpx.HTTPError:
                    return  # the server is gone
                if response.status_code == 202:
                    with lock:
                        accepted.append(response.json()["deployments"])

    threads = [threading.Thread(target=pusher) for _ in range(8)]
    for thread in threads:
        thread.start()
    try:
        while True:
            with lock:
                if len(accepted) >= 60:
                    break
            threads[0].join(0.01)
        server.kill9()
    finally:
        stop.set()
        for thread in threads:
            thread.join(15)
        server.stop()
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    try:
        ids = {i for batch in accepted for i in batch}
        assert len(ids) >= 60
        found = {int(r["id"]) for r in store.db.fetchall("SELECT id FROM tb_deployment")}
        assert ids <= found, f"lost: {sorted(ids - found)[:10]}"
        queued_events = store.webhooks.list(limit=100_000, outcome="queued")
        recorded = {i for e in queued_events for i in e["deployment_ids"]}
        assert ids <= recorded
    finally:
        store.close()


def _ingest_children(pid: int) -> list[int]:
    found = []
    for child in children_of(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"fraisier.ingest.ingest_process" in cmdline:
            found.append(child)
    return found


def test_the_ingest_process_starts_with_the_server_not_on_the_first_request(tmp_path):
    running = Server(write_config(tmp_path, extra=LIMITS), "--no-worker",
                     log=tmp_path / "serve.log")
    try:
        # No request was sent: the first webhook does not wait for the child's start.
        wait_for(lambda: _ingest_children(running.proc.pid), what="the ingest process")
    finally:
        running.stop()


def test_provider_named_in_the_query(server):
    """`POST /webhook?provider=gitlab` is `/webhook/gitlab`: the request is checked GitLab's
    way (signed: queued; a GitHub-signed body: refused), an unknown name is 404."""
    _, body = signed("gitlab", "push_hook.json")
    body += b"\n"  # not the body test_signed_push_over_http sent (that would be a duplicate)
    headers = gitlab_headers("Push Hook", body, signed_at=int(time.time()))
    headers["X-Gitlab-Event-UUID"] = "query-provider"
    response = httpx.post(f"{server.url}/webhook?provider=gitlab", content=body,
                          headers={**headers, **source()})
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    recorded = next(e for e in events(server) if e["delivery_id"] == "query-provider")
    assert recorded["provider"] == "gitlab"

    # Naming a provider never bypasses its signature: GitHub's headers and signature are
    # no GitLab token.
    headers, body = signed("github", "push_with-new-branch.payload.json")
    refused = httpx.post(f"{server.url}/webhook?provider=gitlab", content=body,
                         headers={**headers, **source()})
    assert refused.status_code == 401 and refused.json()["status"] == "rejected"
    refused = httpx.post(f"{server.url}/webhook?provider=github", content=body,
                         headers={**headers, "X-Hub-Signature-256": "sha256=" + "1" * 64,
                                  **source()})
    assert refused.status_code == 401

    for name in ("nope", ""):
        unknown = httpx.post(f"{server.url}/webhook?provider={name}", content=b"{}",
                             headers=source())
        assert unknown.status_code == 404, name
        assert unknown.json()["status"] == "rejected"
