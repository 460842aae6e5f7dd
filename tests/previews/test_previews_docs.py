"""docs/previews.md stays true to the code: the example configuration loads as copied (with
its .env) and gives pr-12 what the text says; the systemd template unit is accepted by
systemd-analyze and reads the file Fraisier writes; the key tables list exactly the models'
keys with their defaults; the commands run; the GraphQL examples are valid against the
schema."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from graphql import parse, validate
from pydantic import BaseModel

from fraisier.config import load_config
from fraisier.config.previews import PreviewDatabaseConfig, PreviewsConfig
from fraisier.previews.steps import ENVIRONMENT_FILE, environment_file_text
from tests.cli._cli_support import invoke
from tests.support.services import require_binary

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "docs" / "previews.md").read_text(encoding="utf-8")
_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
BLOCKS = [(m.group(1).strip(), m.group(2)) for m in _FENCE.finditer(TEXT)]


def _block(kind: str, index: int = 0) -> str:
    return [body for info, body in BLOCKS if info == kind][index]


@pytest.fixture
def example(tmp_path: Path) -> Path:
    (tmp_path / "fraises.yaml").write_text(_block("yaml"))
    (tmp_path / ".env").write_text(_block("dotenv"))
    return tmp_path / "fraises.yaml"


def test_the_example_gives_pull_request_12_what_the_text_says(example: Path) -> None:
    config = load_config(example, environ={})
    target = config.target("shop", "pr-12")
    assert target.preview is not None
    assert str(target.app_path) == "/srv/shop-pr-12" and target.preview.port == 9112
    assert target.env["DATABASE_URL"] == "postgresql:///shop_pr_12"
    assert target.preview.url == "https://pr-12.shop.example.com"
    assert target.preview.database is not None
    assert (target.preview.database.name, target.preview.database.template) == (
        "shop_pr_12", "shop_staging")
    assert target.restart is not None and target.restart.argv == [
        "systemctl", "restart", "shop-preview@12"]
    assert target.preview.stop is not None and target.preview.stop.argv[-1] == "shop-preview@12"
    assert target.install == config.target("shop", "staging").install
    for phrase in ("`shop/pr-12`", "`/srv/shop-pr-12`", "port 9112", "`shop_pr_12`",
                   "`DATABASE_URL=postgresql:///shop_pr_12`", "`https://pr-12.shop.example.com`"):
        assert phrase in " ".join(TEXT.split()), phrase


def test_the_systemd_unit_is_valid_and_reads_the_file_fraisier_writes(
        example: Path, tmp_path: Path) -> None:
    require_binary("systemd-analyze")
    unit = _block("ini")
    units = tmp_path / "units"
    units.mkdir()
    (units / "shop-preview@.service").write_text(unit)
    (units / "shop-preview@12.service").write_text(unit)
    verify = subprocess.run(["systemd-analyze", "verify", str(units / "shop-preview@12.service")],
                            capture_output=True, text=True, timeout=60)
    # The release does not exist on this machine; nothing else may be wrong.
    complaints = [line for line in (verify.stdout + verify.stderr).splitlines()
                  if line.strip() and "/srv/shop-pr-12/current/.venv/bin/gunicorn is not "
                  "executable" not in line]
    assert complaints == []
    target = load_config(example, environ={}).target("shop", "pr-12")
    assert ("EnvironmentFile=" + str(target.app_path / ENVIRONMENT_FILE)).replace(
        "12", "%i") in unit
    written = environment_file_text(target.env)
    assert 'FRAISIER_PREVIEW_PORT="9112"\n' in written
    assert "${FRAISIER_PREVIEW_PORT}" in unit


def _table(model: str) -> list[tuple[str, str]]:
    rows = TEXT[TEXT.index(f"<!-- keys: {model} -->"):].split("\n")[3:]
    found = []
    for row in rows:
        if not row.startswith("|"):
            break
        cells = [c.strip() for c in row.strip("|").split("|")]
        found.append((cells[0].strip("`"), cells[2]))
    return found


@pytest.mark.parametrize("model", [PreviewsConfig, PreviewDatabaseConfig])
def test_key_tables_list_exactly_the_model_keys(model: type[BaseModel]) -> None:
    rows = _table(model.__name__)
    assert sorted(key for key, _ in rows) == sorted(model.model_fields)
    for key, default in rows:
        literal = re.fullmatch(r"`([^`]*)`", default)
        if literal and key != "ttl":
            assert str(model.model_fields[key].default).lower() == literal.group(1).lower(), key
    assert PreviewsConfig.model_fields["ttl"].default == 7 * 86_400


def test_the_commands_run_as_shown(example: Path) -> None:
    commands = [line.removeprefix("$ fraisier ").split()
                for line in _block("console").splitlines() if line.startswith("$ fraisier ")]
    assert [c[:2] for c in commands] == [["previews"], ["previews", "shop"],
                                         ["preview", "destroy"]]
    listed = invoke(example, *commands[0])
    assert listed.exit_code == 0 and "no previews open" in listed.stdout
    assert invoke(example, *commands[1]).json() == []
    refused = invoke(example, *commands[2])
    assert refused.exit_code == 1
    assert "shop has no open preview of pull request #12" in refused.stderr


def test_the_graphql_examples_are_valid() -> None:
    from fraisier.api.schema import build_schema

    schema = build_schema()._schema
    for line in _block("graphql").splitlines():
        errors = validate(schema, parse(line))
        assert errors == [], (line, errors)
