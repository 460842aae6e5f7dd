"""docs/dashboard.md stays true: its configuration example loads, its header table is what
the server sends, and every screenshot it shows exists (`make screenshots` makes them)."""

from __future__ import annotations

import re
from pathlib import Path

from fraisier.config import load_config
from fraisier.dashboard import security_headers
from tests.engine.sample import make_sample

DOC = Path(__file__).resolve().parents[2] / "docs" / "dashboard.md"
TEXT = DOC.read_text(encoding="utf-8")


def test_the_configuration_example_loads(tmp_path):
    block = re.search(r"```text\n(dashboard:\n.*?)```", TEXT, re.DOTALL).group(1)
    workspace = make_sample(tmp_path)
    workspace.config_path.write_text(workspace.config_path.read_text() + block)
    settings = load_config(workspace.config_path).dashboard
    assert settings.enabled is True and settings.path == "/"


def test_the_header_table_is_what_the_server_sends():
    documented = dict(re.findall(r"^\| `([A-Za-z-]+)` \| `([^|]+?)`", TEXT, re.MULTILINE))
    assert documented == security_headers()


def test_every_screenshot_exists():
    images = re.findall(r"\]\((images/[^)]+\.png)\)", TEXT)
    assert len(images) >= 10
    for image in images:
        assert (DOC.parent / image).is_file(), image
