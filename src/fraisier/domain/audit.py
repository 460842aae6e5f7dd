"""Who did something, and from where: the actor of an audit log entry."""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass
from enum import StrEnum


class ActorKind(StrEnum):
    TOKEN = "token"  # an API token, by its name
    OS_USER = "os_user"  # a person at the local CLI, by their login
    SYSTEM = "system"  # Fraisier itself (configuration reload, poll)
    DB_ROLE = "db_role"  # a PostgreSQL role calling fn_request_deployment & co., by its name


class AuditOutcome(StrEnum):
    OK = "ok"
    REFUSED = "refused"  # the rules said no (e.g. cancelling a finished deployment)
    FAILED = "failed"  # it was allowed but did not work (e.g. a configuration that is invalid)


@dataclass(frozen=True)
class Actor:
    name: str
    kind: ActorKind
    source: str  # where from: a client address, or the host (and SSH client) of a CLI


def local_actor() -> Actor:
    """The person running this process: their login, on this host (and the address they
    came from, when they are on SSH)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid {os.getuid()}"
    source = f"cli on {socket.gethostname()}"
    ssh_client = os.environ.get("SSH_CLIENT", "").split(" ")[0]
    if ssh_client:
        source += f" (ssh from {ssh_client})"
    return Actor(user, ActorKind.OS_USER, source)


def system_actor(role: str) -> Actor:
    return Actor(role, ActorKind.SYSTEM, f"{role} on {socket.gethostname()} (pid {os.getpid()})")
