"""`fraisier migrations FRAISE ENV`: what the next deployment would apply to the database,
and whether each migration can be undone."""

from __future__ import annotations

from typing import Any

import click

from fraisier.cli import render


@click.command()
@click.argument("fraise")
@click.argument("environment")
@click.option("--commit", "ref", default=None,
              help="Branch, tag or commit to look at (default: the environment's branch).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def migrations(app: Any, fraise: str, environment: str, ref: str | None,
               as_json: bool) -> None:
    """List the migrations a deployment would apply, and whether each can be undone.

    Exits 1 when one of them is irreversible (a deployment would stop before migrating
    unless migrate.allow_irreversible is set)."""
    from fraisier.engine.git import GitError
    from fraisier.engine.saga import StepFailed
    from fraisier.kinds.migrations import list_pending

    target = app.resolved_target(fraise, environment)
    if target.migrate is None:
        raise click.ClickException(f"{fraise}/{environment} has no migrate configured")
    try:
        sha, found = list_pending(target, app.config.data_dir, ref)
    except (GitError, StepFailed) as exc:
        raise click.ClickException(str(exc)) from exc
    irreversible = [p for p in found or [] if not p.reversible]
    if as_json:
        render.echo_json({"fraise": fraise, "environment": environment, "commit": sha,
                          "known": found is not None,
                          "pending": [p.as_dict() for p in found or []],
                          "allow_irreversible": target.migrate.allow_irreversible})
    elif found is None:
        click.echo(f"{fraise}/{environment} at {render.short(sha)}: the raw migrate commands "
                   "cannot list pending migrations (set migrate.pending)")
    elif not found:
        click.echo(f"{fraise}/{environment} at {render.short(sha)}: no pending migrations")
    else:
        render.table(f"Pending migrations of {fraise}/{environment} at {render.short(sha)}",
                     ["migration", "reversible", "why not"],
                     [[p.name, "yes" if p.reversible else "NO", p.why] for p in found])
    if irreversible and not target.migrate.allow_irreversible:
        raise SystemExit(1)
