"""`fraisier tokens create` refuses names that no table or log should have to hold."""

from __future__ import annotations

from pathlib import Path

from _cli_support import invoke

CONFIG = """\
fraises:
  web:
    repository: https://example.com/web.git
    environments:
      production: {{branch: main, app_path: {root}/srv/web}}
"""


def test_token_names_are_capped(tmp_path: Path):
    config = tmp_path / "fraises.yaml"
    config.write_text(CONFIG.format(root=tmp_path))
    refused = invoke(config, "tokens", "create", "a" * 65)
    assert refused.exit_code == 1
    assert "token name is 65 characters long; at most 64" in refused.stderr
    assert invoke(config, "tokens", "list", "--json").json() == []
    assert invoke(config, "tokens", "create", "a" * 64).exit_code == 0
