"""`fraisier graphql`: the API's schema as SDL, and a FraiseQL schema over the same views."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from fraisier.cli.context import AppContext


@click.group()
def graphql() -> None:
    """GraphQL schema exports."""


@graphql.command("schema")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
def schema(output: Path | None) -> None:
    """Print the GraphQL API's schema (SDL)."""
    from fraisier.api.sdl import schema_sdl

    text = schema_sdl()
    if output:
        output.write_text(text)
    else:
        click.echo(text, nl=False)


@graphql.command("fraiseql-schema")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              default="fraisier_fraiseql.py", show_default=True,
              help="The Python module to write.")
@click.option("--export-json", type=click.Path(dir_okay=False, path_type=Path),
              help="Also run the module and write FraiseQL's schema.json here "
                   "(needs fraisier[fraiseql]).")
def fraiseql_schema(output: Path, export_json: Path | None) -> None:
    """Write a FraiseQL schema module whose types read Fraisier's PostgreSQL views, so a
    FraiseQL server can serve the same state database read-only."""
    from fraisier.api.fraiseql_schema import export_json as run_export
    from fraisier.api.fraiseql_schema import module_source

    output.write_text(module_source())
    click.echo(f"wrote {output}", err=True)
    if export_json:
        try:
            run_export(output, export_json)
        except ImportError as exc:
            raise click.ClickException(
                "the fraiseql package is not installed: pip install 'fraisier[fraiseql]'"
            ) from exc
        click.echo(f"wrote {export_json}", err=True)


@graphql.command("grant-role")
@click.argument("role")
@click.pass_obj
def grant_role(app: AppContext, role: str) -> None:
    """Let PostgreSQL role ROLE (it must exist) read the v_fraiseql_* views and call
    fn_request_deployment, fn_cancel_deployment and fn_retry_deployment — and nothing else:
    it cannot write any table. For a FraiseQL server beside Fraisier."""
    from fraisier.store import open_store
    from fraisier.store.db import StoreError
    from fraisier.store.roles import grant_request_role

    store = open_store(app.config.state.url)
    try:
        granted = grant_request_role(store.db, role)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    for line in granted:
        click.echo(f"granted {line} to {role}")
