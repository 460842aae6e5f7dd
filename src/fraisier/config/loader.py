"""Read fraises.yaml from disk: parse, substitute variables, validate."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from dotenv import dotenv_values
from pydantic import ValidationError

from fraisier.config.envsubst import substitute
from fraisier.config.errors import ConfigError, Problem
from fraisier.config.model import FraisierConfig
from fraisier.config.translate import problems_from_validation, relocate
from fraisier.config.yamlsource import parse_yaml

DEFAULT_FILENAME = "fraises.yaml"

# A real fraises.yaml is a few kilobytes; anything this large is a mistake (a log or a dump
# written to the wrong path) or an attack on the parser, and is refused before it is read.
MAX_CONFIG_BYTES = 1024 * 1024


def load_config(path: str | Path, *, environ: Mapping[str, str] | None = None) -> FraisierConfig:
    """Load and validate a configuration file (or the fraises.yaml inside a directory).

    Variables come from `environ` (default: the process environment) laid over a
    `.env` file next to the configuration; the process environment wins so a
    deploy-time override never needs an edit to the file.
    Raises ConfigError listing every problem found.
    """
    config_path = Path(path).expanduser()
    if config_path.is_dir():
        config_path = config_path / DEFAULT_FILENAME
    if not config_path.is_file():
        raise ConfigError(
            f"configuration file not found: {config_path} "
            "(run `fraisier init` to create one)"
        )
    config_path = config_path.resolve()
    config_dir = config_path.parent

    try:
        size = config_path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(
                f"the file is {size} bytes; a configuration may be at most "
                f"{MAX_CONFIG_BYTES} bytes", source=config_path)
        text = config_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {config_path}: {exc}") from None

    try:
        parsed = parse_yaml(text)
    except ConfigError as exc:
        raise ConfigError(exc.problems, source=config_path) from None

    problems = list(parsed.problems)
    if parsed.data is None:
        raise ConfigError(
            [*problems, Problem("", "the file is empty; expected a mapping of settings")],
            source=config_path,
        )
    if not isinstance(parsed.data, dict):
        raise ConfigError(
            [*problems, Problem("", "the top level must be a mapping of settings", 1)],
            source=config_path,
        )

    variables = _variables(config_dir, environ)
    data, substitution_problems = substitute(parsed.data, variables)
    if substitution_problems:
        # Validating half-substituted values would only add misleading errors.
        raise ConfigError(
            _sorted(problems + relocate(substitution_problems, parsed)), source=config_path
        )

    nul_problems = list(_nul_bytes(data, ()))
    if nul_problems:
        # No system call accepts a NUL byte: such a value would pass validation and fail
        # every command or file operation that uses it, in the middle of a deployment.
        raise ConfigError(_sorted(problems + relocate(nul_problems, parsed)), source=config_path)

    try:
        config = FraisierConfig.model_validate(
            data, context={"config_dir": config_dir, "config_path": config_path}
        )
    except ValidationError as exc:
        problems += problems_from_validation(exc, parsed, FraisierConfig)
    except ConfigError as exc:
        problems += relocate(exc.problems, parsed)
    if problems:
        raise ConfigError(_sorted(problems), source=config_path)
    return config


def _nul_bytes(value: object, loc: tuple[str | int, ...]) -> Iterator[Problem]:
    if isinstance(value, str):
        if "\x00" in value:
            yield Problem.at(loc, "contains a NUL byte (\\0), which no path, command or "
                                  "environment variable can hold")
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\x00" in key:
                yield Problem.at((*loc, key), "the key contains a NUL byte (\\0)")
            yield from _nul_bytes(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_bytes(item, (*loc, index))


def _variables(config_dir: Path, environ: Mapping[str, str] | None) -> dict[str, str | None]:
    dotenv_path = config_dir / ".env"
    variables: dict[str, str | None] = dict(dotenv_values(dotenv_path)) if dotenv_path.is_file() else {}
    variables.update(os.environ if environ is None else environ)
    return variables


def _sorted(problems: list[Problem]) -> list[Problem]:
    # File order reads best; problems without a line go last.
    return sorted(problems, key=lambda p: (p.line is None, p.line or 0))
