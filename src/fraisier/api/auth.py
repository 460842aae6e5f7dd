"""Who is asking, and may they? A bearer token (HTTP header, or the WebSocket
`connection_init` payload) names a scope; each operation needs one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fraisier.api.errors import ApiError, Code
from fraisier.store.tokens import Scope, Tokens


@dataclass(frozen=True)
class Principal:
    name: str
    scope: Scope


ANONYMOUS = None


def bearer_from_header(value: str | None) -> str | None:
    if not value:
        return None
    kind, _, token = value.strip().partition(" ")
    return token.strip() if kind.lower() == "bearer" and token.strip() else ""


def bearer_from_params(params: dict[str, Any] | None) -> str | None:
    """`connection_init` payloads in the wild: {"Authorization": "Bearer x"},
    {"authorization": ...}, {"token": "x"} or {"authToken": "x"}."""
    if not params:
        return None
    for key in ("Authorization", "authorization"):
        if isinstance(params.get(key), str):
            return bearer_from_header(params[key])
    for key in ("token", "authToken"):
        token = params.get(key)
        if isinstance(token, str):
            return token
    return None


def authorize(token: str | None, needed: Scope, *, tokens: Tokens,
              anonymous_read: bool) -> Principal | None:
    """The principal allowed to do `needed`, or an UNAUTHENTICATED / FORBIDDEN error."""
    if token is None:
        if needed == Scope.READ and anonymous_read:
            return ANONYMOUS
        raise ApiError("authentication required: send Authorization: Bearer <token>",
                       Code.UNAUTHENTICATED)
    info = tokens.verify(token) if token else None
    if info is None:
        raise ApiError("invalid or revoked token", Code.UNAUTHENTICATED)
    if not info.scope.allows(needed):
        raise ApiError(f"this token's scope ({info.scope.value}) does not allow"
                       f" {needed.value} operations", Code.FORBIDDEN)
    return Principal(info.name, info.scope)
