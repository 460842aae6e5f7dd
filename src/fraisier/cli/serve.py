"""`fraisier serve` (webhooks + an in-process worker) and `fraisier worker` (a worker alone)."""

from __future__ import annotations

import logging
import signal
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from fraisier.cli.context import AppContext

log = logging.getLogger("fraisier.server")

log_format_option = click.option(
    "--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="Log lines for a person, or one JSON object per line for a log shipper.")


def _logging(log_format: str) -> None:
    from fraisier.logformat import configure_logging

    configure_logging("json" if log_format == "json" else "text")


def _announce(app: AppContext) -> None:
    """What a person checks first when a server misbehaves: which program, which file,
    which database (its password redacted)."""
    from importlib.metadata import version

    from fraisier.kinds.libpq import redact

    config = app.config
    environments = sum(len(f.environments) for f in config.fraises.values())
    log.info("fraisier %s", version("fraisier"), extra={"version": version("fraisier")})
    log.info("configuration %s (%d fraise(s), %d environment(s))", config.config_path,
             len(config.fraises), environments, extra={"config_path": str(config.config_path)})
    log.info("state database %s", redact(config.state.url),
             extra={"state_url": redact(config.state.url)})


# An idle kept-alive connection is closed after this long (uvicorn's default, kept explicit).
KEEP_ALIVE_SECONDS = 5


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind (loopback unless told otherwise).")
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--no-worker", is_flag=True, help="Only receive webhooks; run workers elsewhere.")
@log_format_option
@click.pass_obj
def serve(app: AppContext, host: str, port: int, no_worker: bool, log_format: str) -> None:
    """Receive webhooks on POST /webhook, serve the GraphQL API at /graphql and the dashboard
    (dashboard.path, default /), and run queued deployments."""
    import uvicorn

    from fraisier.api.router import graphql_router
    from fraisier.api.threads import share_interpreter_fairly
    from fraisier.reloader import ConfigReloader
    from fraisier.secrets import SecretError
    from fraisier.server import create_app
    from fraisier.server.app import load_webhook_secrets
    from fraisier.server.http_protocol import header_timeout_protocol
    from fraisier.server.webhook_endpoint import WebhooksFirst

    _logging(log_format)
    share_interpreter_fairly()
    _announce(app)
    try:
        config = load_webhook_secrets(app.config)
    except SecretError as exc:
        raise click.ClickException(f"cannot start: {exc}") from exc
    # SIGHUP, or an edit of fraises.yaml or .env, reloads the configuration (its webhook
    # secrets fetched again; a backend that is down keeps the last good one). The dashboard's
    # place is fixed at start.
    reloader = ConfigReloader(config, app.store, role="serve", prepare=load_webhook_secrets)
    signal.signal(signal.SIGHUP, lambda signum, frame: reloader.request())
    page_html, page_headers, pages, mounts = None, None, [], {}
    dashboard = config.dashboard
    if dashboard.enabled:
        from fraisier.dashboard import (
            asset_mount,
            dashboard_assets,
            dashboard_pages,
            explorer_html,
            security_headers,
        )

        page_html, page_headers = explorer_html(dashboard.path), security_headers()
        pages = [dashboard_pages(dashboard.path)]
        mounts[asset_mount(dashboard.path)] = dashboard_assets()
    application: Any = create_app(
        config, app.store, worker=not no_worker, ingest_process=True, reloader=reloader,
        routers=[graphql_router(lambda: reloader.current, app.store, path="/graphql",
                                page_html=page_html, page_headers=page_headers), *pages],
        mounts=mounts)
    # ws_max_size: a GraphQL WebSocket message is bounded like a request body.
    # proxy_headers=False: which X-Forwarded-For to believe is decided by
    # webhook.trusted_proxies, not by uvicorn's own default (it trusts 127.0.0.1).
    # One HTTP process on purpose: the in-process worker and scheduler assume it. Webhooks
    # are verified and recorded by one child process (see ingest/ingest_process.py).
    # log_config=None: uvicorn's loggers go through Fraisier's handler (and format).
    application = WebhooksFirst(application, application.state.webhook_endpoint)
    # http: uvicorn's protocol with a deadline for the request head (a slow client is cut
    # off, see server/http_protocol.py); timeout_keep_alive closes idle kept-alive
    # connections; body deadlines are enforced where bodies are read.
    settings = uvicorn.Config(application, host=host, port=port, log_level="warning",
                              access_log=False, lifespan="on", log_config=None,
                              ws_max_size=app.config.api.max_body_bytes, proxy_headers=False,
                              timeout_keep_alive=KEEP_ALIVE_SECONDS,
                              http=header_timeout_protocol(
                                  app.config.webhook.header_timeout_seconds))
    _announcing_server(settings).run()


def _announcing_server(settings: Any) -> Any:
    """uvicorn's Server, saying where it listens once the socket is bound (not before: a
    port already in use must not be announced)."""
    import uvicorn

    class AnnouncingServer(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if self.should_exit:
                return
            host = f"[{settings.host}]" if ":" in settings.host else settings.host
            url = f"http://{host}:{settings.port}"
            log.info("listening on %s — webhooks /webhook, GraphQL /graphql, dashboard /", url,
                     extra={"url": url})

    return AnnouncingServer(settings)


@click.command()
@click.option("--concurrency", type=int, help="Deployments at once (default: worker.concurrency).")
@log_format_option
@click.pass_obj
def worker(app: AppContext, concurrency: int | None, log_format: str) -> None:
    """Run queued deployments until SIGTERM/SIGINT (then finish or hand them to recovery)."""
    import threading

    from fraisier.domain.redaction import install_log_redaction
    from fraisier.reloader import ConfigReloader
    from fraisier.worker import Worker

    _logging(log_format)
    install_log_redaction()
    _announce(app)
    running = Worker(app.config, app.store, concurrency=concurrency)
    reloader = ConfigReloader(app.config, app.store, role="worker")
    reloader.listeners.append(running.reconfigure)
    running.reloader = reloader

    def stop(signum: int, frame: object) -> None:
        running.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, lambda signum, frame: reloader.request())
    done = threading.Event()
    reloader.start(done)
    try:
        running.run_forever()
    finally:
        done.set()
        running.stop()
