"""The operations every shell (CLI, webhook ingest, GraphQL) calls, and the rules behind
them: request a deployment or a rollback, cancel one, retry one. The CLI and the API call
these and only translate the refusals (`RequestRefused`) into their own errors, so the two
cannot disagree about what is allowed.

| request  | allowed when                                   | refused with            |
|----------|------------------------------------------------|-------------------------|
| deploy   | the fraise and environment are configured      | NotFound (UnknownTarget)|
| cancel   | queued (cancelled at once) or running (its     | Conflict: "already X"   |
|          | worker is asked to stop it)                    |                         |
| retry    | it ended without succeeding, and is not a      | Conflict (still active, |
|          | rollback                                       | succeeded), Invalid     |
| rollback | `to` names a good release (id, or a commit     | NotFound, Conflict (no  |
|          | prefix of 4+ characters); without `to`, an     | previous good release)  |
|          | older good release exists                      |                         |
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fraisier.domain.audit import Actor, AuditOutcome, local_actor
from fraisier.domain.model import ACTIVE_STATUSES, DeploymentStatus, Trigger

if TYPE_CHECKING:
    from fraisier.config import FraisierConfig
    from fraisier.store import Store
    from fraisier.store.db import Database
    from fraisier.store.records import DeploymentRecord


class RequestRefused(Exception):
    """A request the rules do not allow; the message says why, naming the id or target."""


class NotFound(RequestRefused):
    pass


class Conflict(RequestRefused):
    """Not in this state (e.g. cancelling a finished deployment)."""


class Invalid(RequestRefused):
    """Not a request that can ever be made (e.g. retrying a rollback)."""


def record_action(db: Database, actor: Actor | None, action: str, subject: str,
                  outcome: AuditOutcome, *, deployment_id: int | None = None,
                  detail: str = "") -> None:
    """Append one entry to the audit log. Without an actor, the person running this process
    (a local CLI) did it."""
    from fraisier.store.audit import AuditLog

    AuditLog(db).append(actor or local_actor(), action, subject, outcome,
                        deployment_id=deployment_id, detail=detail)


def owner_name(role: str = "cli") -> str:
    return f"{role}:{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def open_state(config: FraisierConfig) -> Store:
    """Open the state database named by the config and snapshot its fraises."""
    from fraisier.store import open_synced

    return open_synced(config.state.url, config.fraise_snapshot())


def request_deployment(store: Store, config: FraisierConfig, fraise: str, environment: str, *,
                       trigger: Trigger, commit: str | None = None, force: bool = False,
                       branch: str | None = None, retry_of: int | None = None,
                       webhook_event_id: int | None = None,
                       actor: Actor | None = None) -> DeploymentRecord:
    """Queue a deployment of a configured target (raises UnknownTarget otherwise); the
    audit log records who asked."""
    from fraisier.config import UnknownTarget

    try:
        record = _enqueue_deployment(store, config, fraise, environment, trigger=trigger,
                                     commit=commit, force=force, branch=branch,
                                     retry_of=retry_of, webhook_event_id=webhook_event_id)
    except UnknownTarget as exc:
        record_action(store.db, actor, "deploy", f"{fraise}/{environment}",
                      AuditOutcome.REFUSED, detail=str(exc))
        raise
    record_action(store.db, actor, "deploy", f"{fraise}/{environment}", AuditOutcome.OK,
                  deployment_id=record.id,
                  detail=f"trigger {trigger.value}" + (f", commit {commit}" if commit else "")
                  + (", force" if force else ""))
    return record


def _enqueue_deployment(store: Store, config: FraisierConfig, fraise: str, environment: str,
                        *, trigger: Trigger, commit: str | None, force: bool,
                        branch: str | None, retry_of: int | None,
                        webhook_event_id: int | None) -> DeploymentRecord:
    target = config.target(fraise, environment)
    return store.queue.enqueue(
        fraise, environment, trigger=trigger.value, branch=branch or target.branch,
        requested_commit=commit, force=force, retry_of=retry_of,
        webhook_event_id=webhook_event_id,
    )


def request_rollback(store: Store, config: FraisierConfig, fraise: str, environment: str, *,
                     to: str | None = None, migrate_down: bool = False,
                     actor: Actor | None = None) -> DeploymentRecord:
    """Queue a rollback, refused up front when there is nothing to go back to."""
    from fraisier.config import UnknownTarget

    subject = f"{fraise}/{environment}"
    detail = (f"to {to}" if to else "to the previous release") + (
        ", migrate down" if migrate_down else "")
    try:
        record = _enqueue_rollback(store, config, fraise, environment, to=to,
                                   migrate_down=migrate_down)
    except (RequestRefused, UnknownTarget) as exc:
        record_action(store.db, actor, "rollback", subject, AuditOutcome.REFUSED,
                      detail=f"{detail}: {exc}")
        raise
    record_action(store.db, actor, "rollback", subject, AuditOutcome.OK,
                  deployment_id=record.id, detail=detail)
    return record


def _enqueue_rollback(store: Store, config: FraisierConfig, fraise: str, environment: str, *,
                      to: str | None, migrate_down: bool) -> DeploymentRecord:
    from fraisier.engine.rollback import matching_releases

    target = config.target(fraise, environment)
    good = store.releases.good(fraise, environment)
    if to is not None and not matching_releases(good, to):
        raise NotFound(f"no good release of {fraise}/{environment} matches {to!r} "
                       "(a release id, or a commit prefix of 4+ characters; see "
                       "`fraisier releases`)")
    if to is None and len(good) < 2:
        raise Conflict(f"{fraise}/{environment} has no previous good release to roll back to")
    return store.queue.enqueue(
        fraise, environment, trigger=Trigger.ROLLBACK.value, branch=target.branch,
        options={"to": to, "migrate_down": migrate_down},
    )


def get_deployment(store: Store, deployment_id: int) -> DeploymentRecord:
    from fraisier.store import NotFound as Missing

    try:
        return store.queue.get(deployment_id)
    except Missing as exc:
        raise NotFound(f"no deployment {deployment_id}") from exc


@dataclass(frozen=True)
class Cancelled:
    record: DeploymentRecord
    stopping: bool  # True: it was running; its worker stops it and undoes what it did


def cancel_deployment(store: Store, deployment_id: int, *,
                      actor: Actor | None = None) -> Cancelled:
    """A queued deployment never starts; a running one is stopped by its worker."""
    try:
        cancelled = _cancel(store, deployment_id)
    except RequestRefused as exc:
        record_action(store.db, actor, "cancel", f"deployment {deployment_id}",
                      AuditOutcome.REFUSED, deployment_id=deployment_id, detail=str(exc))
        raise
    record_action(store.db, actor, "cancel", f"deployment {deployment_id}", AuditOutcome.OK,
                  deployment_id=deployment_id,
                  detail="its worker stops it" if cancelled.stopping else "it never starts")
    return cancelled


def _cancel(store: Store, deployment_id: int) -> Cancelled:
    record = get_deployment(store, deployment_id)
    if record.status == DeploymentStatus.QUEUED and store.queue.cancel_queued(deployment_id):
        return Cancelled(get_deployment(store, deployment_id), stopping=False)
    if record.status in ACTIVE_STATUSES and store.queue.request_cancel(deployment_id):
        return Cancelled(get_deployment(store, deployment_id), stopping=True)
    status = get_deployment(store, deployment_id).status
    raise Conflict(f"deployment {deployment_id} is already {status}; only a queued or "
                   "running deployment can be cancelled")


def retry_deployment(store: Store, config: FraisierConfig, deployment_id: int, *,
                     actor: Actor | None = None) -> DeploymentRecord:
    """Queue a new deployment (trigger `retry`) of the commit of one that ended without
    succeeding. A succeeded one is deployed again with `deploy --commit SHA --force`."""
    try:
        record = _retry(store, config, deployment_id)
    except RequestRefused as exc:
        record_action(store.db, actor, "retry", f"deployment {deployment_id}",
                      AuditOutcome.REFUSED, deployment_id=deployment_id, detail=str(exc))
        raise
    record_action(store.db, actor, "retry", f"deployment {deployment_id}", AuditOutcome.OK,
                  deployment_id=record.id, detail=f"retried as deployment {record.id}")
    return record


def _retry(store: Store, config: FraisierConfig, deployment_id: int) -> DeploymentRecord:
    old = get_deployment(store, deployment_id)
    if old.trigger == Trigger.ROLLBACK.value:
        raise Invalid(f"deployment {deployment_id} is a rollback: roll back again instead "
                      "of retrying it")
    if old.status in ACTIVE_STATUSES:
        raise Conflict(f"deployment {deployment_id} is still {old.status}; wait until it ends")
    if old.status == DeploymentStatus.SUCCEEDED:
        raise Conflict(f"deployment {deployment_id} succeeded: there is nothing to retry (to "
                       "deploy its commit again, deploy it with --commit and --force)")
    return _enqueue_deployment(store, config, old.fraise, old.environment,
                               trigger=Trigger.RETRY,
                               commit=old.commit_sha or old.requested_commit, force=old.force,
                               branch=old.branch or None, retry_of=old.id,
                               webhook_event_id=None)
