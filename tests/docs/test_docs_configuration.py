"""docs/configuration.md must stay true to the code.

- every ```yaml block loads with load_config and resolves all its targets;
- every ```yaml invalid block is refused, and `fraisier validate` prints each line of the
  ```text block that follows it;
- every key table (marked `<!-- keys: Model -->`) lists exactly the keys of that model, and a
  default written as a single literal matches the model's default;
- the FRAISIER_* table lists exactly the variables a deployment's commands receive.
"""

from __future__ import annotations

import inspect
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from fraisier.cli.main import cli
from fraisier.config import ConfigError, load_config
from fraisier.config import model as config_model
from fraisier.engine.context import DeploymentRun
from fraisier.kinds import migrations

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
TEXT = DOC.read_text(encoding="utf-8")
FLAT = " ".join(TEXT.split())  # for phrases that may wrap

_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
# ${NAME} with no default; `$${` is an escape, not a reference.
_REQUIRED_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ANY_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")


@dataclass
class Block:
    info: str
    body: str
    line: int  # line of the opening fence in the doc


def _blocks() -> list[Block]:
    return [
        Block(m.group(1).strip(), m.group(2), TEXT.count("\n", 0, m.start()) + 1)
        for m in _FENCE.finditer(TEXT)
    ]


BLOCKS = _blocks()


def _valid_examples() -> list[tuple[Block, Block | None]]:
    """Each ```yaml block, with the ```dotenv block that directly follows it, if any."""
    found = []
    for index, block in enumerate(BLOCKS):
        if block.info == "yaml":
            following = BLOCKS[index + 1] if index + 1 < len(BLOCKS) else None
            found.append((block, following if following and following.info == "dotenv" else None))
    return found


def _invalid_examples() -> list[tuple[Block, Block]]:
    found = []
    for index, block in enumerate(BLOCKS):
        if block.info == "yaml invalid":
            following = BLOCKS[index + 1] if index + 1 < len(BLOCKS) else None
            assert following is not None and following.info == "text", (
                f"the `yaml invalid` block at line {block.line} needs a ```text block after it"
            )
            found.append((block, following))
    return found


VALID = _valid_examples()
INVALID = _invalid_examples()


def _isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FRAISIER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_the_doc_has_every_kind_of_example() -> None:
    assert len(VALID) >= 5
    assert len(INVALID) >= 3
    assert any(dotenv for _, dotenv in VALID)
    assert all(b.info in {"yaml", "yaml invalid", "text", "dotenv"} for b in BLOCKS), (
        sorted({b.info for b in BLOCKS})
    )


@pytest.mark.parametrize(
    ("block", "dotenv"), VALID, ids=[f"line-{b.line}" for b, _ in VALID]
)
def test_valid_example_loads_and_resolves(
    block: Block, dotenv: Block | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _isolate(monkeypatch, tmp_path)
    from_dotenv: set[str] = set()
    if dotenv is not None:
        (tmp_path / ".env").write_text(dotenv.body, encoding="utf-8")
        from_dotenv = {line.split("=", 1)[0].strip() for line in dotenv.body.splitlines()
                       if "=" in line and not line.lstrip().startswith("#")}
    # Variables with a default are unset so the default is what gets tested; those without
    # one get a placeholder, unless the example's .env provides them.
    for name in set(_ANY_VARIABLE.findall(block.body)) | from_dotenv:
        monkeypatch.delenv(name, raising=False)
    for name in set(_REQUIRED_VARIABLE.findall(block.body)) - from_dotenv:
        monkeypatch.setenv(name, f"example-{name.lower()}")
    path = tmp_path / "fraises.yaml"
    path.write_text(block.body, encoding="utf-8")

    config = load_config(path)
    targets = list(config.targets())

    assert targets
    assert len(targets) == sum(len(f.environments) for f in config.fraises.values())


def test_dotenv_example_takes_its_values_from_the_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    block, dotenv = next((b, d) for b, d in VALID if d is not None)
    _isolate(monkeypatch, tmp_path)
    values = dict(line.split("=", 1) for line in dotenv.body.splitlines() if "=" in line)
    for name in set(_ANY_VARIABLE.findall(block.body)):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text(dotenv.body, encoding="utf-8")
    (tmp_path / "fraises.yaml").write_text(block.body, encoding="utf-8")

    config = load_config(tmp_path)
    (target,) = config.targets()
    assert target.env["PORT"] == values["SHOP_PORT"]
    assert target.env["BANNER"] == "Prices in ${CURRENCY}"
    assert config.git.gitlab.secret_token.get_secret_value() == values["GITLAB_SECRET_TOKEN"]
    assert config.state.url == f"sqlite:///{tmp_path.resolve()}/.fraisier/state.db"

    monkeypatch.setenv("SHOP_PORT", "3200")  # the process environment beats .env
    (target,) = load_config(tmp_path).targets()
    assert target.env["PORT"] == "3200"


@pytest.mark.parametrize(
    ("block", "expected"), INVALID, ids=[f"line-{b.line}" for b, _ in INVALID]
)
def test_invalid_example_is_refused_with_the_documented_output(
    block: Block, expected: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _isolate(monkeypatch, tmp_path)
    for name in set(_ANY_VARIABLE.findall(block.body)):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "fraises.yaml"
    path.write_text(block.body, encoding="utf-8")

    with pytest.raises(ConfigError):
        load_config(path)

    result = CliRunner().invoke(cli, ["-c", str(path), "validate"])
    assert result.exit_code == 1, result.output
    # The doc writes the file as `fraises.yaml`; here it is a temporary path.
    printed = [line.strip().replace(str(path.resolve()), "fraises.yaml")
               for line in result.stderr.splitlines()]
    for line in expected.body.splitlines():
        if line.strip():
            assert line.strip() in printed, f"{line.strip()!r} not in:\n{result.stderr}"
    documented = [line for line in expected.body.splitlines() if line.startswith("  ")]
    assert len(documented) == len(printed) - 1, "the doc must show every problem"


def test_documented_success_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _isolate(monkeypatch, tmp_path)
    (success,) = re.findall(r"^fraises\.yaml: OK .*$", TEXT, re.MULTILINE)
    minimal = VALID[0][0]
    (tmp_path / "fraises.yaml").write_text(minimal.body, encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(cli, ["-c", "fraises.yaml", "validate"])

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == success


def test_config_option_refuses_a_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _isolate(monkeypatch, tmp_path)
    (tmp_path / "fraises.yaml").write_text(VALID[0][0].body, encoding="utf-8")
    result = CliRunner().invoke(cli, ["-c", str(tmp_path), "validate"])
    assert result.exit_code == 2
    assert "is a directory" in result.stderr
    assert "the option refuses a directory" in FLAT


def test_resolution_example_resolves_as_described(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    section = TEXT.split("## How a target is resolved", 1)[1]
    block = next(b for b, _ in VALID if b.body in section)
    _isolate(monkeypatch, tmp_path)
    (tmp_path / "fraises.yaml").write_text(block.body, encoding="utf-8")

    target = load_config(tmp_path / "fraises.yaml").target("web", "production")

    assert target.keep_releases == 10
    assert target.install.argv == ["pip", "install", "-r", "requirements.txt"]
    assert target.migrate.up.argv == ["alembic", "upgrade", "head"]
    assert (target.migrate.timeout, target.migrate.tool) == (900, "alembic")
    assert target.env == {"APP_ENV": "production", "LOG_LEVEL": "warning", "PORT": "8000"}
    prose = " ".join(section.split("## What every command receives", 1)[0].split())
    for claim in ("keeps 10 releases", "`pip install -r requirements.txt`",
                  "`alembic upgrade head` under a 900-second limit", "`tool: alembic`",
                  "`APP_ENV=production`, `LOG_LEVEL=warning` and `PORT=8000`"):
        assert claim in prose


# ---------------------------------------------------------------------------- key tables


def _tables() -> dict[str, list[list[str]]]:
    """Model name -> rows (cells) of the table under its `<!-- keys: Model -->` marker."""
    tables: dict[str, list[list[str]]] = {}
    lines = TEXT.splitlines()
    for index, line in enumerate(lines):
        marker = re.fullmatch(r"<!-- keys: (\w+) -->", line.strip())
        if not marker:
            continue
        rows = []
        for row in lines[index + 3:]:  # skip the header and the |---| line
            if not row.startswith("|"):
                break
            rows.append([cell.strip() for cell in row.strip().strip("|").split("|")])
        tables[marker.group(1)] = rows
    return tables


TABLES = _tables()
DOCUMENTED_MODELS = {
    "FraisierConfig", "StateConfig", "ProviderSecrets", "WebhookConfig", "WorkerConfig",
    "MappingTarget", "FraiseConfig", "MigrateConfig", "EnvironmentConfig", "HealthCheckConfig",
    "ApiConfig", "MetricsConfig", "DashboardConfig",
}


def _key(cell: str) -> str:
    match = re.fullmatch(r"`([a-z_]+)`", cell)
    assert match, f"first cell {cell!r} is not a single `key`"
    return match.group(1)


def test_every_model_has_a_key_table() -> None:
    assert set(TABLES) == DOCUMENTED_MODELS


@pytest.mark.parametrize("model_name", sorted(DOCUMENTED_MODELS))
def test_key_table_lists_exactly_the_model_keys(model_name: str) -> None:
    model: type[BaseModel] = getattr(config_model, model_name)
    documented = [_key(row[0]) for row in TABLES[model_name]]
    assert len(documented) == len(set(documented))
    assert set(documented) == set(model.model_fields)


@pytest.mark.parametrize("model_name", sorted(DOCUMENTED_MODELS))
def test_literal_defaults_match_the_model(model_name: str) -> None:
    model: type[BaseModel] = getattr(config_model, model_name)
    for row in TABLES[model_name]:
        key, default_cell = _key(row[0]), row[2]
        literal = re.fullmatch(r"`([^`]*)`", default_cell)
        field = model.model_fields[key]
        if literal is None:
            continue
        assert field.default is not PydanticUndefined and field.default is not None, (
            f"{model_name}.{key}: the doc gives a default the model does not have"
        )
        assert yaml.safe_load(literal.group(1)) == field.default, f"{model_name}.{key}"


def test_shared_defaults_take_every_environment_key_but_app_path() -> None:
    assert "except `app_path`" in FLAT
    from fraisier.config.rollouts import RolloutFields

    rollout = set(RolloutFields.model_fields)
    assert "the [rollout keys](#rollout-keys)" in TEXT
    environment = set(config_model.EnvironmentConfig.model_fields) - {"app_path"} - rollout
    assert set(config_model.EnvironmentDefaults.model_fields) - {"app_path"} == environment


# ------------------------------------------------------------------ FRAISIER_* variables


def _documented_variables() -> set[str]:
    lines = TEXT.splitlines()
    start = lines.index("<!-- fraisier-env -->")
    names = set()
    for row in lines[start + 3:]:
        if not row.startswith("|"):
            break
        names.update(re.findall(r"`(FRAISIER_[A-Z_]+)`", row.split("|")[1]))
    return names


def test_command_environment_variables_are_the_documented_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _isolate(monkeypatch, tmp_path)
    for name in [name for name in os.environ if name.startswith("FRAISIER_")]:
        monkeypatch.delenv(name)
    (tmp_path / "fraises.yaml").write_text(VALID[0][0].body, encoding="utf-8")
    (target,) = load_config(tmp_path / "fraises.yaml").targets()
    run = DeploymentRun(store=None, target=target, deployment_id=1, data_dir=tmp_path)

    given = {name for name in run.env() if name.startswith("FRAISIER_")}

    assert given == _documented_variables()
    assert "FRAISIER_MIGRATE_REVISION" in inspect.getsource(migrations.take_back)
    assert "`FRAISIER_MIGRATE_REVISION`" in TEXT
