"""Reusable field types for the configuration models: each validates one kind of value."""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, SecretStr, ValidationInfo

from fraisier.domain import NAME_PATTERN


def _check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise ValueError(
            f"invalid name {name!r}: use lowercase letters, digits, '-' and '_', "
            "starting with a letter or digit"
        )
    return name


Name = Annotated[str, AfterValidator(_check_name)]


def _scalar_to_text(value: Any) -> Any:
    # YAML turns `PORT: 8080` into an int and `DEBUG: true` into a bool; an
    # environment variable is always text, so take the obvious meaning.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")


def _check_env_name(name: str) -> str:
    if not _ENV_NAME.match(name):
        raise ValueError(f"invalid environment variable name {name!r}")
    return name


EnvMap = dict[
    Annotated[str, AfterValidator(_check_env_name)],
    Annotated[str, BeforeValidator(_scalar_to_text)],
]


def _secret_input(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    # An empty HMAC key is trivially forgeable: treat it as "not configured".
    if isinstance(value, str) and not value.strip():
        return None
    return value


Secret = Annotated[SecretStr | None, BeforeValidator(_secret_input)]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


NonBlank = Annotated[str, AfterValidator(_not_blank)]


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    expected = "not a valid URL: expected http://HOST[:PORT]/PATH or https://..."
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ValueError(expected) from None
    if parts.scheme not in ("http", "https"):
        got = f"the scheme is {parts.scheme}://" if "://" in value else "there is no scheme"
        raise ValueError(f"{expected} ({got})")
    if not parts.hostname or any(c.isspace() for c in value):
        raise ValueError(expected)
    return value


HttpUrlText = Annotated[str, AfterValidator(_check_http_url)]


def _check_tcp(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError("expected host:port with a port from 1 to 65535")
    return value


TcpAddress = Annotated[str, AfterValidator(_check_tcp)]


def _check_network(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address or CIDR network") from None
    return value


Network = Annotated[str, AfterValidator(_check_network)]

_UNIT_NAME = re.compile(r"^[A-Za-z0-9:_.@\\-]+\Z")


def _check_unit(value: str) -> str:
    if not _UNIT_NAME.match(value):
        raise ValueError(f"{value!r} is not a systemd unit name")
    return value


UnitName = Annotated[str, AfterValidator(_check_unit)]


def config_dir_of(info: ValidationInfo) -> Path:
    context = info.context or {}
    return Path(context.get("config_dir") or Path.cwd())


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def anchor_path(path: Path, info: ValidationInfo) -> Path:
    found = _CONTROL.search(str(path))
    if found:
        # A NUL makes every system call on the path fail ("embedded null byte"); other control
        # characters (a newline, an escape) make it unreadable in logs and shell commands.
        raise ValueError(f"path contains the control character {found.group()!r}")
    path = path.expanduser()
    if not path.is_absolute():
        path = config_dir_of(info) / path
    return Path(os.path.normpath(path))


def is_remote_repository(repository: str) -> bool:
    """A URL (`https://…`, `ssh://…`, `file://…`) or scp-like `git@host:path` — not a local path.

    Same rule git uses: a colon before the first slash makes it scp-like.
    """
    if "://" in repository:
        return True
    head, colon, _ = repository.partition(":")
    return bool(colon) and "/" not in head and bool(head)
