"""docs/setup.md shows what `fraisier setup` writes: its configuration validates, and the unit
and sudoers excerpts are exactly what setup renders for it."""

from __future__ import annotations

import re
from pathlib import Path

from tests.cli._cli_support import invoke

DOC = (Path(__file__).resolve().parents[2] / "docs" / "setup.md").read_text()


def _block(language: str, index: int = 0) -> str:
    return re.findall(rf"```{language}\n(.*?)```", DOC, re.DOTALL)[index]


def _written(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "x" * 64)
    config = tmp_path / "fraises.yaml"
    config.write_text(_block("yaml"))
    assert invoke(config, "validate").exit_code == 0
    command = next(line for line in _block("sh", 2).splitlines() if " setup --out " in line)
    args = command.split(" setup ", 1)[1].split()
    args[args.index("--out") + 1] = str(tmp_path / "out")
    outcome = invoke(config, "setup", *args, "--executable", "/usr/local/bin/fraisier")
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    return config


def test_the_unit_shown_is_the_unit_written(tmp_path, monkeypatch):
    config = _written(tmp_path, monkeypatch)
    unit = (tmp_path / "out/etc/systemd/system/fraisier.service").read_text()
    unit = unit.replace(str(config), "/etc/fraisier/fraises.yaml")
    assert _block("ini") in unit


def test_the_sudoers_shown_is_the_sudoers_written(tmp_path, monkeypatch):
    _written(tmp_path, monkeypatch)
    sudoers = (tmp_path / "out/etc/sudoers.d/fraisier").read_text()
    assert _block("text") in sudoers


def test_the_site_uses_the_server_name(tmp_path, monkeypatch):
    _written(tmp_path, monkeypatch)
    site = (tmp_path / "out/etc/nginx/sites-available/fraisier.conf").read_text()
    assert "server_name deploy.example.com;" in site
    assert "/etc/letsencrypt/live/deploy.example.com/fullchain.pem" in site
