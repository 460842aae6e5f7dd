from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.notify._support import StandIn


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    """A local HTTP server standing in for the provider's API."""
    server = StandIn()
    yield server
    server.stop()
