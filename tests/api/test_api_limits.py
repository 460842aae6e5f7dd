"""Bounds on what a request may ask, anonymous reads, and what never leaves the server."""

from __future__ import annotations

import httpx

from tests.api.conftest import LiveApi, start_server, stop, wait_until_up

LIMITS = """api:
  anonymous_read: true
  max_depth: 3
  max_aliases: 2
  max_body_bytes: 2048
"""


def _server_with(tmp_path, extra: str, repository: str | None = None):
    from fraisier.config import load_config
    from fraisier.demo.workspace import free_port
    from fraisier.engine.service import open_state
    from tests.engine.sample import make_sample

    workspace = make_sample(tmp_path)
    text = workspace.config_path.read_text()
    if repository:
        text = text.replace(f"repository: {workspace.repo}", f"repository: {repository}")
    workspace.config_path.write_text(extra + text)
    config = load_config(workspace.config_path)
    store = open_state(config)
    port = free_port()
    process = start_server(workspace.config_path, port)
    url = f"http://127.0.0.1:{port}/graphql"
    wait_until_up(process, url)
    return process, LiveApi(url=url, ws_url="", config_path=workspace.config_path,
                            workspace=workspace, config=config, store=store)


def test_configured_bounds_and_anonymous_read(tmp_path):
    process, api = _server_with(tmp_path, LIMITS)
    try:
        assert api.gql("{ fraises { id } }", token=None) == {"fraises": [{"id": "hello"}]}
        # Anonymous reading never extends to changes.
        assert api.codes('mutation { deploy(fraiseId: "hello", environment: "production")'
                         " { id } }", token=None) == ["UNAUTHENTICATED"]
        deep = api.post("{ fraises { environments { lastDeployment { steps { name } } } } }",
                        token=None).json()
        assert "exceeds maximum operation depth" in deep["errors"][0]["message"]
        aliases = api.post("{ a: fraises { id } b: fraises { id } c: fraises { id } }",
                           token=None).json()
        assert "aliases" in aliases["errors"][0]["message"]
        big = httpx.post(api.url, json={"query": "{ fraises { id } }", "pad": "x" * 4096})
        assert big.status_code == 413
        # Chunked bodies (no Content-Length) are capped too.
        chunked = httpx.post(api.url, content=iter([b'{"query": "{ fraises { id } }", "p": "',
                                                    b"x" * 4096, b'"}']))
        assert chunked.status_code == 413
    finally:
        stop(process)
        api.store.close()


def test_credentials_in_a_repository_url_never_leave_the_server(tmp_path):
    secret = "s3cr3t-t0ken"
    process, api = _server_with(tmp_path, "api:\n  anonymous_read: true\n",
                                repository=f"https://deploy:{secret}@git.example.test/acme/hello.git")
    try:
        body = api.post('{ fraises { repository } fraise(id: "hello") { repository } }',
                        token=None).text
        assert secret not in body
        assert "https://***@git.example.test/acme/hello.git" in body
    finally:
        stop(process)
        api.store.close()


def test_unexpected_errors_are_masked_and_ours_are_not():
    from graphql import GraphQLError

    from fraisier.api.errors import bad_input, should_mask

    leaked = GraphQLError("boom", original_error=RuntimeError("password=hunter2"))
    assert should_mask(leaked)
    ours = bad_input("limit must be between 1 and 500")
    assert not should_mask(GraphQLError(ours.message, original_error=ours))
    assert not should_mask(GraphQLError("Cannot query field 'x' on type 'Query'."))
