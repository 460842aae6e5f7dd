"""A small GraphQL client for a remote Fraisier server: queries and mutations over HTTP
(httpx), subscriptions over WebSocket in either protocol (`graphql-transport-ws`, or the
older `graphql-ws`), the token sent in the `connection_init` payload."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import click

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"


class RemoteError(click.ClickException):
    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code


def _raise_errors(errors: list[dict[str, Any]]) -> None:
    first = errors[0]
    code = (first.get("extensions") or {}).get("code")
    message = first.get("message", "request failed")
    raise RemoteError(f"{message}" + (f" ({code})" if code else ""), code)


class RemoteApi:
    def __init__(self, server: str, token: str | None, *, timeout: float = 30):
        base = server.rstrip("/")
        self.url = base if base.endswith("/graphql") else base + "/graphql"
        self.ws_url = "ws" + self.url[4:] if self.url.startswith("http") else self.url
        self.token = token
        self.timeout = timeout

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        import httpx

        try:
            response = httpx.post(self.url, json={"query": query, "variables": variables or {}},
                                  headers=self._headers(), timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise RemoteError(f"cannot reach {self.url}: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            raise RemoteError(f"{self.url} answered {response.status_code}") from None
        if body.get("errors"):
            _raise_errors(body["errors"])
        data: dict[str, Any] = body["data"]
        return data

    def subscribe(self, query: str, variables: dict[str, Any] | None = None, *,
                  protocol: str = TRANSPORT_WS) -> Iterator[dict[str, Any]]:
        """Yield each result's `data` until the server completes the subscription."""
        from websockets.sync.client import connect
        from websockets.typing import Subprotocol

        init: dict[str, Any] = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        with connect(self.ws_url, subprotocols=[Subprotocol(protocol)], open_timeout=self.timeout,
                     additional_headers=self._headers()) as ws:
            ws.send(json.dumps({"type": "connection_init", "payload": init}))
            while True:
                message = json.loads(ws.recv(self.timeout))
                if message["type"] == "connection_ack":
                    break
                if message["type"] not in ("ka", "ping", "pong"):
                    raise RemoteError(f"connection refused: {message}")
            start = "subscribe" if protocol == TRANSPORT_WS else "start"
            ws.send(json.dumps({"id": "1", "type": start,
                                "payload": {"query": query, "variables": variables or {}}}))
            while True:
                message = json.loads(ws.recv())
                kind = message["type"]
                if kind == "ping":
                    ws.send(json.dumps({"type": "pong"}))
                elif kind in ("next", "data"):
                    payload = message["payload"]
                    if payload.get("errors"):
                        _raise_errors(payload["errors"])
                    yield payload["data"]
                elif kind == "error":
                    payload = message.get("payload")
                    _raise_errors(payload if isinstance(payload, list) else [payload or {}])
                elif kind == "complete":
                    return
