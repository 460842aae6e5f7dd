"""The state database: schema migrations, the queue, the step ledger, releases, events.

`open_store(url)` gives a `Store` whose parts each own one set of tables:

    store.queue     tb_deployment (the queue)      store.ledger   steps and log lines
    store.releases  tb_release                     store.events   tb_event outbox
    store.webhooks  tb_webhook_event               store.workers  live workers
    store.views     history, status, statistics    store.audit    tb_audit (append-only)
    store.polls     poll mode's last heads         store.notifications  notifier cursor,
                                                   deliveries and attempts
    store.tokens    tb_api_token                   store.previews tb_preview
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from fraisier.domain.model import utc_timestamp
from fraisier.domain.redaction import redact
from fraisier.store.db import Conflict, Database, StoreError, StoreUnavailable
from fraisier.store.events import Events
from fraisier.store.migrate import apply_migrations
from fraisier.store.records import DeploymentRecord, ReleaseRecord, StepRecord

if TYPE_CHECKING:
    from fraisier.store.audit import AuditLog
    from fraisier.store.health import Health
    from fraisier.store.ledger import Ledger
    from fraisier.store.notifications import Notifications
    from fraisier.store.polls import Polls
    from fraisier.store.previews import Previews
    from fraisier.store.queue import NotFound, Queue
    from fraisier.store.releases import Releases
    from fraisier.store.runs import Backups, Runs
    from fraisier.store.tokens import Tokens
    from fraisier.store.views import Views
    from fraisier.store.webhooks import WebhookEvents
    from fraisier.store.workers import Workers


def __getattr__(name: str) -> Any:
    # `from fraisier.store import NotFound` without importing the queue's module up front.
    if name == "NotFound":
        value = importlib.import_module("fraisier.store.queue").NotFound
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Conflict",
    "DeploymentRecord",
    "NotFound",
    "ReleaseRecord",
    "StepRecord",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "open_store",
]


class Store:
    """Each part is made, and its module imported, when first used: a CLI command that
    reads the status never loads the code of the queue, the tokens or the notifier."""

    def __init__(self, db: Database):
        self.db = db
        self.events = Events(db)

    @cached_property
    def ledger(self) -> Ledger:
        from fraisier.store.ledger import Ledger

        return Ledger(self.db, self.events)

    @cached_property
    def queue(self) -> Queue:
        from fraisier.store.queue import Queue

        return Queue(self.db, self.events, self.ledger)

    @cached_property
    def releases(self) -> Releases:
        from fraisier.store.releases import Releases

        return Releases(self.db)

    @cached_property
    def webhooks(self) -> WebhookEvents:
        from fraisier.store.webhooks import WebhookEvents

        return WebhookEvents(self.db, self.events)

    @cached_property
    def workers(self) -> Workers:
        from fraisier.store.workers import Workers

        return Workers(self.db)

    @cached_property
    def views(self) -> Views:
        from fraisier.store.views import Views

        return Views(self.db, self.ledger)

    @cached_property
    def runs(self) -> Runs:
        """etl/job runs (a failed one is an event the notifier reads)"""
        from fraisier.store.runs import Runs

        return Runs(self.db, self.events)

    @cached_property
    def backups(self) -> Backups:
        from fraisier.store.runs import Backups

        return Backups(self.db, self.events)

    @cached_property
    def audit(self) -> AuditLog:
        """who changed what: append-only"""
        from fraisier.store.audit import AuditLog

        return AuditLog(self.db)

    @cached_property
    def polls(self) -> Polls:
        """poll mode"""
        from fraisier.store.polls import Polls

        return Polls(self.db)

    @cached_property
    def health(self) -> Health:
        """live releases' health between deployments"""
        from fraisier.store.health import Health

        return Health(self.db, self.events)

    @cached_property
    def notifications(self) -> Notifications:
        """the notifier's cursor, deliveries, attempts"""
        from fraisier.store.notifications import Notifications

        return Notifications(self.db)

    @cached_property
    def tokens(self) -> Tokens:
        from fraisier.store.tokens import Tokens

        return Tokens(self.db)

    @cached_property
    def previews(self) -> Previews:
        """pull-request preview environments"""
        from fraisier.store.previews import Previews

        return Previews(self.db)

    @property
    def backend(self) -> str:
        return self.db.backend

    def close(self) -> None:
        self.db.close()

    def sync_fraises(self, fraises: Iterable[tuple[str, str, str, str, list[str]]],
                     branches: dict[str, dict[str, str]] | None = None) -> None:
        """Snapshot the configured fraises (name, type, description, repository, envs), and
        each environment's branch (`branches[fraise][environment]`), which the PostgreSQL
        request functions read (migration 0070)."""
        now = utc_timestamp()
        branches = branches or {}
        with self.db.transaction():
            for name, type_, description, repository, environments in fraises:
                repository = redact(repository)  # credentials inside a clone URL stay out
                # One statement, not "update, else insert": two processes starting at once
                # on a fresh PostgreSQL database would both insert, and one would fail.
                self.db.execute(
                    "INSERT INTO tb_fraise (name, type, description, repository,"
                    " environments, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (name) DO UPDATE SET type = excluded.type,"
                    " description = excluded.description, repository = excluded.repository,"
                    " environments = excluded.environments, updated_at = excluded.updated_at",
                    (name, type_, description, repository, json.dumps(environments), now),
                )
                if name in branches:
                    self.db.execute("UPDATE tb_fraise SET branches = ? WHERE name = ?",
                                    (json.dumps(branches[name], sort_keys=True), name))

    def record_commit(self, fraise: str, sha: str, *, branch: str = "", message: str = "",
                      author: str = "", committed_at: str = "") -> None:
        # The first to record a commit keeps its row. Not "select, else insert": two
        # workers deploying one commit to two environments record it at the same moment,
        # and on PostgreSQL the second insert would fail the second deployment.
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO tb_git_commit (fraise, sha, branch, message, author,"
                " committed_at, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (fraise, sha) DO NOTHING",
                (fraise, sha, branch, message[:2000], author, committed_at, utc_timestamp()),
            )


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Open the state database and bring its schema up to date."""
    db = Database(url)
    if migrate:
        apply_migrations(db)
    return Store(db)


def open_synced(url: str, snapshot: tuple[Iterable[Sequence[Any]], dict[str, dict[str, str]]]
                ) -> Store:
    """Open the state database at `url` and keep `snapshot` in it: the configured fraises
    and each environment's branch, as `FraisierConfig.fraise_snapshot()` gives them (or the
    configuration cache kept them: lists where it had tuples)."""
    rows, branches = snapshot
    store = open_store(url)
    store.sync_fraises(((name, type_, description, repository, list(environments))
                        for name, type_, description, repository, environments in rows),
                       branches=branches)
    return store
