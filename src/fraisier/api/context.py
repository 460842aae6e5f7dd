"""What every resolver gets: the config, the store, dataloaders, limits and the caller."""

from __future__ import annotations

from typing import Any

from fraisier.api.auth import Principal, authorize, bearer_from_header, bearer_from_params
from fraisier.api.errors import bad_input, not_found
from fraisier.api.loaders import Loaders
from fraisier.api.tokens import Scope, Tokens
from fraisier.domain.audit import Actor, ActorKind


class ApiContext:
    def __init__(self, config, store, *, authorization: str | None, client: str = ""):
        self.client = client  # the peer's address, for the audit log
        self.config = config
        self.store = store
        self.tokens = Tokens(store.db)
        self.loaders = Loaders(store)
        self._authorization = authorization

    # -- auth -----------------------------------------------------------------------------
    def require(self, scope: Scope, context: dict[str, Any]) -> Principal | None:
        token = bearer_from_header(self._authorization)
        if token is None:
            token = bearer_from_params(context.get("connection_params"))
        return authorize(token, scope, tokens=self.tokens,
                         anonymous_read=self.config.api.anonymous_read)

    def actor(self, principal: Principal | None) -> Actor:
        """Who is acting, for the audit log: the token's name, from the client address."""
        name = principal.name if principal is not None else "anonymous"
        return Actor(name, ActorKind.TOKEN, f"api from {self.client or 'unknown address'}")

    # -- inputs ---------------------------------------------------------------------------
    def checked_limit(self, limit: int) -> int:
        cap = self.config.api.max_limit
        if not 1 <= limit <= cap:
            raise bad_input(f"limit must be between 1 and {cap}")
        return limit

    def fraise_config(self, fraise_id: str):
        fraise = self.config.fraises.get(fraise_id)
        if fraise is None:
            raise not_found(f"no fraise {fraise_id!r}")
        return fraise

    def check_target(self, fraise_id: str, environment: str | None) -> None:
        fraise = self.fraise_config(fraise_id)
        if environment is not None and environment not in fraise.environments:
            raise not_found(f"fraise {fraise_id!r} has no environment {environment!r}")

    # -- shared reads ---------------------------------------------------------------------
    def environments(self, fraise_id: str):
        from fraisier.api.types import Environment

        found = []
        for name in self.fraise_config(fraise_id).environments:
            target = self.config.target(fraise_id, name)
            found.append(Environment(fraise_id=fraise_id, name=name, branch=target.branch,
                                     app_path=str(target.app_path)))
        return found

    def history(self, fraise_id, environment, status, limit, offset, after, *, trigger=None):
        from fraisier.api.types import Deployment

        if fraise_id is not None:
            self.check_target(fraise_id, environment)
        if offset < 0:
            raise bad_input("offset must not be negative")
        records = self.store.views.history(
            fraise=fraise_id, environment=environment,
            status=status.value if status else None, limit=self.checked_limit(limit),
            offset=offset, before_id=after, with_steps=False,
            trigger=trigger.value if trigger else None)
        return [Deployment.of(r) for r in records]
