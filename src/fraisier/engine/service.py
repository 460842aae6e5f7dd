"""The operations every shell (CLI, webhook ingest, GraphQL) calls: request a deployment or a
rollback through the queue, or run one right here."""

from __future__ import annotations

import os
import socket
import threading

from fraisier.domain.model import Trigger


def owner_name(role: str = "cli") -> str:
    return f"{role}:{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def open_state(config):
    """Open the state database named by the config and snapshot its fraises."""
    from fraisier.store import open_store

    store = open_store(config.state.url)
    store.sync_fraises(
        (name, fraise.type.value if hasattr(fraise.type, "value") else str(fraise.type),
         fraise.description, fraise.repository, sorted(fraise.environments))
        for name, fraise in config.fraises.items()
    )
    return store


def request_deployment(store, config, fraise: str, environment: str, *, trigger: Trigger,
                       commit: str | None = None, force: bool = False, branch: str | None = None,
                       retry_of: int | None = None, webhook_event_id: int | None = None):
    """Queue a deployment of a configured target (raises UnknownTarget otherwise)."""
    target = config.target(fraise, environment)
    return store.queue.enqueue(
        fraise, environment, trigger=trigger.value, branch=branch or target.branch,
        requested_commit=commit, force=force, retry_of=retry_of,
        webhook_event_id=webhook_event_id,
    )


def request_rollback(store, config, fraise: str, environment: str, *, to: str | None = None,
                     migrate_down: bool = False):
    target = config.target(fraise, environment)
    return store.queue.enqueue(
        fraise, environment, trigger=Trigger.ROLLBACK.value, branch=target.branch,
        options={"to": to, "migrate_down": migrate_down},
    )
