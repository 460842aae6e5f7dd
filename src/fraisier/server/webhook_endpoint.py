"""POST /webhook, /webhook?provider=NAME and /webhook/{provider} as a plain ASGI endpoint.

This is the hot path of `fraisier serve`, so it speaks ASGI directly: no request object, no
parameter machinery, no thread pool. On the event loop it only bounds the request (rate per
source, body size); under `fraisier serve` the request then goes to the ingest process
(ingest/ingest_process.py), otherwise `Ingest.prepare` runs here and the write goes to
ingest's writer thread. Either way batches are committed together and the answer is sent
when the commit holding the request's rows is done. Every decision about the webhook itself
is made by `fraisier.ingest`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from fraisier.ingest import IngestResult, RateLimiter, WebhookRequest, client_address
from fraisier.ingest.handler import Ingest, Receipt, unavailable
from fraisier.providers import lower_headers
from fraisier.store import StoreError

if TYPE_CHECKING:
    from fraisier.config.fields import Network
    from fraisier.ingest.ingest_process import IngestProcess

# A written request handed from the writer thread to the event loop: its future, its result,
# the error that stopped it.
_Settled = tuple["asyncio.Future[Any]", Any, "BaseException | None"]


class WebhookEndpoint:
    def __init__(self, ingest: Ingest, limiter: RateLimiter, max_body: int,
                 proxies: Sequence[Network], *, ingest_process: bool = False) -> None:
        self.ingest = ingest
        self.limiter = limiter
        self.max_body = max_body
        self.proxies = proxies
        # uvicorn has no deadline for a request body: a client sending a byte a second would
        # hold its connection (and a task) for as long as it likes.
        self.body_timeout = float(ingest.config.webhook.body_timeout_seconds)
        # Who verifies and records: a child process fed from this event loop (`fraisier
        # serve`; see ingest/ingest_process.py for why), or this process with ingest's
        # writer thread.
        self.process: IngestProcess | None = None
        if ingest_process:
            from fraisier.ingest.ingest_process import IngestProcess

            self.process = IngestProcess(ingest.config, ingest.store.db.url,
                                         on_queued=ingest.store.events.notify)
        # Written requests, handed from the writer thread to the event loop: one wake-up of
        # the loop per batch, not one per request.
        self._settled: deque[_Settled] = deque()
        self._draining = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Lowered here once (ASGI names are lower-case already); providers reuse it as is.
        headers = lower_headers([(name.decode("latin-1"), value.decode("latin-1"))
                                 for name, value in scope["headers"]])
        client = scope.get("client")
        source = client_address(client[0] if client else "", headers.get("x-forwarded-for"),
                                self.proxies)
        provider = scope.get("path_params", {}).get("provider")
        if provider is None:
            provider = provider_in_query(scope.get("query_string", b""))
        bare = WebhookRequest(headers=headers, body=b"", source_ip=source, provider=provider)
        if not self.limiter.allow(source):
            return await self._refuse(send, bare, 429, "too many requests from this source")
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            # Refused before reading anything: a huge body is never held in memory.
            return await self._refuse(send, bare, 413, f"body larger than {self.max_body} bytes")
        try:
            # asyncio.timeout, not wait_for: no task of its own per request (this is the hot
            # path; a task per request cost a fifth of the rate under load).
            async with asyncio.timeout(self.body_timeout):
                body = await self._read_capped(receive)
        except TimeoutError:
            return await self._refuse(send, bare, 408, "body not received within "
                                      f"{self.body_timeout:g} seconds", close=True)
        if body is None:
            return await self._refuse(send, bare, 413, f"body larger than {self.max_body} bytes")
        if isinstance(body, _Gone):
            return  # the client went away: there is nobody to answer
        request = WebhookRequest(headers=headers, body=body, source_ip=source,
                                 provider=provider)
        try:
            if self.process is not None:
                result = await self.process.submit(request)
            else:
                result = await self._commit(self.ingest.prepare(request))
        except StoreError as exc:
            result = unavailable(exc)
        await _send_json(send, result)

    async def _read_capped(self, receive: Receive) -> bytes | _Gone | None:
        """The whole body; None as soon as it exceeds the limit; _GONE on disconnect."""
        chunks: list[bytes] = []
        size = 0
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

    async def _refuse(self, send: Send, request: WebhookRequest, status_code: int,
                      reason: str, *, close: bool = False) -> None:
        try:
            result = await self._commit(self.ingest.refusal(request, status_code, reason))
        except StoreError:
            result = IngestResult.rejected(status_code, reason)  # answered, just not recorded
        await _send_json(send, result, close=close)

    def warm_up(self) -> None:
        """On the event loop, as the server starts: the ingest process (if any) starts now."""
        if self.process is not None:
            self.process.warm_up()

    async def close(self) -> None:
        """Wait for the writes under way (the ingest process, if any, then stops)."""
        if self.process is not None:
            await self.process.close()

    def _commit(self, receipt: Receipt) -> asyncio.Future[Any]:
        """The result of writing `receipt`, once committed, without blocking the event loop."""
        if self.process is not None:
            return self.process.submit(receipt)  # recorded by the ingest process
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()

        def done(result: Any, error: BaseException | None) -> None:  # on the writer thread
            self._settled.append((future, result, error))
            if not self._draining:
                self._draining = True
                loop.call_soon_threadsafe(self._drain)

        self.ingest.writer.submit(receipt, done)
        return future

    def _drain(self) -> None:
        # The flag drops before the queue is read: whatever the writer adds from now on
        # either is read below or schedules another drain.
        self._draining = False
        while self._settled:
            future, result, error = self._settled.popleft()
            if future.done():
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)


class _Gone:
    """What _read_capped returns when the client disconnected before the body was in."""


_GONE = _Gone()


def provider_in_query(query_string: bytes) -> str | None:
    """`POST /webhook?provider=github` names the provider as `/webhook/github` does (it is
    then checked the same way: an unknown name is 404, its signature scheme always applies).
    None when the query names none; an empty `provider=` is a name, and unknown."""
    if b"provider=" not in query_string:
        return None
    from urllib.parse import parse_qs

    values = parse_qs(query_string.decode("latin-1"), keep_blank_values=True).get("provider")
    return values[0] if values else None


class WebhooksFirst:
    """An ASGI app in front of the application: POST /webhook and /webhook/{provider} go
    straight to the endpoint, without passing the application's middleware and router;
    everything else (and the lifespan) goes to the application, which routes the same two
    paths to the same endpoint when it is used on its own."""

    def __init__(self, app: ASGIApp, endpoint: WebhookEndpoint) -> None:
        self.app = app
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path = scope["path"]
            if path == "/webhook":
                return await self.endpoint(scope, receive, send)
            provider = path[len("/webhook/"):] if path.startswith("/webhook/") else ""
            if provider and "/" not in provider:
                scope["path_params"] = {"provider": provider}
                return await self.endpoint(scope, receive, send)
        return await self.app(scope, receive, send)


async def _send_json(send: Send, result: IngestResult, *, close: bool = False) -> None:
    body = orjson.dumps(result.body)
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    if close:  # the rest of the body may still be coming: do not keep the connection
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": result.status_code,
                "headers": headers})
    await send({"type": "http.response.body", "body": body})
