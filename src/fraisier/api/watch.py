"""Credentials are checked once when a subscription starts; a subscription can then live for
days. `AuthorizationWatch` checks them again while it runs, so revoking a token ends its
open subscriptions within `RECHECK_SECONDS` (plus one poll of the outbox)."""

from __future__ import annotations

import time
from collections.abc import Callable

from graphql import GraphQLError

# Bounded: a revoked token keeps a subscription at most this long. Each check is one indexed
# read of tb_api_token, so a few per second across all subscriptions cost nothing.
RECHECK_SECONDS = 2.0


class AuthorizationWatch:
    def __init__(self, check: Callable[[], object], *, every: float = RECHECK_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._check = check  # raises a GraphQLError (UNAUTHENTICATED, FORBIDDEN) when refused
        self._every = every
        self._clock = clock
        self._next = clock() + every  # just checked, when the subscription started
        self._refused: GraphQLError | None = None

    def revoked(self) -> bool:
        """True once the credentials no longer allow the subscription (checked at most every
        `every` seconds). Given as the outbox tail's `stop`, so it runs on the tail's worker
        thread after each poll, off the event loop."""
        if self._refused is not None:
            return True
        now = self._clock()
        if now < self._next:
            return False
        self._next = now + self._every
        try:
            self._check()
        except GraphQLError as exc:
            self._refused = exc
            return True
        return False

    def raise_if_revoked(self) -> None:
        """End the subscription with the refusal as its error, if there was one."""
        if self._refused is not None:
            raise self._refused
