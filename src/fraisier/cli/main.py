"""Entry point. Subcommands are imported only when invoked, so `fraisier status` does not pay
for the web server, GraphQL or the deployment engine."""

from __future__ import annotations

import importlib

import click

# command name -> "module:attribute" inside fraisier.cli
COMMANDS = {
    "init": "setup:init",
    "validate": "setup:validate",
    "setup": "selfhost:setup",
    "doctor": "doctor:doctor",
    "audit": "audit:audit",
    "list": "show:list_fraises",
    "status": "show:status",
    "history": "show:history",
    "stats": "show:stats",
    "logs": "show:logs",
    "releases": "show:releases",
    "migrations": "migrations:migrations",
    "deploy": "deploy:deploy",
    "rollback": "deploy:rollback",
    "demo": "demo:demo",
    "run": "runs:run_command",
    "runs": "runs:runs",
    "jobs": "runs:jobs",
    "scheduler": "runs:scheduler",
    "backup": "backup:backup",
    "serve": "serve:serve",
    "worker": "serve:worker",
    "cancel": "control:cancel",
    "retry": "control:retry",
    "webhook": "webhooks:webhook",
    "webhooks": "webhooks:webhooks",
    "tokens": "tokens:tokens",
    "graphql": "graphql:graphql",
    "notify": "notify:notify",
    "notifications": "notify:notifications",
    "notifier": "notify:notifier",
    "previews": "previews:previews",
    "preview": "previews:preview",
}

# With --server, these read and request through the server's GraphQL API (cli/backends.py);
# each is the same command as locally.
REMOTE_COMMANDS = ("status", "history", "stats", "logs", "webhooks", "deploy", "rollback",
                   "cancel", "retry")

# With --server, these are refused plainly: they read local files or state the API does not
# serve (a release's `current` link on disk, the local job schedule).
LOCAL_ONLY = {"list", "releases", "runs", "jobs", "previews", "preview", "migrations"}


def _not_with_server(name: str) -> click.Command:
    from fraisier.cli.backends import not_remote

    def refuse() -> None:
        raise click.ClickException(not_remote(name))

    return click.Command(name, callback=refuse, help="Not available with --server.",
                         context_settings={"ignore_unknown_options": True,
                                           "allow_extra_args": True})


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        # Root options are parsed before the subcommand is resolved.
        remote = bool(ctx.params.get("server"))
        if remote and name in LOCAL_ONLY:
            return _not_with_server(name)
        spec = COMMANDS.get(name)
        if spec is None:
            return None
        module_name, attribute = spec.split(":")
        module = importlib.import_module(f"fraisier.cli.{module_name}")
        command: click.Command = getattr(module, attribute)
        return command

    def invoke(self, ctx: click.Context) -> object:
        # The one place every `Error: ...` of the CLI passes: a state database failure met
        # by any command (a full disk, a lost connection) becomes one instead of a traceback,
        # and secrets it may quote are blanked.
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            from fraisier.domain.redaction import redact

            # Redacted in place: the exception keeps its class (a UsageError exits 2).
            exc.message = redact(exc.message)  # type: ignore[misc]  # click marks it Final
            raise
        except Exception as exc:
            from fraisier.store import StoreError

            if isinstance(exc, StoreError):
                from fraisier.domain.redaction import redact

                raise click.ClickException(redact(str(exc))) from exc
            raise


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-c", "--config", "config_path", envvar="FRAISIER_CONFIG", default="fraises.yaml",
              show_default=True, type=click.Path(dir_okay=False),
              help="Path to fraises.yaml (also FRAISIER_CONFIG).")
@click.option("--server", envvar="FRAISIER_SERVER", metavar="URL",
              help="Run status, history, stats, logs, webhooks, deploy, rollback, cancel and "
                   "retry against this Fraisier server's API (also FRAISIER_SERVER).")
@click.option("--token", envvar="FRAISIER_TOKEN", help="API token for --server (also "
              "FRAISIER_TOKEN).")
@click.version_option(package_name="fraisier")
@click.pass_context
def cli(ctx: click.Context, config_path: str, server: str | None, token: str | None) -> None:
    """Fraisier: push-to-deploy for your own servers, with atomic releases and automatic
    rollback."""
    from fraisier.cli.context import AppContext

    ctx.obj = AppContext(config_path)
    if token:
        from fraisier.domain.redaction import register_secret

        register_secret(token)
    if server:
        from fraisier.cli.remote import RemoteApi

        ctx.obj.remote = RemoteApi(server, token)
    ctx.call_on_close(ctx.obj.close)


def main() -> None:
    cli(prog_name="fraisier")


if __name__ == "__main__":
    main()
