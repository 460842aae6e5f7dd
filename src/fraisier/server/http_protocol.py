"""uvicorn's HTTP protocol with a deadline for the request head.

uvicorn times out idle keep-alive connections (`timeout_keep_alive`) but not a client that
sends its request line and headers a byte at a time: such a connection is held for as long
as the client likes, and a few hundred of them exhaust the server. Here the head of every
request (from the connection, or from the first byte of the next request on a kept-alive
connection) must be complete within `header_timeout` seconds, or the connection is closed.
The body has its own deadline, enforced where it is read (server/webhook_endpoint.py,
api/router.py): by then the application has the request.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_TIMEOUT_BODY = b"request headers not received in time\n"
_TIMEOUT_ANSWER = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\n"
                   b"content-length: %d\r\nconnection: close\r\n\r\n%s"
                   % (len(_TIMEOUT_BODY), _TIMEOUT_BODY))


def header_timeout_protocol(header_timeout: float) -> type[HttpToolsProtocol]:
    """The protocol class to give `uvicorn.run(http=...)`."""

    class HeaderTimeoutProtocol(HttpToolsProtocol):
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(header_timeout, self._head_too_slow)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_too_slow(self) -> None:
            self._head_timer = None
            if not self.transport.is_closing():
                self.transport.write(_TIMEOUT_ANSWER)
                self.transport.close()

    return HeaderTimeoutProtocol
