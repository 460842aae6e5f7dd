"""Bounds on what comes from outside: who the client is, and how often it may call."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

Network = str | IPv4Network | IPv6Network


def _parse(address: str) -> IPv4Address | IPv6Address | None:
    try:
        return ipaddress.ip_address(address.strip())
    except ValueError:
        return None


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    parsed = _parse(address)
    if parsed is None:
        return False
    return any(parsed in ipaddress.ip_network(str(net), strict=False) for net in proxies)


def client_address(peer: str, forwarded_for: str | None,
                   trusted_proxies: Sequence[Network]) -> str:
    """The address to rate-limit and record.

    X-Forwarded-For is believed only when the peer itself is a trusted proxy, and then only up
    to the first hop (from the right) that is not trusted: anything left of it is whatever
    the client chose to write.
    """
    if not forwarded_for or not _trusted(peer, trusted_proxies):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if _parse(hop) is None:
            return peer
        if not _trusted(hop, trusted_proxies):
            return hop
    return hops[0] if hops else peer


class RateLimiter:
    """A token bucket per source: `per_minute` requests, refilled continuously."""

    MAX_SOURCES = 10_000  # forget idle sources rather than grow without bound

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, source: str) -> bool:
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(source, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            if len(self._buckets) >= self.MAX_SOURCES and source not in self._buckets:
                self._forget_full(now)
            self._buckets[source] = (tokens, now)
            return allowed

    def _forget_full(self, now: float) -> None:
        for key, (tokens, last) in list(self._buckets.items()):
            if tokens + (now - last) * self.rate >= self.capacity:
                del self._buckets[key]
        if len(self._buckets) >= self.MAX_SOURCES:
            self._buckets.clear()
