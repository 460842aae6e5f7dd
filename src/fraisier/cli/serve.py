"""`fraisier serve` (webhooks + an in-process worker) and `fraisier worker` (a worker alone)."""

from __future__ import annotations

import logging
import signal

import click


def _logging() -> None:
    from fraisier.ingest.ingest_process import LOG_FORMAT

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    # One line per health-check probe is noise here; the deployment log has them.
    logging.getLogger("httpx").setLevel(logging.WARNING)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind (loopback unless told otherwise).")
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--no-worker", is_flag=True, help="Only receive webhooks; run workers elsewhere.")
@click.pass_obj
def serve(app, host: str, port: int, no_worker: bool) -> None:
    """Receive webhooks on POST /webhook, serve the GraphQL API at /graphql and the dashboard
    (dashboard.path, default /), and run queued deployments."""
    import uvicorn

    from fraisier.api.router import graphql_router
    from fraisier.server import create_app
    from fraisier.server.webhook_endpoint import WebhooksFirst

    _logging()
    page_html, page_headers, pages, mounts = None, None, [], {}
    settings = app.config.dashboard
    if settings.enabled:
        from fraisier.dashboard import (
            asset_mount,
            dashboard_assets,
            dashboard_pages,
            explorer_html,
            security_headers,
        )

        page_html, page_headers = explorer_html(settings.path), security_headers()
        pages = [dashboard_pages(settings.path)]
        mounts[asset_mount(settings.path)] = dashboard_assets()
    application = create_app(app.config, app.store, worker=not no_worker, ingest_process=True,
                             routers=[graphql_router(app.config, app.store, path="/graphql",
                                                     page_html=page_html,
                                                     page_headers=page_headers), *pages],
                             mounts=mounts)
    # ws_max_size: a GraphQL WebSocket message is bounded like a request body.
    # proxy_headers=False: which X-Forwarded-For to believe is decided by
    # webhook.trusted_proxies, not by uvicorn's own default (it trusts 127.0.0.1).
    # One HTTP process on purpose: the in-process worker and scheduler assume it. Webhooks
    # are verified and recorded by one child process (see ingest/ingest_process.py).
    application = WebhooksFirst(application, application.state.webhook_endpoint)
    uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False,
                lifespan="on", ws_max_size=app.config.api.max_body_bytes,
                proxy_headers=False)


@click.command()
@click.option("--concurrency", type=int, help="Deployments at once (default: worker.concurrency).")
@click.pass_obj
def worker(app, concurrency: int | None) -> None:
    """Run queued deployments until SIGTERM/SIGINT (then finish or hand them to recovery)."""
    from fraisier.worker import Worker

    _logging()
    running = Worker(app.config, app.store, concurrency=concurrency)

    def stop(signum, frame) -> None:
        running.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    running.run_forever()
    running.stop()
