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

from fraisier.domain.model import ACTIVE_STATUSES, DeploymentStatus, Trigger

if TYPE_CHECKING:
    from fraisier.config import FraisierConfig
    from fraisier.store import Store
    from fraisier.store.records import DeploymentRecord


class RequestRefused(Exception):
    """A request the rules do not allow; the message says why, naming the id or target."""


class NotFound(RequestRefused):
    pass


class Conflict(RequestRefused):
    """Not in this state (e.g. cancelling a finished deployment)."""


class Invalid(RequestRefused):
    """Not a request that can ever be made (e.g. retrying a rollback)."""


def owner_name(role: str = "cli") -> str:
    return f"{role}:{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def open_state(config: FraisierConfig) -> Store:
    """Open the state database named by the config and snapshot its fraises."""
    from fraisier.store import open_store

    store = open_store(config.state.url)
    store.sync_fraises(
        (name, fraise.type.value, fraise.description, fraise.repository, sorted(fraise.environments))
        for name, fraise in config.fraises.items()
    )
    return store


def request_deployment(store: Store, config: FraisierConfig, fraise: str, environment: str, *,
                       trigger: Trigger, commit: str | None = None, force: bool = False,
                       branch: str | None = None, retry_of: int | None = None,
                       webhook_event_id: int | None = None) -> DeploymentRecord:
    """Queue a deployment of a configured target (raises UnknownTarget otherwise)."""
    target = config.target(fraise, environment)
    return store.queue.enqueue(
        fraise, environment, trigger=trigger.value, branch=branch or target.branch,
        requested_commit=commit, force=force, retry_of=retry_of,
        webhook_event_id=webhook_event_id,
    )


def request_rollback(store: Store, config: FraisierConfig, fraise: str, environment: str, *,
                     to: str | None = None, migrate_down: bool = False) -> DeploymentRecord:
    """Queue a rollback, refused up front when there is nothing to go back to."""
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


def cancel_deployment(store: Store, deployment_id: int) -> Cancelled:
    """A queued deployment never starts; a running one is stopped by its worker."""
    record = get_deployment(store, deployment_id)
    if record.status == DeploymentStatus.QUEUED and store.queue.cancel_queued(deployment_id):
        return Cancelled(get_deployment(store, deployment_id), stopping=False)
    if record.status in ACTIVE_STATUSES and store.queue.request_cancel(deployment_id):
        return Cancelled(get_deployment(store, deployment_id), stopping=True)
    status = get_deployment(store, deployment_id).status
    raise Conflict(f"deployment {deployment_id} is already {status}; only a queued or "
                   "running deployment can be cancelled")


def retry_deployment(store: Store, config: FraisierConfig,
                     deployment_id: int) -> DeploymentRecord:
    """Queue a new deployment (trigger `retry`) of the commit of one that ended without
    succeeding. A succeeded one is deployed again with `deploy --commit SHA --force`."""
    old = get_deployment(store, deployment_id)
    if old.trigger == Trigger.ROLLBACK.value:
        raise Invalid(f"deployment {deployment_id} is a rollback: roll back again instead "
                      "of retrying it")
    if old.status in ACTIVE_STATUSES:
        raise Conflict(f"deployment {deployment_id} is still {old.status}; wait until it ends")
    if old.status == DeploymentStatus.SUCCEEDED:
        raise Conflict(f"deployment {deployment_id} succeeded: there is nothing to retry (to "
                       "deploy its commit again, deploy it with --commit and --force)")
    return request_deployment(store, config, old.fraise, old.environment,
                              trigger=Trigger.RETRY,
                              commit=old.commit_sha or old.requested_commit, force=old.force,
                              branch=old.branch or None, retry_of=old.id)
