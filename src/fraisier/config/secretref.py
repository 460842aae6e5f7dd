"""Secret references: `${secret:BACKEND:REFERENCE}` or `${secret:BACKEND:REFERENCE#KEY}`.

A reference stays in the configuration as written; it is checked when the file is loaded
(its syntax, that BACKEND is configured, that it is not part of a command line) and
fetched only when a value is needed (`fraisier.secrets`). This module finds references in
a validated configuration and rebuilds objects with every reference replaced.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, SecretStr

PREFIX = "secret:"
_TOKEN = re.compile(r"\$\{secret:([^}]*)\}")
_BACKEND = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# The backends that work without a `secrets:` entry.
BUILTIN_BACKENDS = ("file", "credential")

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class SecretRef:
    backend: str
    path: str
    key: str | None
    text: str  # the reference as written, `${secret:...}`: safe to show, it holds no value

    def __str__(self) -> str:
        return self.text


def parse(inner: str) -> SecretRef:
    """`inner` is what stands between `${` and `}`; raise ValueError saying what is wrong."""
    text = "${" + inner + "}"
    body = inner.removeprefix(PREFIX)
    backend, colon, rest = body.partition(":")
    if not colon or not _BACKEND.match(backend):
        raise ValueError(f"malformed secret reference {text!r}: write "
                         "${secret:BACKEND:REFERENCE} or ${secret:BACKEND:REFERENCE#KEY}")
    path, hash_, key = rest.rpartition("#") if "#" in rest else (rest, "", "")
    if not path.strip():
        raise ValueError(f"malformed secret reference {text!r}: nothing after {backend!r}")
    if hash_ and not key.strip():
        raise ValueError(f"malformed secret reference {text!r}: empty key after '#'")
    return SecretRef(backend, path, key or None, text)


def references(text: str) -> list[SecretRef]:
    """The references inside one string (already checked by the loader, so well-formed)."""
    return [parse(PREFIX + match.group(1)) for match in _TOKEN.finditer(text)]


def has_reference(text: str) -> bool:
    return "${secret:" in text


def substitute_text(text: str, value_of: Callable[[SecretRef], str]) -> str:
    """`text` with each reference replaced by `value_of(reference)`."""
    return _TOKEN.sub(lambda match: value_of(parse(PREFIX + match.group(1))), text)


def walk(value: Any, loc: Loc = (), *, in_command: bool = False
         ) -> Iterator[tuple[Loc, str, bool]]:
    """Every string holding a reference: (key path, text, whether it is part of a command)."""
    from fraisier.config.commands import CommandSpec

    if isinstance(value, str):
        if has_reference(value):
            yield loc, value, in_command
    elif isinstance(value, SecretStr):
        yield from walk(value.get_secret_value(), loc, in_command=in_command)
    elif isinstance(value, CommandSpec):
        for index, part in enumerate(value.argv):
            yield from walk(part, (*loc, index), in_command=True)
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from walk(getattr(value, name), (*loc, name), in_command=in_command)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from walk(getattr(value, field.name), (*loc, field.name), in_command=in_command)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, (*loc, key), in_command=in_command)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from walk(item, (*loc, index), in_command=in_command)


def rebuild(value: Any, replace: Callable[[str, Loc], str], loc: Loc = (),
            skip: frozenset[str] = frozenset()) -> Any:
    """A copy of `value` whose strings holding a reference went through `replace`.

    Objects without a reference are returned as they are (not copied). Top-level fields
    named in `skip` are left alone.
    """
    if isinstance(value, str):
        return replace(value, loc) if has_reference(value) else value
    if isinstance(value, SecretStr):
        text = value.get_secret_value()
        return SecretStr(replace(text, loc)) if has_reference(text) else value
    if isinstance(value, BaseModel):
        updates = _changed(((name, getattr(value, name)) for name in type(value).model_fields
                            if name not in skip), replace, loc)
        return value.model_copy(update=updates) if updates else value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        updates = _changed(((f.name, getattr(value, f.name)) for f in dataclasses.fields(value)
                            if f.init and f.name not in skip), replace, loc)
        return dataclasses.replace(value, **updates) if updates else value
    if isinstance(value, dict):
        new = {key: rebuild(item, replace, (*loc, key)) for key, item in value.items()}
        return new if any(new[key] is not value[key] for key in value) else value
    if isinstance(value, list | tuple):
        items = [rebuild(item, replace, (*loc, index)) for index, item in enumerate(value)]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return type(value)(items)
    return value


def _changed(fields: Iterator[tuple[str, Any]], replace: Callable[[str, Loc], str],
             loc: Loc) -> dict[str, Any]:
    updates: dict[str, Any] = {}
    for name, old in fields:
        new = rebuild(old, replace, (*loc, name))
        if new is not old:
            updates[name] = new
    return updates


def dotted(loc: Loc) -> str:
    return ".".join(str(part) for part in loc)
