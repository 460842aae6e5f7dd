"""`create_app(config, store)`: the FastAPI application behind `fraisier serve`.

Routes:
    POST /webhook               provider detected from the headers
    POST /webhook/{provider}    provider named (its signature scheme still applies)
    GET  /healthz               the process is alive
    GET  /readyz                the state database answers and accepts a write
    GET  /metrics               Prometheus metrics from the state database (metrics.token)

The handlers are thin: bounds (body size, rate per source) are enforced here because they
are about HTTP; every decision about the webhook itself is made by `fraisier.ingest`.
Other parts mount themselves with `routers=[...]` (FastAPI APIRouters, e.g. GraphQL) or
`mounts={"/path": asgi_app}`.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import threading
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route
from starlette.types import ASGIApp

from fraisier.ingest import RateLimiter
from fraisier.ingest.handler import Ingest
from fraisier.server.webhook_endpoint import WebhookEndpoint
from fraisier.store import StoreError

if TYPE_CHECKING:
    from fraisier.config import FraisierConfig
    from fraisier.reloader import ConfigReloader
    from fraisier.store import Store

log = logging.getLogger("fraisier.server")


def load_webhook_secrets(config: FraisierConfig) -> FraisierConfig:
    """The configuration with its webhook secrets fetched (when the server loads it), every
    log record of this process redacted from now on."""
    from fraisier.domain.redaction import install_log_redaction
    from fraisier.secrets import resolve_webhook_secrets

    install_log_redaction()
    resolved: FraisierConfig = resolve_webhook_secrets(config)
    return resolved


def create_app(config: FraisierConfig, store: Store, *, worker: bool = True,
               routers: Iterable[APIRouter] = (), mounts: Mapping[str, ASGIApp] | None = None,
               ingest_process: bool = False,
               reloader: ConfigReloader | None = None) -> FastAPI:
    """`reloader` (a fraisier.reloader.ConfigReloader): reload fraises.yaml while serving;
    the current configuration is then `app.state.config`."""
    config = load_webhook_secrets(config)  # raises SecretError when a backend is down
    ingest = Ingest(config, store)
    limiter = RateLimiter(config.webhook.rate_limit_per_minute)
    max_body = config.webhook.max_body_bytes
    proxies = config.webhook.trusted_proxies

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        running = scheduler = scheduling = None
        stop_scheduler = threading.Event()
        if worker:
            from fraisier.kinds.scheduler import Scheduler
            from fraisier.worker import Worker

            running = Worker(config, store).start()
            # Jobs of `scheduler: builtin` environments run where the worker runs.
            scheduler = Scheduler(store, config)
            scheduling = threading.Thread(target=scheduler.run_forever, args=(stop_scheduler,),
                                          name="scheduler", daemon=True)
            scheduling.start()
        app.state.worker = running
        app.state.scheduler = scheduler
        endpoint.warm_up()
        stop_reloading = threading.Event()
        recovering = None
        if running is None:
            # Without its worker, the server still recovers deployments whose process died
            # (the workers elsewhere may be gone too).
            recovering = threading.Thread(target=_recover_orphans,
                                          args=(app, store, stop_reloading),
                                          name="recover-orphans", daemon=True)
            recovering.start()
        if reloader is not None:
            loop = asyncio.get_running_loop()
            if running is not None:
                running.reloader = reloader
                reloader.listeners.append(running.reconfigure)
            if scheduler is not None:
                reloader.listeners.append(lambda new: setattr(scheduler, "config", new))
            def on_loop(new: FraisierConfig) -> None:
                # The webhook endpoint and its ingest process belong to the event loop.
                loop.call_soon_threadsafe(reconfigure, new)

            reloader.listeners.append(on_loop)
            reloader.start(stop_reloading)
        try:
            yield
        finally:
            stop_reloading.set()
            stop_scheduler.set()
            if running is not None:
                # Blocking on purpose: the process must not exit before deployments settle.
                await run_in_threadpool(running.stop)
            # The threads that use the store end before the app does: a recovery or a
            # scheduler poll under way finishes, and whoever closes the store afterwards (a
            # test, a program embedding the app) does not close a connection under one of
            # their statements, which crashes the process in sqlite3.
            if scheduler is not None:
                await run_in_threadpool(scheduler.close)
            for thread in (scheduling, recovering):
                if thread is not None:
                    await run_in_threadpool(thread.join)
            # Anything still being written commits before the process goes.
            await endpoint.close()
            await run_in_threadpool(endpoint.ingest.close)

    app = FastAPI(title="Fraisier", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.ingest = ingest
    app.state.config = config

    def reconfigure(new: FraisierConfig) -> None:
        """A reloaded configuration, from the next request on (on the event loop)."""
        old_ingest = endpoint.ingest
        endpoint.ingest = app.state.ingest = Ingest(new, store)
        endpoint.max_body = new.webhook.max_body_bytes
        endpoint.proxies = new.webhook.trusted_proxies
        if new.webhook.rate_limit_per_minute != app.state.config.webhook.rate_limit_per_minute:
            endpoint.limiter = RateLimiter(new.webhook.rate_limit_per_minute)
        if endpoint.process is not None:
            endpoint.process.reconfigure(new)
        app.state.config = new
        # Requests already handed to the old one finish there; then its writer stops.
        threading.Thread(target=old_ingest.close, name="ingest-close", daemon=True).start()

    # Plain ASGI routes: the webhook path is the hot one, and it needs none of FastAPI's
    # request machinery (see webhook_endpoint.py).
    endpoint = WebhookEndpoint(ingest, limiter, max_body, proxies,
                               ingest_process=ingest_process)
    app.state.webhook_endpoint = endpoint  # for WebhooksFirst (see serve)
    app.router.routes.append(Route("/webhook", endpoint, methods=["POST"]))
    app.router.routes.append(Route("/webhook/{provider}", endpoint, methods=["POST"]))

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        try:
            # A write, not `SELECT 1`: a full disk or a read-only database still answers reads.
            await run_in_threadpool(store.db.check_writable)
        except StoreError as exc:
            return JSONResponse({"status": "unavailable", "reason": str(exc)[:200]}, 503)
        return JSONResponse({"status": "ready"})

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        metrics_token = app.state.config.metrics.token
        if metrics_token is not None and not _bearer_matches(
                request.headers.get("authorization", ""), metrics_token.get_secret_value()):
            return JSONResponse({"error": "send Authorization: Bearer <metrics.token>"}, 401,
                                headers={"WWW-Authenticate": "Bearer"})
        from fraisier.metrics import exposition

        try:
            body, content_type = await run_in_threadpool(exposition, store.db,
                                                         request.headers.get("accept"))
        except StoreError as exc:
            return JSONResponse({"status": "unavailable", "reason": str(exc)[:200]}, 503)
        return Response(body, media_type=content_type)

    for router in routers:
        app.include_router(router)
    for path, sub_app in (mounts or {}).items():
        app.mount(path, sub_app)
    return app


def _bearer_matches(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    # Constant time: the comparison must not tell how much of a guess was right.
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              token.encode())


def _recover_orphans(app: FastAPI, store: Store, done: threading.Event) -> None:
    from fraisier.worker.inline import recover_orphans

    while not done.is_set():
        config = app.state.config
        try:
            recover_orphans(store, config)
        except Exception:  # a failed look is tried again at the next interval
            log.exception("recovering deployments whose process died")
        done.wait(max(1.0, config.worker.lease_seconds / 3))
