"""`fraisier doctor`: is this server ready? One line per check, exit 0 only when all pass."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from fraisier.cli.context import AppContext


@click.command()
@click.argument("fraise", required=False)
@click.argument("environment", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the checks as a JSON list.")
@click.option("--listen", metavar="HOST",
              help="The address `fraisier serve` binds (default: read from an installed "
                   "fraisier.service, else 127.0.0.1).")
@click.pass_obj
def doctor(app: AppContext, fraise: str | None, environment: str | None, as_json: bool,
           listen: str | None) -> None:
    """Check the configuration, state database, repositories, app paths, restart units,
    health checks, SSH hosts, webhook secrets, disk space and API exposure."""
    from fraisier.doctor import Status, run_doctor

    results = run_doctor(app.config_path, fraise=fraise, environment=environment,
                         listen=listen)
    if as_json:
        click.echo(json.dumps([r.to_json() for r in results], indent=2))
    else:
        marks = {Status.PASS: "✓", Status.FAIL: "✗", Status.WARN: "!"}
        for result in results:
            where = f"{result.target}: " if result.target else ""
            click.echo(f"{marks[result.status]} {result.name}: {where}{result.detail}")
            if result.fix:
                click.echo(f"    fix: {result.fix}")
        failures = sum(r.status == Status.FAIL for r in results)
        warnings = sum(r.status == Status.WARN for r in results)
        click.echo(f"{len(results)} check(s): {failures} failed, {warnings} warning(s)")
    if any(r.status == Status.FAIL for r in results):
        raise SystemExit(1)
