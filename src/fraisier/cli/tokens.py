"""`fraisier tokens`: API tokens for the GraphQL API. Only a hash is stored; the token is
printed once, at creation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from fraisier.cli import render

if TYPE_CHECKING:
    from fraisier.cli.context import AppContext
    from fraisier.store.tokens import Tokens


@click.group()
def tokens() -> None:
    """Create, list and revoke API tokens."""


def _tokens(app: AppContext) -> Tokens:
    return app.read_store.tokens


@tokens.command("create")
@click.argument("name")
@click.option("--scope", type=click.Choice(["read", "deploy", "admin"]), default="read",
              show_default=True, help="read: queries and subscriptions; deploy: also "
              "mutations; admin: also token management.")
@click.pass_obj
def create(app: AppContext, name: str, scope: str) -> None:
    """Create token NAME and print it (the only time it is shown)."""
    from fraisier.store.tokens import TokenError

    try:
        token = _tokens(app).create(name, scope)
    except TokenError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(token)
    click.echo(f"token {name!r} ({scope}) created; it is not shown again", err=True)


@tokens.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def list_tokens(app: AppContext, as_json: bool) -> None:
    """List tokens (names and scopes, never values)."""
    found = _tokens(app).list()
    if as_json:
        render.echo_json([t.to_json() for t in found])
        return
    render.table("API tokens", ["name", "scope", "created", "revoked"],
                 [[t.name, t.scope.value, render.when(t.created_at), render.when(t.revoked_at)]
                  for t in found])


@tokens.command("revoke")
@click.argument("name")
@click.pass_obj
def revoke(app: AppContext, name: str) -> None:
    """Revoke token NAME: requests using it are refused from now on."""
    if not _tokens(app).revoke(name):
        raise click.ClickException(f"no active token named {name!r}")
    click.echo(f"token {name!r} revoked")
