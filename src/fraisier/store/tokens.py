"""tb_api_token: API tokens, created once, shown once, stored as a SHA-256 hash.

The token is 32 random bytes, so a plain (unsalted, fast) hash is enough: nobody can
guess or brute-force 256 bits, and a fast hash lets every request find its token by an
indexed lookup instead of trying a slow password hash against every row.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from fraisier.domain.audit import Actor, AuditOutcome, local_actor
from fraisier.domain.model import is_valid_name, parse_timestamp, utc_now, utc_timestamp
from fraisier.domain.redaction import register_secret
from fraisier.store.audit import AuditLog
from fraisier.store.db import Conflict, Database, Row

TOKEN_PREFIX = "frs_"


class Scope(StrEnum):
    READ = "read"
    DEPLOY = "deploy"
    ADMIN = "admin"

    def allows(self, needed: Scope) -> bool:
        """Scopes nest: admin can deploy, deploy can read."""
        order = [Scope.READ, Scope.DEPLOY, Scope.ADMIN]
        return order.index(self) >= order.index(needed)


class TokenError(Exception):
    pass


@dataclass(frozen=True)
class TokenInfo:
    name: str
    scope: Scope
    created_at: str
    last_used_at: str | None
    revoked_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "scope": self.scope.value, "created_at": self.created_at,
                "last_used_at": self.last_used_at, "revoked_at": self.revoked_at}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# Names appear in tables, logs and audit lines; a longer one is a mistake or an attack.
MAX_TOKEN_NAME = 64


class Tokens:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, name: str, scope: Scope | str, *, actor: Actor | None = None) -> str:
        """Store a new token and return it: the only time its value exists outside a client.
        The audit log records who created it (never its value)."""
        label = f"token {name[:MAX_TOKEN_NAME]}"  # an over-long name is not logged whole
        try:
            token = self._create(name, Scope(scope))
        except TokenError as exc:
            self._audit(actor, "token.create", label, AuditOutcome.REFUSED, detail=str(exc))
            raise
        self._audit(actor, "token.create", label, AuditOutcome.OK,
                      detail=f"scope {Scope(scope).value}")
        return token

    def _audit(self, actor: Actor | None, action: str, subject: str, outcome: AuditOutcome,
               *, detail: str = "") -> None:
        """One audit entry; without an actor, the person running this process did it."""
        AuditLog(self.db).append(actor or local_actor(), action, subject, outcome,
                                 detail=detail)

    def _create(self, name: str, scope: Scope) -> str:
        if len(name) > MAX_TOKEN_NAME:
            raise TokenError(f"token name is {len(name)} characters long; "
                             f"at most {MAX_TOKEN_NAME}")
        if not is_valid_name(name):
            raise TokenError(f"invalid token name {name!r}: use lowercase letters, digits, - and _")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        try:
            with self.db.transaction():
                self.db.execute(
                    "INSERT INTO tb_api_token (name, scope, token_hash, created_at)"
                    " VALUES (?, ?, ?, ?)",
                    (name, scope.value, hash_token(token), utc_timestamp()),
                )
        except Conflict as exc:
            raise TokenError(f"a token named {name!r} already exists") from exc
        return token

    def list(self) -> list[TokenInfo]:
        rows = self.db.fetchall("SELECT * FROM tb_api_token ORDER BY name")
        return [_info(row) for row in rows]

    def revoke(self, name: str, *, actor: Actor | None = None) -> bool:
        """Revoke by name; False when there is no active token of that name."""
        with self.db.transaction():
            row = self.db.fetchone(
                "UPDATE tb_api_token SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL"
                " RETURNING id",
                (utc_timestamp(), name),
            )
        self._audit(actor, "token.revoke", f"token {name}",
                      AuditOutcome.OK if row is not None else AuditOutcome.REFUSED,
                      detail="" if row is not None else "no active token of that name")
        return row is not None

    def verify(self, token: str) -> TokenInfo | None:
        """The active token with this value, or None."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        row = self.db.fetchone(
            "SELECT * FROM tb_api_token WHERE token_hash = ? AND revoked_at IS NULL",
            (hash_token(token),),
        )
        if row is None:
            return None
        # A token in use is blanked from this process's logs (only known ones: a set grown by
        # whatever strangers send would be a memory leak).
        register_secret(token)
        self._touch(row)
        return _info(row)

    def _touch(self, row: Row) -> None:
        """Record use at most once a minute: a write per request would contend with the
        worker for SQLite's write lock."""
        now = utc_now()
        last = row["last_used_at"]
        if last is None or parse_timestamp(last) < now - timedelta(seconds=60):
            row["last_used_at"] = utc_timestamp(now)
            with self.db.transaction():
                self.db.execute("UPDATE tb_api_token SET last_used_at = ? WHERE id = ?",
                                (row["last_used_at"], row["id"]))


def _info(row: Row) -> TokenInfo:
    return TokenInfo(name=row["name"], scope=Scope(row["scope"]), created_at=row["created_at"],
                     last_used_at=row["last_used_at"], revoked_at=row["revoked_at"])
