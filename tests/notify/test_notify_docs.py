"""docs/notifications.md stays true to the code: every ```yaml block loads (with the
```dotenv block after it), every channel URL in it is one Apprise accepts, the key tables
list exactly the models' keys, the GraphQL example is valid against the schema, and the
example output of `fraisier notify test` has the program's shape."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from fraisier.config import load_config
from fraisier.config.notifications import ChannelConfig, NotifierConfig, scheme_of
from fraisier.notify.channels import all_channels

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "notifications.md"
TEXT = DOC.read_text(encoding="utf-8")
_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
BLOCKS = [(m.group(1).strip(), m.group(2), TEXT.count("\n", 0, m.start()) + 1)
          for m in _FENCE.finditer(TEXT)]


def _yaml_examples():
    found = []
    for index, (info, body, line) in enumerate(BLOCKS):
        if info == "yaml":
            after = BLOCKS[index + 1] if index + 1 < len(BLOCKS) else None
            dotenv = after[1] if after and after[0] == "dotenv" else ""
            found.append(pytest.param(body, dotenv, id=f"line-{line}"))
    return found


@pytest.mark.parametrize(("body", "dotenv"), _yaml_examples())
def test_yaml_examples_load_and_their_urls_are_apprise_urls(tmp_path, body, dotenv):
    import apprise

    (tmp_path / "fraises.yaml").write_text(body)
    (tmp_path / ".env").write_text(dotenv)
    config = load_config(tmp_path / "fraises.yaml", environ={})
    for target in config.targets():
        assert target.app_path.is_absolute()
    for name, channel in all_channels(config).items():
        url = channel.url.get_secret_value()
        assert apprise.Apprise.instantiate(url) is not None, f"{name}: Apprise refuses it"
        assert f"`{scheme_of(url)}`" in TEXT or scheme_of(url) in TEXT


def test_every_channel_example_has_a_row_in_the_scheme_table():
    for scheme in ("slack", "discord", "workflows", "mailto", "matrix", "ntfy", "tgram", "json"):
        assert f"| `{scheme}://`" in TEXT, scheme
        assert re.search(rf"url: {scheme}s?://", TEXT), f"no example of {scheme}://"


def _table(model: str) -> list[str]:
    marker = TEXT.index(f"<!-- keys: {model} -->")
    rows = TEXT[marker:].split("\n")[3:]
    keys = []
    for row in rows:
        if not row.startswith("|"):
            break
        keys.append(re.fullmatch(r"`([a-z_]+)`", row.strip("|").split("|")[0].strip()).group(1))
    return keys


@pytest.mark.parametrize("model", [ChannelConfig, NotifierConfig])
def test_key_tables_list_exactly_the_model_keys(model: type[BaseModel]):
    assert sorted(_table(model.__name__)) == sorted(model.model_fields)


def test_notifier_defaults_in_the_table_are_the_model_defaults():
    marker = TEXT.index("<!-- keys: NotifierConfig -->")
    for row in TEXT[marker:].split("\n")[3:]:
        if not row.startswith("|"):
            break
        cells = [c.strip() for c in row.strip("|").split("|")]
        key, default = cells[0].strip("`"), cells[2].strip("`")
        assert str(NotifierConfig.model_fields[key].default).lower() == default.lower(), key


def test_the_graphql_example_is_valid():
    from graphql import parse, validate

    from fraisier.api.schema import build_schema

    [query] = [body for info, body, _ in BLOCKS if info == "graphql"]
    schema = build_schema()._schema
    assert validate(schema, parse(query)) == []


def test_the_notify_test_example_has_the_programs_shape():
    [block] = [body for info, body, _ in BLOCKS if info == "text" and "notify test" in body]
    line = re.compile(r"^[a-z0-9-]+ \([a-z]+://\): (delivered|FAILED)( HTTP \d{3})? in "
                      r"\d+\.\d\ds(: .+)?$")
    for output in block.splitlines()[1:]:
        assert line.match(output), output
