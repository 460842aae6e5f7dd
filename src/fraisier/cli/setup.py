"""Commands for the configuration file: init and validate."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from fraisier.cli.context import AppContext


@click.command()
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.pass_obj
def init(app: AppContext, force: bool) -> None:
    """Write a commented starter fraises.yaml."""
    from fraisier.config import STARTER_CONFIG

    path = Path(app.config_path)
    if path.exists() and not force:
        raise click.ClickException(f"{path} already exists (use --force to overwrite it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(STARTER_CONFIG, encoding="utf-8")
    click.echo(f"wrote {path}; edit it, then run `fraisier validate`")


@click.command()
@click.option("--resolve", is_flag=True,
              help="Also fetch every secret reference and report each one that fails.")
@click.pass_obj
def validate(app: AppContext, resolve: bool) -> None:
    """Check fraises.yaml; print every problem with its key path and line.

    Secret references are checked without being fetched unless --resolve is given."""
    from fraisier.config import ConfigError, Problem
    from fraisier.config.fields import is_remote_repository
    config = app.validated_config()  # exits 1 with the problems listed when not valid
    # What only this machine can tell: a local repository must exist where it is written.
    missing = [Problem.at(("fraises", name, "repository"),
                          f"{fraise.repository} does not exist on this machine")
               for name, fraise in config.fraises.items()
               if not is_remote_repository(fraise.repository)
               and not Path(fraise.repository).exists()]
    if missing:
        from fraisier.cli.context import print_problems

        print_problems(ConfigError(missing, source=config.config_path))
        raise SystemExit(1)
    targets = list(config.targets())
    if resolve:
        from fraisier.secrets import check_references

        count, failures = check_references(config)
        if failures:
            click.echo(f"{len(failures)} of {count} secret reference(s) cannot be resolved:",
                       err=True)
            for failure in failures:
                click.echo(f"  {failure}", err=True)
            raise SystemExit(1)
        click.echo(f"{count} secret reference(s) resolved")
    click.echo(f"{app.config_path}: OK ({len(config.fraises)} fraise(s), "
               f"{len(targets)} environment(s))")
