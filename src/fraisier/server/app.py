"""`create_app(config, store)`: the FastAPI application behind `fraisier serve`.

Routes:
    POST /webhook               provider detected from the headers
    POST /webhook/{provider}    provider named (its signature scheme still applies)
    GET  /healthz               the process is alive
    GET  /readyz                the state database answers

The handlers are thin: bounds (body size, rate per source) are enforced here because they
are about HTTP; every decision about the webhook itself is made by `fraisier.ingest`.
Other parts mount themselves with `routers=[...]` (FastAPI APIRouters, e.g. GraphQL) or
`mounts={"/path": asgi_app}`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from fraisier.ingest import RateLimiter
from fraisier.ingest.handler import Ingest
from fraisier.server.webhook_endpoint import WebhookEndpoint
from fraisier.store import StoreError

log = logging.getLogger("fraisier.server")


def load_webhook_secrets(config):
    """The configuration with its webhook secrets fetched (when the server loads it), every
    log record of this process redacted from now on."""
    from fraisier.domain.redaction import install_log_redaction
    from fraisier.secrets import resolve_webhook_secrets

    install_log_redaction()
    return resolve_webhook_secrets(config)


def create_app(config, store, *, worker: bool = True, routers: Iterable = (),
               mounts: Mapping[str, object] | None = None,
               ingest_process: bool = False) -> FastAPI:
    config = load_webhook_secrets(config)  # raises SecretError when a backend is down
    ingest = Ingest(config, store)
    limiter = RateLimiter(config.webhook.rate_limit_per_minute)
    max_body = config.webhook.max_body_bytes
    proxies = config.webhook.trusted_proxies

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        running = scheduler = None
        stop_scheduler = threading.Event()
        if worker:
            from fraisier.kinds.scheduler import Scheduler
            from fraisier.worker import Worker

            running = Worker(config, store).start()
            # Jobs of `scheduler: builtin` environments run where the worker runs.
            scheduler = Scheduler(store, config)
            threading.Thread(target=scheduler.run_forever, args=(stop_scheduler,),
                             name="scheduler", daemon=True).start()
        app.state.worker = running
        app.state.scheduler = scheduler
        try:
            yield
        finally:
            stop_scheduler.set()
            if running is not None:
                # Blocking on purpose: the process must not exit before deployments settle.
                await run_in_threadpool(running.stop)
            if scheduler is not None:
                await run_in_threadpool(scheduler.close)
            # Anything still being written commits before the process goes.
            await endpoint.close()
            await run_in_threadpool(ingest.close)

    app = FastAPI(title="Fraisier", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.ingest = ingest

    # Plain ASGI routes: the webhook path is the hot one, and it needs none of FastAPI's
    # request machinery (see webhook_endpoint.py).
    endpoint = WebhookEndpoint(ingest, limiter, max_body, proxies,
                               ingest_process=ingest_process)
    app.state.webhook_endpoint = endpoint  # for WebhooksFirst (see serve)
    app.router.routes.append(Route("/webhook", endpoint, methods=["POST"]))
    app.router.routes.append(Route("/webhook/{provider}", endpoint, methods=["POST"]))

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        try:
            await run_in_threadpool(store.db.scalar, "SELECT 1")
        except StoreError as exc:
            return JSONResponse({"status": "unavailable", "reason": str(exc)[:200]}, 503)
        return JSONResponse({"status": "ready"})

    for router in routers:
        app.include_router(router)
    for path, sub_app in (mounts or {}).items():
        app.mount(path, sub_app)
    return app

