"""`fraisier graphql`: the API's schema as SDL, and a FraiseQL schema over the same views."""

from __future__ import annotations

from pathlib import Path

import click


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
