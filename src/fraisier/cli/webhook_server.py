"""`fraisier-webhook`: the webhook server under its own name, for process managers and
packages that expect one program per service. It is `fraisier serve` — the same click
command, options and behaviour — with `fraisier`'s own `-c/--config` option in front."""

from __future__ import annotations

from typing import Any

import click


def _command() -> click.Command:
    from fraisier.cli.main import cli
    from fraisier.cli.serve import serve

    config_option = next(p for p in cli.params if p.name == "config_path")

    def run(config_path: str, **options: Any) -> None:
        from fraisier.cli.context import AppContext

        ctx = click.get_current_context()
        ctx.obj = AppContext(config_path)
        ctx.call_on_close(ctx.obj.close)
        ctx.invoke(serve, **options)

    return click.Command(
        "fraisier-webhook", callback=run, params=[config_option, *serve.params],
        help=serve.help, context_settings={"help_option_names": ["-h", "--help"]})


def main() -> None:
    _command()(prog_name="fraisier-webhook")
