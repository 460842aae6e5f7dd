"""The FastAPI router serving the schema at one path (HTTP POST and WebSocket, both the
`graphql-transport-ws` and the older `graphql-ws` protocols).

    from fraisier.api.router import graphql_router
    app.include_router(graphql_router(config, store), prefix="/graphql")

`store` is a `fraisier.store.Store` (or a zero-argument callable returning one, called once).
The router caps request bodies, JSON nesting and the request rate per source itself, so it is
safe wherever it is mounted.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from fastapi import Depends, HTTPException, WebSocketException
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse
from strawberry.fastapi import GraphQLRouter

from fraisier.api.context import ApiContext
from fraisier.api.legacy_ws import LegacyWSHandler
from fraisier.api.schema import build_schema
from fraisier.ingest.limits import RateLimiter, client_address

if TYPE_CHECKING:
    from fraisier.config import FraisierConfig
    from fraisier.config.fields import Network
    from fraisier.store import Store

ConnectionCheck = Callable[[HTTPConnection], Awaitable[None]]

# GraphQL variables are shallow (an input object or a list of them); JSON nested deeper than
# this is refused before any code walks it recursively (a RecursionError was a 500).
MAX_JSON_DEPTH = 64


class _NestedTooDeeply(json.JSONDecodeError):
    """A JSONDecodeError, so that over WebSocket it is "not a JSON message" like any other."""


def _too_deep(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


class _BoundedGraphQLRouter(GraphQLRouter):
    graphql_ws_handler_class = LegacyWSHandler  # queries and mutations too, not only subscriptions

    def decode_json(self, data: str | bytes) -> object:
        reason = f"JSON nested more than {MAX_JSON_DEPTH} levels deep"
        try:
            value = json.loads(data)
        except RecursionError:
            raise _NestedTooDeeply(reason, "", 0) from None
        if _too_deep(value):
            raise _NestedTooDeeply(reason, "", 0)
        return value

    def parse_json(self, data: str | bytes) -> Any:
        try:
            return self.decode_json(data)
        except _NestedTooDeeply as exc:
            raise HTTPException(400, exc.msg) from None
        except json.JSONDecodeError:
            raise HTTPException(400, "Unable to parse request body as JSON") from None


def _rate_limit(per_minute: int, trusted_proxies: Sequence[Network]) -> ConnectionCheck:
    """One bucket per source address, as for /webhook (X-Forwarded-For believed only from
    `webhook.trusted_proxies`). A WebSocket counts once, when it connects."""
    limiter = RateLimiter(per_minute)

    async def check(connection: HTTPConnection) -> None:
        peer = connection.client.host if connection.client else ""
        source = client_address(peer, connection.headers.get("x-forwarded-for"),
                                trusted_proxies)
        if limiter.allow(source):
            return
        if connection.scope["type"] == "websocket":
            raise WebSocketException(1013, "too many requests from this source")
        raise HTTPException(429, "too many requests from this source",
                            headers={"Retry-After": str(max(1, round(60 / per_minute)))})

    return check


def _body_limit(max_bytes: int, timeout: float) -> ConnectionCheck:
    """Read the body here, bounded in size and in time (uvicorn has no body deadline: a
    client sending a byte a second would hold its connection as long as it likes)."""
    async def check(connection: HTTPConnection) -> None:
        if connection.scope["type"] != "http":
            return
        request: Request = connection  # type: ignore[assignment]
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
            raise HTTPException(413, f"request body over {max_bytes} bytes")

        async def read() -> bytes:
            body = b""
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_bytes:
                    raise HTTPException(413, f"request body over {max_bytes} bytes")
            return body

        try:
            body = await asyncio.wait_for(read(), timeout)
        except TimeoutError:
            raise HTTPException(408, f"request body not received within {timeout:g} seconds",
                                headers={"Connection": "close"}) from None
        # Hand the bytes read to the GraphQL view, which reads the body again.
        request._body = body

    return check


class _PackagedPageRouter(_BoundedGraphQLRouter):
    """Serves our own query page on `GET` instead of Strawberry's GraphiQL, which loads its
    scripts from a CDN and so stays blank on a server without internet."""

    page_html: str = ""
    page_headers: dict[str, str] = {}

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(self.page_html, headers=self.page_headers)


def graphql_router(config: FraisierConfig | Callable[[], FraisierConfig], store: Store, *,
                   path: str = "", page_html: str | None = None,
                   page_headers: dict[str, str] | None = None) -> GraphQLRouter[Any, Any]:
    """`config` may be a function giving the configuration in use (it changes when the
    server reloads it); each request reads it once. `page_html`: the page answered to a
    browser's `GET` (none: GET is not served)."""
    current = config if callable(config) else (lambda: config)

    def context(connection: HTTPConnection) -> dict[str, Any]:
        client = connection.client.host if connection.client else ""
        return {"api": ApiContext(current(), store,
                                  authorization=connection.headers.get("authorization"),
                                  client=client)}

    router = _PackagedPageRouter(
        build_schema(current()),  # its limits (api.*) stay until a restart
        path=path,
        context_getter=context,
        allow_queries_via_get=False,
        graphql_ide="graphiql" if page_html is not None else None,
        dependencies=[
            Depends(_rate_limit(current().api.rate_limit_per_minute,
                                list(current().webhook.trusted_proxies))),
            Depends(_body_limit(current().api.max_body_bytes,
                                current().webhook.body_timeout_seconds)),
        ],
    )
    router.page_html = page_html or ""
    router.page_headers = dict(page_headers or {})
    return router
