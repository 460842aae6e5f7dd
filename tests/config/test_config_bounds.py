"""Bounds on what the configuration parser will do: file size, alias expansion, nesting."""

from __future__ import annotations

from pathlib import Path

import pytest
from _config_support import MINIMAL

from fraisier.config import ConfigError, load_config
from fraisier.config.loader import MAX_CONFIG_BYTES
from fraisier.config.yamlsource import MAX_EXPANDED_VALUES


def _alias_bomb(levels: int, width: int) -> str:
    """A few hundred bytes that expand to width**levels values (under an unknown key, as in
    the report: it must be refused before anything walks the expansion)."""
    lines = ["x-bomb:", "  l0: &l0 [lol]"]
    for level in range(1, levels + 1):
        items = ", ".join(f"*l{level - 1}" for _ in range(width))
        lines.append(f"  l{level}: &l{level} [{items}]")
    return "\n".join(lines) + "\n" + MINIMAL


def test_an_alias_bomb_is_refused_without_expanding_it(write_config):
    text = _alias_bomb(levels=6, width=8)  # 8**6 = 262,144 values from < 1 KB
    assert len(text) < 1024
    with pytest.raises(ConfigError) as info:
        load_config(write_config(text), environ={})
    (problem,) = info.value.problems
    assert f"more than {MAX_EXPANDED_VALUES} values" in problem.message
    assert "aliases" in problem.message
    assert "fraises.yaml" in str(info.value)  # names the file


def test_a_deeply_nested_document_is_one_clear_problem(write_config):
    path = write_config("x: " + "[" * 5000 + "]" * 5000 + "\n" + MINIMAL)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    (problem,) = info.value.problems
    assert "nested too deeply" in problem.message


def test_a_file_over_the_size_cap_is_refused_before_reading(write_config, tmp_path: Path):
    path = write_config(MINIMAL + "# " + "x" * MAX_CONFIG_BYTES + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    message = str(info.value)
    assert f"at most {MAX_CONFIG_BYTES} bytes" in message
    assert str(path.resolve()) in message
