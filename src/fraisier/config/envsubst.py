"""`${VAR}` / `${VAR:-default}` substitution in string values; `$${` is a literal `${`.

A bare `$VAR` is left alone on purpose: shell commands in the file use it and
expect the shell, not Fraisier, to expand it.

`${secret:BACKEND:REFERENCE}` is a secret reference (config/secretref.py): its syntax is
checked here and it is kept as written, to be fetched when a value is needed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fraisier.config.errors import Problem
from fraisier.config.secretref import PREFIX as SECRET_PREFIX
from fraisier.config.secretref import parse as parse_secret

_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_REFERENCE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$", re.DOTALL)


def substitute(data: Any, environ: Mapping[str, str | None]) -> tuple[Any, list[Problem]]:
    """Return a copy of `data` with every string value expanded, plus what went wrong.

    Mapping keys are not expanded: they are names, and a name that changes with
    the environment would make the file impossible to read.
    """
    problems: list[Problem] = []
    return _expand_node(data, (), environ, problems), problems


def _expand_node(value: Any, loc: tuple[Any, ...], environ: Mapping[str, str | None], problems: list[Problem]) -> Any:
    if isinstance(value, str):
        return expand(value, environ, loc, problems)
    if isinstance(value, dict):
        return {key: _expand_node(item, (*loc, key), environ, problems) for key, item in value.items()}
    if isinstance(value, list):
        return [_expand_node(item, (*loc, index), environ, problems) for index, item in enumerate(value)]
    return value


def expand(text: str, environ: Mapping[str, str | None], loc: tuple[Any, ...], problems: list[Problem]) -> str:
    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "$${":
            return "${"
        inner = match.group(1)
        if inner is None:
            problems.append(Problem.at(loc, "unclosed '${' (write '$${' for a literal '${')"))
            return token
        if inner.startswith(SECRET_PREFIX):
            try:
                parse_secret(inner)
            except ValueError as exc:
                problems.append(Problem.at(loc, str(exc)))
            return token
        reference = _REFERENCE.match(inner)
        if reference is None:
            problems.append(Problem.at(loc, f"invalid variable reference '{token}'"))
            return token
        name, default = reference.group(1), reference.group(2)
        if default is not None and "${" in default:
            problems.append(Problem.at(loc, f"nested variable references are not supported: '{token}'"))
            return token
        value = environ.get(name)
        # Like the shell, `:-` also covers a variable that is set but empty.
        if value is None or (value == "" and default is not None):
            if default is None:
                problems.append(Problem.at(
                    loc, f"environment variable {name!r} is not set (and has no default)"
                ))
                return ""
            return default
        return value

    return _TOKEN.sub(replace, text)
