"""The FastAPI router serving the schema at one path (HTTP POST and WebSocket, both the
`graphql-transport-ws` and the older `graphql-ws` protocols).

    from fraisier.api.router import graphql_router
    app.include_router(graphql_router(config, store), prefix="/graphql")

`store` is a `fraisier.store.Store` (or a zero-argument callable returning one, called once).
The router caps request bodies itself, so it is safe wherever it is mounted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse
from strawberry.fastapi import GraphQLRouter

from fraisier.api.context import ApiContext
from fraisier.api.schema import build_schema


def _body_limit(max_bytes: int):
    async def check(connection: HTTPConnection) -> None:
        if connection.scope["type"] != "http":
            return
        request: Request = connection  # type: ignore[assignment]
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > max_bytes:
                raise HTTPException(413, f"request body over {max_bytes} bytes")
            return
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_bytes:
                raise HTTPException(413, f"request body over {max_bytes} bytes")
        # Hand the bytes read to the GraphQL view, which reads the body again.
        request._body = body

    return check


class _PackagedPageRouter(GraphQLRouter):
    """Serves our own query page on `GET` instead of Strawberry's GraphiQL, which loads its
    scripts from a CDN and so stays blank on a server without internet."""

    page_html: str = ""
    page_headers: dict[str, str] = {}

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(self.page_html, headers=self.page_headers)


def graphql_router(config, store: Any | Callable[[], Any], *, path: str = "",
                   page_html: str | None = None,
                   page_headers: dict[str, str] | None = None) -> GraphQLRouter:
    """`config` may be a function giving the configuration in use (it changes when the
    server reloads it); each request reads it once. `page_html`: the page answered to a
    browser's `GET` (none: GET is not served)."""
    current = config if callable(config) else (lambda: config)
    if callable(store) and not hasattr(store, "queue"):
        store = store()

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
        dependencies=[Depends(_body_limit(current().api.max_body_bytes))],
    )
    router.page_html = page_html or ""
    router.page_headers = dict(page_headers or {})
    return router
