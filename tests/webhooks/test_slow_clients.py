"""Slow clients against a real `fraisier serve`, over a raw socket: a client that sends its
headers, or its body, a few bytes at a time is cut off once the configured deadline passes
(408, then the connection is closed) instead of being held for as long as it likes."""

from __future__ import annotations

import socket
import threading

import httpx
import pytest

from fraisier.store import open_store

from ._server import Server
from ._support import write_config

TIMEOUTS = """\
webhook:
  header_timeout_seconds: 1
  body_timeout_seconds: 2
"""

# Far longer than the deadlines: reaching it means the server never cut the client off.
GIVE_UP_SECONDS = 30


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("slow")
    running = Server(write_config(root, extra=TIMEOUTS), "--no-worker", log=root / "serve.log")
    running.state_url = f"sqlite:///{root}/state.db"
    yield running
    running.stop()


class Dribbler(threading.Thread):
    """Sends `head` at once, then `trickle` one byte every 0.2 s until told to stop or the
    server closes the connection."""

    def __init__(self, sock: socket.socket, head: bytes, trickle: bytes):
        super().__init__(daemon=True)
        self.sock, self.head, self.trickle = sock, head, trickle
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            self.sock.sendall(self.head)
            for byte in self.trickle:
                if self.stop.wait(0.2):
                    return
                self.sock.sendall(bytes([byte]))
        except OSError:
            return  # closed by the server: what the test waits for


def _answer_then_close(server, head: bytes, trickle: bytes) -> bytes:
    """Everything the server sends before closing the connection."""
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.settimeout(GIVE_UP_SECONDS)
        dribbler = Dribbler(sock, head, trickle)
        dribbler.start()
        received = b""
        try:
            while chunk := sock.recv(4096):
                received += chunk
        except TimeoutError:
            pytest.fail(f"still connected after {GIVE_UP_SECONDS}s; received {received!r}")
        except ConnectionResetError:
            pass
        finally:
            dribbler.stop.set()
            dribbler.join(5)
        return received


def test_slow_headers_are_cut_off(server):
    head = b"POST /webhook HTTP/1.1\r\nHost: x\r\n"
    received = _answer_then_close(server, head, b"X-Slow: " + b"a" * 1000)
    assert received.startswith(b"HTTP/1.1 408"), received


def test_a_slow_webhook_body_is_cut_off_and_recorded(server):
    head = (b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-GitHub-Event: push\r\nContent-Length: 1000\r\n\r\n")
    received = _answer_then_close(server, head, b"{" + b" " * 999)
    assert received.startswith(b"HTTP/1.1 408"), received
    assert b"body not received within 2 seconds" in received
    store = open_store(server.state_url)
    try:
        reasons = [event["reason"] for event in store.webhooks.list(limit=10)]
    finally:
        store.close()
    assert "408: body not received within 2 seconds" in reasons


def test_a_slow_graphql_body_is_cut_off(server):
    head = (b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n")
    received = _answer_then_close(server, head, b"{" + b" " * 999)
    assert received.startswith(b"HTTP/1.1 408"), received
    assert b"request body not received within 2 seconds" in received


def test_prompt_clients_are_unaffected(server):
    with httpx.Client(base_url=server.url) as client:
        for _ in range(3):  # one kept-alive connection, several requests
            assert client.get("/healthz").status_code == 200
