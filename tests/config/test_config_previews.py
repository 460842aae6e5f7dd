"""`previews:` is validated like every other key: each mistake is an error naming its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from fraisier.config import ConfigError, load_config

BASE = """\
fraises:
  shop:
    type: {type}
    repository: https://github.com/acme/shop.git
    environments:
      staging: {{branch: main, app_path: /srv/shop-staging}}
    previews:
{previews}
"""
GOOD = {"app_path": "/srv/shop-pr-{number}", "ports": "9100-9199"}


def _load(tmp_path: Path, previews: dict[str, str], kind: str = "api") -> None:
    lines = "\n".join(f"      {key}: {value}" for key, value in previews.items())
    (tmp_path / "fraises.yaml").write_text(BASE.format(type=kind, previews=lines))
    load_config(tmp_path / "fraises.yaml")


@pytest.mark.parametrize(("changes", "key", "message"), [
    ({"app_path": "/srv/shop-pr-{nmber}"}, "fraises.shop.previews.app_path",
     "unknown placeholder {nmber}"),
    ({"app_path": "/srv/shop-preview"}, "fraises.shop.previews.app_path",
     "must contain {number}"),
    ({"app_path": "srv/shop-{number}"}, "fraises.shop.previews.app_path", "not an absolute path"),
    ({"ports": "9100:9199"}, "fraises.shop.previews.ports", "not a port range"),
    ({"ports": "9199-9100"}, "fraises.shop.previews.ports", "first ≤ last"),
    ({"max_active": "0"}, "fraises.shop.previews.max_active", "must be at least 1"),
    ({"ttl": "a week"}, "fraises.shop.previews.ttl", "is not a duration"),
    ({"database": "{template: a, from_backup: b}"}, "fraises.shop.previews.database",
     "exactly one of template or from_backup"),
    ({"database": "{template: a, admin_url: 'mysql://x'}"},
     "fraises.shop.previews.database.admin_url", "postgresql:// URL"),
    ({"env": "{DATABASE_URL: 'postgresql:///{db}'}"}, "fraises.shop.previews.env",
     "unknown placeholder {db}"),
    ({"environment": "production"}, "fraises.shop", "no environment 'production'"),
    ({"restart": "[systemctl, restart, 'shop@{pr}']"}, "fraises.shop.previews.restart",
     "unknown placeholder {pr}"),
    ({"colour": "red"}, "fraises.shop.previews.colour", "unknown key"),
])
def test_mistakes_name_their_key(tmp_path: Path, changes: dict[str, str], key: str,
                                 message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, {**GOOD, **changes})
    text = str(raised.value)
    assert key in text and message in text, text


def test_only_api_fraises_have_previews(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="only api fraises have previews"):
        _load(tmp_path, GOOD, kind="etl")


def test_a_good_one_resolves_and_other_environments_are_unknown(tmp_path: Path) -> None:
    _load(tmp_path, {**GOOD, "ttl": "12h"})
    config = load_config(tmp_path / "fraises.yaml")
    assert config.target("shop", "pr-7").preview is not None
    (tmp_path / "fraises.yaml").write_text(
        (tmp_path / "fraises.yaml").read_text().replace("9100-9199", "9100"))
    assert load_config(tmp_path / "fraises.yaml").target("shop", "pr-7").preview.port == 9100
    assert config.fraises["shop"].previews.ttl == 12 * 3600
    from fraisier.config import UnknownTarget

    for name in ("pr-0", "pr-x", "preview-7"):
        with pytest.raises(UnknownTarget, match=f"no environment {name!r}"):
            config.target("shop", name)
