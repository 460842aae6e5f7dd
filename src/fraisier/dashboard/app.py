"""Serve the dashboard's packaged files with the headers a page that holds an API token needs.

Nothing here knows about deployments: the pages ask the GraphQL API for everything, with the
token the user signed in with (kept in the tab's sessionStorage and sent as a Bearer header,
so no cookie exists for a cross-site request to ride on).
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
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


def dashboard_app() -> ASGIApp:
    index = _page("index.html")

    async def home(request: Request) -> Response:
        if not request.url.path.endswith("/"):
            # Relative asset URLs resolve against the directory, so the page lives at path/.
            return RedirectResponse(request.url.path + "/", status_code=308)
        # no-cache: a new version of Fraisier is picked up at once; assets revalidate by ETag.
        return HTMLResponse(index, headers={"Cache-Control": "no-cache"})

    app = Starlette(
        routes=[Route("/", home),
                Mount("/static", StaticFiles(directory=STATIC), name="static")],
        middleware=[Middleware(GZipMiddleware, minimum_size=500)],
    )
    return SecurityHeaders(app)
