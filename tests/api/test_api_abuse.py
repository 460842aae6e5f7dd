"""Hostile requests to /graphql from a client without a token, against a real `fraisier
serve`: JSON nested thousands deep is a 400 (it was a 500 with a RecursionError), refused
requests are one log line each (no traceback), and one source is rate-limited like /webhook."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.webhooks._server import Server

CONFIG = """\
webhook:
  trusted_proxies: [127.0.0.1/32]
api:
  rate_limit_per_minute: 5
fraises:
  web:
    repository: https://example.com/web.git
    environments:
      production: {{branch: main, app_path: {root}/srv/web}}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("api-abuse")
    config = root / "fraises.yaml"
    config.write_text(CONFIG.format(root=root))
    running = Server(config, "--no-worker", log=root / "serve.log")
    yield running
    running.stop()


def _post(server, body: bytes, source: str) -> httpx.Response:
    return httpx.post(f"{server.url}/graphql", content=body, timeout=30,
                      headers={"Content-Type": "application/json", "X-Forwarded-For": source})


def test_deeply_nested_variables_are_a_400(server):
    nested = "[" * 5000 + "]" * 5000
    body = ('{"query": "{ __typename }", "variables": {"x": ' + nested + "}}").encode()
    response = _post(server, body, "198.51.100.1")
    assert response.status_code == 400, response.text
    assert "nested more than 64 levels deep" in response.text
    # Under Python's own recursion limit, but still absurd for GraphQL variables.
    body = json.dumps({"query": "{ __typename }", "variables": {"x": json.loads(
        "[" * 100 + "]" * 100)}}).encode()
    assert _post(server, body, "198.51.100.1").status_code == 400
    assert "Traceback" not in server.output()


def test_refused_requests_are_one_line_each_in_the_log(server):
    body = json.dumps({"query": "{ fraises { id } }"}).encode()
    for _ in range(3):
        answer = _post(server, body, "198.51.100.2").json()
        assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    log = server.output()
    refusals = [line for line in log.splitlines() if "UNAUTHENTICATED" in line]
    assert len(refusals) == 3, log
    assert "Traceback" not in log


def test_one_source_is_rate_limited(server):
    body = json.dumps({"query": "{ __typename }"}).encode()
    statuses = [_post(server, body, "198.51.100.3").status_code for _ in range(7)]
    assert statuses[:5] == [200] * 5
    assert statuses[5:] == [429, 429]
    refused = _post(server, body, "198.51.100.3")
    assert refused.headers["Retry-After"] == "12"
    assert _post(server, body, "198.51.100.4").status_code == 200  # another source
