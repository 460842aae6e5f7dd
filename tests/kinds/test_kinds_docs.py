"""Every YAML example in docs/fraise-types.md is valid."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from fraisier.cli.main import cli

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)
VARIABLES = {"SHOP_DATABASE_URL": "postgresql://shop@db.internal/shop",
             "SCRATCH_DATABASE_URL": "postgresql://shop@db.internal/shop_scratch"}


def _examples() -> list[tuple[str, int, str]]:
    found = []
    for name in ("fraise-types.md",):
        text = (DOCS / name).read_text()
        found += [(name, index, block) for index, block in enumerate(BLOCK.findall(text))]
    return found


def test_the_docs_have_an_example_per_type():
    text = "\n".join(block for _, _, block in _examples())
    for kind in ("api", "etl", "scheduled", "backup"):
        assert f"type: {kind}" in text


@pytest.mark.parametrize("name, index, block", _examples(),
                         ids=[f"{n}#{i}" for n, i, _ in _examples()])
def test_example_passes_fraisier_validate(tmp_path, monkeypatch, name, index, block):
    for key, value in VARIABLES.items():
        monkeypatch.setenv(key, value)
    path = tmp_path / "fraises.yaml"
    path.write_text(block)
    result = CliRunner().invoke(cli, ["-c", str(path), "validate"])
    assert result.exit_code == 0, f"{name} example {index}:\n{result.output}"
    assert ": OK (" in result.output
