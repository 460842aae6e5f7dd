"""`fraisier validate` checks references without fetching them; `--resolve` fetches each and
names every failure; the server fetches webhook secrets when it loads its configuration."""

from __future__ import annotations

import stat
from pathlib import Path

from click.testing import CliRunner

from fraisier.cli.main import cli
from fraisier.config import load_config
from fraisier.domain.redaction import redact


def _config(tmp_path: Path) -> Path:
    tool = tmp_path / "tool"
    tool.write_text('#!/bin/sh\necho called >> "$MARKER"\ntest "$1" = good && echo tool-value-1\n'
                    'test "$1" = good || { echo "no item $1" >&2; exit 2; }\n')
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "hook").write_text("hook-secret-22\n")
    path = tmp_path / "fraises.yaml"
    path.write_text(f"""\
state:
  url: sqlite:///{tmp_path}/state.db
secrets:
  tool: {{type: command, command: [{tool}], env: {{MARKER: {tmp_path}/called}}}}
git:
  github: {{webhook_secret: "${{secret:file:{tmp_path}/hook}}"}}
fraises:
  shop:
    repository: {tmp_path}
    env:
      GOOD: "${{secret:tool:good}}"
      BAD: "${{secret:tool:bad}}"
    environments:
      production: {{branch: main, app_path: {tmp_path}-srv/app}}
""")
    return path


def test_validate_does_not_fetch_and_resolve_reports_each_failure(tmp_path: Path) -> None:
    path = _config(tmp_path)
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    plain = CliRunner().invoke(cli, ["-c", str(path), "validate"], env=env)
    assert plain.exit_code == 0, plain.output
    assert "OK (1 fraise(s), 1 environment(s))" in plain.output
    assert not (tmp_path / "called").exists()  # nothing was fetched

    resolved = CliRunner().invoke(cli, ["-c", str(path), "validate", "--resolve"], env=env)
    assert resolved.exit_code == 1
    assert "1 of 3 secret reference(s) cannot be resolved:" in resolved.output
    assert (f"fraises.shop.env.BAD: ${{secret:tool:bad}}: tool: {tmp_path}/tool exited with "
            "status 2: no item bad") in resolved.output
    assert "tool-value-1" not in resolved.output and "hook-secret-22" not in resolved.output
    assert (tmp_path / "called").read_text().count("called") == 2


def test_server_fetches_webhook_secrets_when_it_loads_the_configuration(tmp_path: Path) -> None:
    from fraisier.server.app import load_webhook_secrets

    config = load_config(_config(tmp_path))
    raw = config.target("shop", "production").secrets.github.webhook_secret
    assert raw is not None and raw.get_secret_value().startswith("${secret:file:")
    loaded = load_webhook_secrets(config)
    secret = loaded.target("shop", "production").secrets.github.webhook_secret
    assert secret is not None and secret.get_secret_value() == "hook-secret-22"
    # the env references are left for the deployments to fetch
    assert loaded.fraises["shop"].env["BAD"] == "${secret:tool:bad}"
    assert redact("sig with hook-secret-22") == "sig with ***"
    assert loaded.config_path == config.config_path


def test_a_webhook_secret_from_a_backend_verifies_deliveries(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from fraisier.server import create_app
    from fraisier.store import open_store
    from tests.providers._support import SECRET
    from tests.webhooks._support import signed, write_config

    (tmp_path / "github_secret").write_text(SECRET + "\n")
    git = f'  github: {{webhook_secret: "${{secret:file:{tmp_path}/github_secret}}"}}\n'
    config = load_config(write_config(tmp_path, git))
    store = open_store(config.state.url)
    headers, body = signed("github", "push_payload.json")
    try:
        with TestClient(create_app(config, store, worker=False)) as client:
            answer = client.post("/webhook", content=body, headers=headers)
        # verified with the fetched secret (this delivery deletes a tag: nothing to deploy)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"status": "ignored",
                                 "reason": "refs/tags/simple-tag was deleted"}
        # the reference itself, used as a key, would have refused it
        from fraisier.ingest import WebhookRequest
        from fraisier.ingest.handler import Ingest

        unresolved = Ingest(config, store)
        try:
            lowered = {key.lower(): value for key, value in headers.items()}
            refused = unresolved.handle(WebhookRequest(lowered, body, "127.0.0.1", None))
        finally:
            unresolved.close()
        assert refused.status_code == 401
    finally:
        store.close()
