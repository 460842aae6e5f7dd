"""tb_health: whether each environment's live release answered its health check the last
time the worker looked (between deployments), and since when that has been so."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fraisier.domain.model import EventType, utc_timestamp
from fraisier.domain.redaction import redact
from fraisier.store.db import Database, Row
from fraisier.store.events import Events


@dataclass(frozen=True)
class HealthState:
    fraise: str
    environment: str
    ok: bool
    detail: str  # what the probe saw, e.g. "GET http://…/health: HTTP 503 (expected 200)"
    checked_at: str
    since: str  # when `ok` last changed

    @classmethod
    def from_row(cls, row: Row) -> HealthState:
        return cls(fraise=row["fraise"], environment=row["environment"], ok=bool(row["ok"]),
                   detail=row["detail"], checked_at=row["checked_at"], since=row["since"])


class Health:
    def __init__(self, db: Database, events: Events):
        self.db = db
        self.events = events

    def record(self, fraise: str, environment: str, ok: bool, detail: str) -> bool:
        """Note one probe's result; True when it changed the environment's health (the
        first result counts as a change), which is then an event as well."""
        now, detail = utc_timestamp(), redact(detail)
        with self.db.transaction():
            before = self.db.fetchone("SELECT ok, since FROM tb_health WHERE fraise = ? AND"
                                      " environment = ?", (fraise, environment))
            changed = before is None or bool(before["ok"]) != ok
            since = now if changed or before is None else before["since"]
            self.db.execute(
                "INSERT INTO tb_health (fraise, environment, ok, detail, checked_at, since)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (fraise, environment) DO UPDATE SET"
                " ok = excluded.ok, detail = excluded.detail, checked_at = excluded.checked_at,"
                " since = excluded.since",
                (fraise, environment, int(ok), detail, now, since))
            if changed:
                self.events.emit(EventType.HEALTH_CHANGED.value, fraise=fraise,
                                 environment=environment,
                                 payload={"ok": ok, "detail": detail, "since": since})
        return changed

    def of(self, targets: Sequence[tuple[str, str]]) -> dict[tuple[str, str], HealthState]:
        """The health of these (fraise, environment) pairs, where it was ever checked."""
        if not targets:
            return {}
        wanted = set(targets)
        fraises = sorted({fraise for fraise, _ in targets})
        rows = self.db.fetchall(
            f"SELECT * FROM tb_health WHERE fraise IN ({','.join('?' * len(fraises))})",
            fraises)
        states = (HealthState.from_row(row) for row in rows)
        return {(s.fraise, s.environment): s for s in states
                if (s.fraise, s.environment) in wanted}

    def keep_only(self, targets: frozenset[tuple[str, str]]) -> None:
        """Forget environments no longer watched (removed, or their watch switched off): a
        state nobody updates any more would say "failing" forever."""
        rows = self.db.fetchall("SELECT fraise, environment FROM tb_health")
        gone = [(r["fraise"], r["environment"]) for r in rows
                if (r["fraise"], r["environment"]) not in targets]
        if gone:
            with self.db.transaction():
                for fraise, environment in gone:
                    self.db.execute("DELETE FROM tb_health WHERE fraise = ? AND"
                                    " environment = ?", (fraise, environment))
