"""Commands as written in YAML, normalized to an argv that can be exec'd without a shell."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator

# Tokens that only mean something to a shell. Split by shlex they would reach the
# program as literal arguments, so `make && make install` would silently misbehave.
_SHELL_OPERATORS = frozenset({"&&", "||", "|", ";", "&", ">", ">>", "<", "<<", "2>", "2>&1", ">&2"})


@dataclass(frozen=True)
class CommandSpec:
    """A command ready to run: `argv[0]` is the program; `shell` records that it is /bin/sh -c."""

    argv: list[str]
    shell: bool = False

    def __str__(self) -> str:
        return self.argv[2] if self.shell else shlex.join(self.argv)


def systemctl_argv() -> list[str]:
    """How to call systemctl: FRAISIER_SYSTEMCTL when set (split like a shell would), e.g.
    `sudo -n /usr/bin/systemctl` under the unit `fraisier setup` writes, or a recording
    script on a machine without systemd as PID 1."""
    return shlex.split(os.environ.get("FRAISIER_SYSTEMCTL", "systemctl"))


def _from_string(text: str) -> CommandSpec:
    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise ValueError(f"cannot split command: {exc}") from None
    operators = [token for token in argv if token in _SHELL_OPERATORS]
    if operators:
        raise ValueError(
            f"command uses the shell operator {operators[0]!r}; "
            "write it as {shell: \"...\"} to run it through /bin/sh"
        )
    return _from_list(argv)


def _from_list(items: list[Any]) -> CommandSpec:
    argv: list[str] = []
    for item in items:
        # YAML reads `[sleep, 5]` with an int; that is clearly meant as text.
        if isinstance(item, int | float) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str):
            raise ValueError("command arguments must be strings")
        argv.append(item)
    if not argv or not argv[0].strip():
        raise ValueError("empty command")
    return CommandSpec(argv, False)


def _from_mapping(mapping: dict[Any, Any]) -> CommandSpec:
    unknown = [key for key in mapping if key != "shell"]
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} in command (only 'shell' is allowed)")
    script = mapping.get("shell")
    if not isinstance(script, str):
        raise ValueError("'shell' must be a string")
    if not script.strip():
        raise ValueError("empty command")
    return CommandSpec(["/bin/sh", "-c", script], True)


def to_command_spec(value: Any) -> CommandSpec:
    """Accept a list (argv), a string (split like a shell would) or {shell: "..."}."""
    if isinstance(value, CommandSpec):
        return value
    if isinstance(value, str):
        return _from_string(value)
    if isinstance(value, list | tuple):
        return _from_list(list(value))
    if isinstance(value, dict):
        return _from_mapping(value)
    raise ValueError('expected a command: a string, a list of strings or {shell: "..."}')


Command = Annotated[CommandSpec, BeforeValidator(to_command_spec)]
