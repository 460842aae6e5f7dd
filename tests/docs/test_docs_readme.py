"""The README's example configuration must be valid as written."""

import re
from pathlib import Path

from fraisier.config import load_config

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_yaml_examples_validate(tmp_path):
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S)
    assert blocks, "the README shows a fraises.yaml example"
    for number, block in enumerate(blocks):
        path = tmp_path / f"example{number}" / "fraises.yaml"
        path.parent.mkdir()
        path.write_text(block)
        config = load_config(path)
        targets = list(config.targets())
        assert targets and all(t.app_path.is_absolute() for t in targets)


def test_readme_names_the_two_commands():
    text = README.read_text()
    assert "make demo" in text and "make test" in text
    makefile = (README.parent / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
