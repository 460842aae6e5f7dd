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

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from fraisier.ingest import IngestResult, RateLimiter, WebhookRequest, client_address
from fraisier.ingest.handler import Ingest
from fraisier.server.body import BodyTooLarge, read_capped
from fraisier.store import StoreError

log = logging.getLogger("fraisier.server")


def create_app(config, store, *, worker: bool = True, routers: Iterable = (),
               mounts: Mapping[str, object] | None = None) -> FastAPI:
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

    app = FastAPI(title="Fraisier", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.ingest = ingest

    async def receive(request: Request, provider: str | None) -> JSONResponse:
        peer = request.client.host if request.client else ""
        source = client_address(peer, request.headers.get("x-forwarded-for"), proxies)
        headers = {k.lower(): v for k, v in request.headers.items()}
        bare = WebhookRequest(headers=headers, body=b"", source_ip=source, provider=provider)
        if not limiter.allow(source):
            return await _refuse(ingest, bare, 429, "too many requests from this source")
        try:
            body = await read_capped(request, max_body)
        except BodyTooLarge:
            return await _refuse(ingest, bare, 413, f"body larger than {max_body} bytes")
        full = WebhookRequest(headers=headers, body=body, source_ip=source, provider=provider)
        result = await run_in_threadpool(ingest.handle, full)
        return _json(result)

    async def webhook(request: Request) -> JSONResponse:
        return await receive(request, request.path_params.get("provider"))

    # Plain Starlette routes: the webhook path is the hot one, and it needs none of FastAPI's
    # parameter machinery.
    app.router.routes.append(Route("/webhook", webhook, methods=["POST"]))
    app.router.routes.append(Route("/webhook/{provider}", webhook, methods=["POST"]))

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


async def _refuse(ingest: Ingest, request: WebhookRequest, status_code: int,
                  reason: str) -> JSONResponse:
    try:
        result = await run_in_threadpool(ingest.reject, request, status_code, reason)
    except StoreError:
        result = IngestResult.rejected(status_code, reason)
    return _json(result)


def _json(result: IngestResult) -> JSONResponse:
    return JSONResponse(result.body, status_code=result.status_code)
