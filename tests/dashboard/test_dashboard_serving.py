"""How `fraisier serve` serves the dashboard and the query page: packaged files only, nothing
from another origin, the security headers, `dashboard.enabled` and `dashboard.path`."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from fraisier.config import ConfigError, load_config
from fraisier.demo.workspace import free_port
from tests.api.conftest import start_server, stop, wait_until_up
from tests.engine.sample import make_sample

STATIC = Path(__file__).resolve().parents[2] / "src" / "fraisier" / "dashboard" / "static"
# Any absolute or protocol-relative URL in a src/href/action attribute or a CSS url().
EXTERNAL = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:[a-z]+:)?//|url\(\s*["']?(?:[a-z]+:)?//""",
                      re.IGNORECASE)


def _serve(tmp_path, extra: str = ""):
    workspace = make_sample(tmp_path)
    if extra:
        workspace.config_path.write_text(workspace.config_path.read_text() + extra)
    port = free_port()
    process = start_server(workspace.config_path, port)
    wait_until_up(process, f"http://127.0.0.1:{port}/graphql")
    return process, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    process, url = _serve(tmp_path_factory.mktemp("served"))
    yield url
    stop(process)


def _assert_secure(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_dashboard_page_and_assets_are_packaged_and_reference_nothing_external(served):
    page = httpx.get(f"{served}/")
    assert page.status_code == 200
    _assert_secure(page)
    assert not EXTERNAL.search(page.text), page.text
    assert "<script>" not in page.text and " style=" not in page.text  # no inline script/style
    assets = re.findall(r'(?:src|href)="(static/[^"]+)"', page.text)
    assert "static/app.js" in assets and "static/style.css" in assets
    # Every file the page may load is served from the package, with the same headers.
    for path in sorted(STATIC.iterdir()):
        if path.suffix not in (".js", ".css"):
            continue
        asset = httpx.get(f"{served}/static/{path.name}")
        assert asset.status_code == 200, path.name
        _assert_secure(asset)
        assert asset.content == path.read_bytes()
        assert not EXTERNAL.search(asset.text), path.name
        imports = re.findall(r'from "(\./[^"]+)"', asset.text)
        assert all((STATIC / name[2:]).is_file() for name in imports), imports


def test_the_server_still_answers_its_own_paths(served):
    assert httpx.get(f"{served}/webhook").status_code == 405  # not the dashboard's 404
    assert httpx.get(f"{served}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{served}/nothing-here").status_code == 404


def test_assets_are_compressed_for_the_browser(served):
    asset = httpx.get(f"{served}/static/deployment.js", headers={"Accept-Encoding": "gzip"})
    assert asset.headers["content-encoding"] == "gzip"


def test_the_query_page_at_get_graphql_is_packaged_too(served):
    page = httpx.get(f"{served}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    _assert_secure(page)
    assert "Fraisier GraphQL" in page.text
    assert not EXTERNAL.search(page.text), page.text
    assert "graphiql" not in page.text.lower() and "cdn" not in page.text.lower()
    script = re.search(r'src="([^"]+query\.js)"', page.text).group(1)
    assert httpx.get(f"{served}{script}").status_code == 200
    # POST still answers GraphQL.
    assert httpx.post(f"{served}/graphql", json={"query": "{ __typename }"}).json() == {
        "data": {"__typename": "Query"}}


def test_dashboard_at_another_path(tmp_path):
    process, url = _serve(tmp_path, "dashboard:\n  path: /ops/\n")
    try:
        assert httpx.get(f"{url}/ops/").status_code == 200
        moved = httpx.get(f"{url}/ops")
        assert moved.status_code in (307, 308) and moved.headers["location"].endswith("/ops/")
        assert httpx.get(f"{url}/ops/static/app.js").status_code == 200
        assert httpx.get(f"{url}/").status_code == 404
        query_page = httpx.get(f"{url}/graphql", headers={"Accept": "text/html"}).text
        assert 'src="/ops/static/query.js"' in query_page
    finally:
        stop(process)


def test_dashboard_disabled_serves_neither_page(tmp_path):
    process, url = _serve(tmp_path, "dashboard:\n  enabled: false\n")
    try:
        assert httpx.get(f"{url}/").status_code == 404
        assert httpx.get(f"{url}/static/app.js").status_code == 404
        assert httpx.get(f"{url}/graphql", headers={"Accept": "text/html"}).status_code != 200
        assert httpx.post(f"{url}/graphql", json={"query": "{ __typename }"}).status_code == 200
    finally:
        stop(process)


@pytest.mark.parametrize("path, message", [
    ("/graphql", "would hide"), ("/webhook/x", "would hide"), ("dash", "must be /"),
    ("/Dash", "must be /"), ("/a b", "must be /")])
def test_a_bad_dashboard_path_is_refused_with_its_key(tmp_path, path, message):
    workspace = make_sample(tmp_path)
    workspace.config_path.write_text(workspace.config_path.read_text()
                                     + f"dashboard:\n  path: '{path}'\n")
    with pytest.raises(ConfigError) as refused:
        load_config(workspace.config_path)
    assert "dashboard.path" in str(refused.value) and message in str(refused.value)
