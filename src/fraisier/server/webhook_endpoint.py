"""POST /webhook and /webhook/{provider} as a plain ASGI endpoint.

This is the hot path of `fraisier serve`, so it speaks ASGI directly: no request object, no
parameter machinery, no thread pool. On the event loop it only bounds the request (rate per
source, body size) and runs the CPU-only part of ingest (provider, parse, signature); the
write that records the request goes to ingest's single writer thread, which commits batches
of them, and the answer is sent when the commit holding its rows is done. Every decision
about the webhook itself is still made by `fraisier.ingest`.
"""

from __future__ import annotations

import asyncio
import json

from fraisier.ingest import IngestResult, RateLimiter, WebhookRequest, client_address
from fraisier.ingest.handler import Ingest, Write, unavailable
from fraisier.store import StoreError


class WebhookEndpoint:
    def __init__(self, ingest: Ingest, limiter: RateLimiter, max_body: int, proxies):
        self.ingest = ingest
        self.limiter = limiter
        self.max_body = max_body
        self.proxies = proxies

    async def __call__(self, scope, receive, send) -> None:
        headers = {name.decode("latin-1").lower(): value.decode("latin-1")
                   for name, value in scope["headers"]}
        client = scope.get("client")
        source = client_address(client[0] if client else "", headers.get("x-forwarded-for"),
                                self.proxies)
        provider = scope.get("path_params", {}).get("provider")
        bare = WebhookRequest(headers=headers, body=b"", source_ip=source, provider=provider)
        if not self.limiter.allow(source):
            return await self._refuse(send, bare, 429, "too many requests from this source")
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            # Refused before reading anything: a huge body is never held in memory.
            return await self._refuse(send, bare, 413, f"body larger than {self.max_body} bytes")
        body = await self._read_capped(receive)
        if body is None:
            return await self._refuse(send, bare, 413, f"body larger than {self.max_body} bytes")
        if body is _GONE:
            return  # the client went away: there is nobody to answer
        request = WebhookRequest(headers=headers, body=body, source_ip=source,
                                 provider=provider)
        try:
            result = await self._commit(self.ingest.prepare(request))
        except StoreError as exc:
            result = unavailable(exc)
        await _send_json(send, result)

    async def _read_capped(self, receive):
        """The whole body; None as soon as it exceeds the limit; _GONE on disconnect."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return _GONE
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _refuse(self, send, request: WebhookRequest, status_code: int,
                      reason: str) -> None:
        try:
            result = await self._commit(self.ingest.refusal(request, status_code, reason))
        except StoreError:
            result = IngestResult.rejected(status_code, reason)  # answered, just not recorded
        await _send_json(send, result)

    def _commit(self, write: Write) -> asyncio.Future:
        """The result of `write` once it is committed, without blocking the event loop."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def settle(result, error) -> None:
            if not future.done():
                if error is not None:
                    future.set_exception(error)
                else:
                    future.set_result(result)

        def done(result, error) -> None:  # on the writer thread
            loop.call_soon_threadsafe(settle, result, error)

        self.ingest.group_commit.submit(write, done)
        return future


_GONE = object()


class WebhooksFirst:
    """An ASGI app in front of the application: POST /webhook and /webhook/{provider} go
    straight to the endpoint, without passing the application's middleware and router;
    everything else (and the lifespan) goes to the application, which routes the same two
    paths to the same endpoint when it is used on its own."""

    def __init__(self, app, endpoint: WebhookEndpoint):
        self.app = app
        self.endpoint = endpoint

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path = scope["path"]
            if path == "/webhook":
                return await self.endpoint(scope, receive, send)
            provider = path[len("/webhook/"):] if path.startswith("/webhook/") else ""
            if provider and "/" not in provider:
                scope["path_params"] = {"provider": provider}
                return await self.endpoint(scope, receive, send)
        return await self.app(scope, receive, send)


async def _send_json(send, result: IngestResult) -> None:
    body = json.dumps(result.body, ensure_ascii=False, separators=(",", ":")).encode()
    await send({"type": "http.response.start", "status": result.status_code,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
