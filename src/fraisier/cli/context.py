"""What every command shares: the loaded config and the open state database, made lazily
and turned into clear messages when they cannot be had."""

from __future__ import annotations

import sys

import click


class AppContext:
    def __init__(self, config_path: str):
        self.config_path = config_path
        self._config = None
        self._store = None

    @property
    def config(self):
        if self._config is None:
            from fraisier.config import ConfigError, load_config

            try:
                self._config = load_config(self.config_path)
            except ConfigError as exc:
                print_problems(exc)
                raise SystemExit(1) from exc
        return self._config

    @property
    def store(self):
        if self._store is None:
            from fraisier.engine.service import open_state
            from fraisier.store import StoreError

            try:
                self._store = open_state(self.config)
            except StoreError as exc:
                raise click.ClickException(
                    f"state database {self.config.state.url}: {exc}") from exc
        return self._store

    def target(self, fraise: str, environment: str):
        from fraisier.config import UnknownTarget

        try:
            return self.config.target(fraise, environment)
        except UnknownTarget as exc:
            raise click.ClickException(str(exc)) from exc

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def print_problems(error) -> None:
    problems = getattr(error, "problems", None) or [str(error)]
    click.echo(f"{len(problems)} problem(s) in the configuration:", err=True)
    for problem in problems:
        click.echo(f"  {problem}", err=True)
    sys.stderr.flush()
