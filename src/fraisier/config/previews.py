"""`previews:` under a fraise: one environment per open pull request, made from a template.

Values may use the placeholders {number} (the pull request's), {port} (its port from
`ports`), {fraise} and {database} (the preview database's name); any other name is an error
naming the key, so a typo never reaches a path or a command line.

A preview's port is `first + number % size` of the `ports` range: the same pull request
always gets the same port, so the port needs no table and every process that resolves the
target (worker, notifier, API) agrees on it. Two open pull requests whose numbers differ by a
multiple of the range's size would share a port; the second is refused with that reason (a
range larger than the number of pull requests open at once makes this rare).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fraisier.config.commands import Command, CommandSpec
from fraisier.config.fields import EnvMap, Name, NonBlank
from fraisier.config.rollouts import Duration

PLACEHOLDERS = frozenset({"number", "port", "fraise", "database"})
_PORTS = re.compile(r"^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$")
_DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}\Z")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def placeholder_problem(value: str) -> str | None:
    """Why `value` is not a valid template, or None."""
    try:
        names = [field for _, field, _, _ in string.Formatter().parse(value) if field is not None]
    except ValueError as exc:
        return f"{value!r} is not a valid template ({exc}; write a literal brace as {{{{)"
    unknown = [name for name in names if name not in PLACEHOLDERS]
    if unknown:
        return (f"unknown placeholder {{{unknown[0]}}} in {value!r} (use "
                f"{', '.join('{' + p + '}' for p in sorted(PLACEHOLDERS))})")
    return None


def _template(value: str) -> str:
    problem = placeholder_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _command_templates(command: CommandSpec | None) -> CommandSpec | None:
    if command is not None:
        for item in command.argv:
            _template(item)
    return command


class PreviewDatabaseConfig(_Strict):
    """Where a preview's own PostgreSQL database comes from."""

    template: Name | None = None  # CREATE DATABASE <name> TEMPLATE <template>
    from_backup: Name | None = None  # restore the newest verified backup of this backup fraise
    name: NonBlank = "{fraise}_pr_{number}"
    # The server the database is created on, as a connection URL to an existing database
    # (the role needs CREATEDB); the preview's own URL is this one with its name.
    admin_url: NonBlank = "postgresql:///postgres"

    @field_validator("name", "admin_url")
    @classmethod
    def _templates(cls, value: str) -> str:
        return _template(value)

    @field_validator("admin_url")
    @classmethod
    def _postgresql_url(cls, value: str) -> str:
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("admin_url is a postgresql:// URL (e.g. postgresql:///postgres)")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> PreviewDatabaseConfig:
        if (self.template is None) == (self.from_backup is None):
            raise ValueError("set exactly one of template or from_backup")
        if self.template is not None and self.template.replace("-", "_") != self.template:
            raise ValueError(f"template {self.template!r}: a database name takes '_', not '-'")
        return self


class PreviewsConfig(_Strict):
    """`fraises.<fraise>.previews`."""

    # The environment whose settings (install, build, migrate, secrets, env) previews copy;
    # default: the fraise's first environment.
    environment: Name | None = None
    app_path: NonBlank
    ports: NonBlank
    url: NonBlank | None = None
    database: PreviewDatabaseConfig | None = None
    env: EnvMap = {}
    max_active: int = Field(5, ge=1)
    ttl: Duration | None = 7 * 86_400.0  # null: never removed for being idle
    allow_forks: bool = False
    restart: Command | None = None
    stop: Command | None = None
    health_check_url: NonBlank | None = None  # e.g. http://127.0.0.1:{port}/health
    keep_releases: int = Field(2, ge=1)
    comment: bool = True  # one pull-request comment with the URL, when the API token is set

    @field_validator("app_path", "url", "health_check_url")
    @classmethod
    def _text_templates(cls, value: str | None) -> str | None:
        return _template(value) if value is not None else None

    @field_validator("app_path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"{value!r} is not an absolute path")
        if "{number}" not in value:
            raise ValueError(f"{value!r} must contain {{number}}: every preview needs its own")
        return value

    @field_validator("env")
    @classmethod
    def _env_templates(cls, value: dict[str, str]) -> dict[str, str]:
        for item in value.values():
            _template(item)
        return value

    @field_validator("restart", "stop")
    @classmethod
    def _argv_templates(cls, value: CommandSpec | None) -> CommandSpec | None:
        return _command_templates(value)

    @field_validator("ports", mode="before")
    @classmethod
    def _one_port(cls, value: Any) -> Any:
        # `ports: 9100` reads as a number: a range of one port.
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value}-{value}"
        return value

    @field_validator("ports")
    @classmethod
    def _port_range(cls, value: str) -> str:
        found = _PORTS.match(value)
        if not found:
            raise ValueError(f"{value!r} is not a port range (e.g. 9100-9199)")
        first, last = int(found.group(1)), int(found.group(2))
        if not 1024 <= first <= last <= 65535:
            raise ValueError(f"{value!r}: ports run from 1024 to 65535, first ≤ last")
        return value

    @property
    def port_range(self) -> tuple[int, int]:
        found = _PORTS.match(self.ports)
        assert found is not None  # validated
        return int(found.group(1)), int(found.group(2))

    def port_of(self, number: int) -> int:
        first, last = self.port_range
        return first + number % (last - first + 1)


def expand(value: str, values: dict[str, Any]) -> str:
    """A validated template with its placeholders filled in."""
    return value.format(**values)


@dataclass(frozen=True)
class PreviewDatabase:
    name: str
    url: str  # the preview database's own connection URL
    admin_url: str  # where CREATE DATABASE and DROP DATABASE run
    template: str | None
    from_backup: str | None


@dataclass(frozen=True)
class PreviewTarget:
    """What a resolved `pr-<number>` target knows beyond any other target."""

    number: int
    port: int
    url: str
    database: PreviewDatabase | None
    stop: CommandSpec | None
    ttl: float | None
    max_active: int
    allow_forks: bool
    comment: bool


def database_url(admin_url: str, name: str) -> str:
    """`admin_url` pointing at database `name` instead (user, host, port, options kept)."""
    parts = urlsplit(admin_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def preview_of(config: PreviewsConfig, fraise: str, number: int) -> tuple[PreviewTarget,
                                                                          dict[str, Any]]:
    """The preview of pull request `number`, and the values its templates are filled with."""
    port = config.port_of(number)
    values: dict[str, Any] = {"number": number, "port": port, "fraise": fraise, "database": ""}
    database = None
    if config.database is not None:
        name = expand(config.database.name, values).replace("-", "_").lower()
        if not _DATABASE_NAME.match(name):
            raise ValueError(f"previews.database.name gives {name!r}, not a database name")
        values["database"] = name
        database = PreviewDatabase(
            name=name, url=database_url(expand(config.database.admin_url, values), name),
            admin_url=expand(config.database.admin_url, values),
            template=config.database.template, from_backup=config.database.from_backup)
    url = expand(config.url, values) if config.url else ""
    stop = (CommandSpec([expand(a, values) for a in config.stop.argv], config.stop.shell)
            if config.stop else None)
    return PreviewTarget(number=number, port=port, url=url, database=database, stop=stop,
                         ttl=config.ttl, max_active=config.max_active,
                         allow_forks=config.allow_forks, comment=config.comment), values
