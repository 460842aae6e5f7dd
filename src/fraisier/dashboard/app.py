"""Serve the dashboard's packaged files with the headers a page that holds an API token needs.

Nothing here knows about deployments: the pages ask the GraphQL API for everything, with the
token the user signed in with (kept in the tab's sessionStorage and sent as a Bearer header,
so no cookie exists for a cross-site request to ride on).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC = Path(__file__).resolve().parent / "static"

# No inline script or style anywhere: the page's own files only. connect-src 'self' covers the
# GraphQL endpoint over HTTP and its WebSocket (same host and port).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def security_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


class SecurityHeaders:
    """Adds the security headers to every response of the wrapped app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in security_headers().items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, with_headers)


def _page(name: str, **values: str) -> str:
    text = (STATIC / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def explorer_html(dashboard_path: str) -> str:
    """The GraphQL query page: its script and stylesheet come from the dashboard's files."""
    base = dashboard_path.rstrip("/") + "/"
    return _page("query.html", base=base)


def dashboard_pages(path: str) -> APIRouter:
    """The page itself, at `path`. Plain routes on the server's own router rather than a mount:
    a mount at `/` would answer every path, so a GET on `/webhook` would get the dashboard's
    404 instead of the server's 405."""
    index = _page("index.html")
    base = path.rstrip("/") + "/"
    headers = {**security_headers(), "Cache-Control": "no-cache"}

    async def home(request: Request) -> Response:
        # no-cache: a new version of Fraisier is picked up at once; assets revalidate by ETag.
        return HTMLResponse(index, headers=headers)

    async def add_slash(request: Request) -> Response:
        # Relative asset URLs resolve against the directory, so the page lives at path/.
        return RedirectResponse(base, status_code=308, headers=security_headers())

    router = APIRouter()
    router.add_route(base, home, methods=["GET"], include_in_schema=False)
    if base != "/":
        router.add_route(base.rstrip("/"), add_slash, methods=["GET"], include_in_schema=False)
    return router


def dashboard_assets() -> ASGIApp:
    """The packaged files, for a mount at `<path>/static`: compressed, with the headers."""
    return SecurityHeaders(GZipMiddleware(StaticFiles(directory=STATIC), minimum_size=500))


def asset_mount(path: str) -> str:
    return path.rstrip("/") + "/static"
