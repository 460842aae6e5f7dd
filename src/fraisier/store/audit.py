"""tb_audit: the append-only audit log (the database itself refuses updates and deletes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from fraisier.domain.audit import Actor, AuditOutcome
from fraisier.domain.model import utc_timestamp
from fraisier.store.db import Database, Row

DETAIL_CHARS = 2000


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: str
    actor: str
    actor_kind: str
    source: str
    action: str
    subject: str
    deployment_id: int | None
    outcome: str
    detail: str

    @classmethod
    def from_row(cls, row: Row) -> AuditRecord:
        return cls(id=int(row["id"]), at=row["at"], actor=row["actor"],
                   actor_kind=row["actor_kind"], source=row["source"], action=row["action"],
                   subject=row["subject"],
                   deployment_id=None if row["deployment_id"] is None
                   else int(row["deployment_id"]),
                   outcome=row["outcome"], detail=row["detail"])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Requester:
    """Who asked for a deployment: an audit log actor (a token, a person at the CLI,
    Fraisier itself) or, for a push, the pusher as the provider named them."""

    name: str
    kind: str  # an ActorKind value, or "pusher"
    source: str


# The actions whose audit entry names the deployment they queued (a cancel names the one it
# stopped, so it is not one of them).
REQUESTING_ACTIONS = ("deploy", "retry", "rollback")


class AuditLog:
    def __init__(self, db: Database):
        self.db = db

    def append(self, actor: Actor, action: str, subject: str, outcome: AuditOutcome, *,
               deployment_id: int | None = None, detail: str = "") -> int:
        with self.db.transaction():
            return self.db.insert(
                "INSERT INTO tb_audit (at, actor, actor_kind, source, action, subject,"
                " deployment_id, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (utc_timestamp(), actor.name, actor.kind.value, actor.source, action, subject,
                 deployment_id, outcome.value, detail[:DETAIL_CHARS]))

    def list(self, *, limit: int = 100, before_id: int | None = None,
             action: str | None = None) -> list[AuditRecord]:
        """Newest first."""
        clauses: list[str] = []
        params: list[object] = []
        if before_id is not None:
            clauses.append("id < ?")
            params.append(before_id)
        if action is not None:
            clauses.append("action = ?")
            params.append(action)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.db.fetchall(f"SELECT * FROM tb_audit{where} ORDER BY id DESC LIMIT ?",
                                (*params, limit))
        return [AuditRecord.from_row(row) for row in rows]

    def requesters(self, deployment_ids: Sequence[int]) -> dict[int, Requester]:
        """Who asked for each of these deployments: the actor of the accepted request that
        queued it, or for a push the pusher (a webhook request has no audit entry)."""
        if not deployment_ids:
            return {}
        marks = ",".join("?" * len(deployment_ids))
        found: dict[int, Requester] = {}
        for row in self.db.fetchall(
                f"SELECT d.id, w.sender, w.provider FROM tb_deployment d"
                f" JOIN tb_webhook_event w ON w.id = d.webhook_event_id"
                f" WHERE d.id IN ({marks}) AND w.sender <> ''", deployment_ids):
            found[int(row["id"])] = Requester(row["sender"], "pusher",
                                              f"{row['provider']} push")
        actions = ",".join("?" * len(REQUESTING_ACTIONS))
        for row in self.db.fetchall(
                f"SELECT deployment_id, actor, actor_kind, source FROM tb_audit"
                f" WHERE deployment_id IN ({marks}) AND outcome = ?"
                f" AND action IN ({actions}) ORDER BY id",
                (*deployment_ids, AuditOutcome.OK.value, *REQUESTING_ACTIONS)):
            found[int(row["deployment_id"])] = Requester(row["actor"], row["actor_kind"],
                                                         row["source"])
        return found
