"""What every command shares: the loaded config and the open state database, made lazily
and turned into clear messages when they cannot be had."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from fraisier.cli.backends import Backend
    from fraisier.cli.remote import RemoteApi
    from fraisier.cli.summary import ConfigSummary, TargetSummary
    from fraisier.config import FraisierConfig, Target
    from fraisier.config.script_target import ScriptTarget
    from fraisier.store import Store


class AppContext:
    remote: RemoteApi | None = None  # set when --server is given

    def __init__(self, config_path: str) -> None:
        self.config_path = config_path
        self._config: FraisierConfig | None = None
        self._summary: ConfigSummary | None = None
        self._store: Store | None = None
        self._read_store: Store | None = None

    @property
    def config(self) -> FraisierConfig:
        """The validated configuration; reused from the cache (fraisier.config.cache) while
        the file, its .env file and the variables it references are unchanged."""
        if self._config is None:
            from fraisier.config import cache

            self._config = self._load(lambda: cache.load(self.config_path))
        return self._config

    def validated_config(self) -> FraisierConfig:
        """The configuration validated in full now (for `fraisier validate`), kept again."""
        from fraisier.config import cache

        self._config = self._load(lambda: cache.validate_and_keep(self.config_path))
        return self._config

    def _load(self, loader: Callable[[], FraisierConfig]) -> FraisierConfig:
        from fraisier.config import ConfigError

        try:
            config = loader()
        except ConfigError as exc:
            print_problems(exc)
            raise SystemExit(1) from exc
        from fraisier.domain.redaction import REDACTOR

        REDACTOR.add_url(config.state.url)
        return config

    @property
    def summary(self) -> ConfigSummary:
        """State URL and targets, without importing the configuration's models when the
        cached configuration is current."""
        if self._summary is None:
            from fraisier.cli import summary
            from fraisier.config.cache import config_file, summarize

            path = config_file(self.config_path)
            if self._config is None and path.is_file():
                self._summary = summary.from_cache(path)
            if self._summary is None:
                self._summary = summary.of(summarize(self.config))
        return self._summary

    @property
    def read_store(self) -> Store:
        """The state database for reading: no config sync, no engine import."""
        if self._store is not None:
            return self._store
        if self._read_store is None:
            from fraisier.domain.redaction import REDACTOR, url_without_password
            from fraisier.store import StoreError, open_store

            REDACTOR.add_url(self.summary.state_url)
            try:
                self._read_store = open_store(self.summary.state_url)
            except StoreError as exc:
                raise click.ClickException(
                    f"state database {url_without_password(self.summary.state_url)}: {exc}"
                ) from exc
        return self._read_store

    @property
    def store(self) -> Store:
        """The state database, with the configured fraises kept in it (from the summary, so
        a command that needs no more of the configuration does not import its models)."""
        if self._store is None:
            from fraisier.domain.redaction import REDACTOR, url_without_password
            from fraisier.store import StoreError, open_synced

            summary = self.summary
            REDACTOR.add_url(summary.state_url)
            try:
                self._store = open_synced(summary.state_url, summary.snapshot)
            except StoreError as exc:
                raise click.ClickException(
                    f"state database {url_without_password(summary.state_url)}: {exc}"
                ) from exc
        return self._store

    @property
    def backend(self) -> Backend:
        """Where reads and requests go: the server's API with --server, else here."""
        from fraisier.cli.backends import LocalBackend, RemoteBackend

        return RemoteBackend(self.remote) if self.remote is not None else LocalBackend(self)

    def target(self, fraise: str, environment: str) -> Target:
        from fraisier.config import UnknownTarget

        try:
            return self.config.target(fraise, environment)
        except UnknownTarget as exc:
            raise click.ClickException(str(exc)) from exc

    def resolved_target(self, fraise: str, environment: str) -> Target:
        """The target with its secret references fetched (for a command about to run)."""
        from fraisier.secrets import SecretError, resolve_target

        try:
            resolved: Target = resolve_target(self.config, self.target(fraise, environment))
            return resolved
        except SecretError as exc:
            raise click.ClickException(str(exc)) from exc

    def script_target(self, fraise: str, environment: str) -> ScriptTarget:
        """What `fraisier run` needs of an etl target: from the configuration cache when it
        is current and holds no secret reference to fetch, else from the resolved target."""
        from fraisier.config.script_target import ScriptTarget

        self.summary_target(fraise, environment)  # an unknown target: the usual message
        cached = self.summary.scripts.get(f"{fraise}/{environment}")
        if cached is not None and not cached.references_secrets():
            return cached
        return ScriptTarget.of(self.resolved_target(fraise, environment))

    def summary_target(self, fraise: str, environment: str) -> TargetSummary:
        found = self.summary.target(fraise, environment)
        if found is None:
            self.target(fraise, environment)  # raises with the full explanation
            raise click.ClickException(f"{fraise}/{environment} is not a known target")
        return found

    def close(self) -> None:
        for store in (self._store, self._read_store):
            if store is not None:
                store.close()


def print_problems(error: Exception) -> None:
    """`Error: ...` for a file that cannot be read at all; otherwise a header naming the file,
    then one line per problem (key path, message, line)."""
    problems = getattr(error, "problems", None) or [str(error)]
    source = getattr(error, "source", None)
    if source is None and len(problems) == 1:
        click.echo(f"Error: {problems[0]}", err=True)  # not found, unreadable
    else:
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        click.echo(f"{count} in {source or 'the configuration'}:", err=True)
        for problem in problems:
            click.echo(f"  {problem}", err=True)
    sys.stderr.flush()
