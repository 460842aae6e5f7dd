"""moto's server mode: a local implementation of the AWS API that the real boto3 talks HTTP to."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from fraisier.demo.workspace import free_port


@contextmanager
def moto_server() -> Iterator[str]:
    """Start moto on a loopback port; yield its endpoint URL, with an empty account."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        # moto keeps its accounts per process, not per server: start from an empty one.
        httpx.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
        yield endpoint
    finally:
        server.stop()
