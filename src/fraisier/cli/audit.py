"""`fraisier audit`: the audit log, newest first."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from fraisier.cli import render

if TYPE_CHECKING:
    from fraisier.cli.context import AppContext


@click.command()
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000),
              help="Entries to show.")
@click.option("--action", help="Only this action (deploy, rollback, cancel, retry, "
              "token.create, token.revoke, config.reload).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def audit(app: AppContext, limit: int, action: str | None, as_json: bool) -> None:
    """Who changed what, from where, and the outcome: deployments, rollbacks, cancels,
    retries, tokens and configuration reloads, newest first."""
    entries = app.read_store.audit.list(limit=limit, action=action)
    if as_json:
        render.echo_json([entry.to_json() for entry in entries])
        return
    render.table("Audit log", ["id", "when", "who", "from", "action", "subject", "outcome",
                               "detail"],
                 [[str(e.id), render.when(e.at), e.actor, e.source, e.action, e.subject,
                   e.outcome, e.detail] for e in entries])
