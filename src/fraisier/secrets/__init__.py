"""Secret backends and the resolution of `${secret:BACKEND:REFERENCE}` references.

    resolve_target(config, target)        a Target with its references fetched (deployments)
    resolve_webhook_secrets(config)       the configuration with its `git:` secrets fetched
    check_references(config)              fetch every reference (validate --resolve)

Backends: `file`, `credential` (files.py), `command` (command.py), `vault` (vault.py,
hvac), `aws` (aws.py, boto3). The heavy clients are imported only when used.
"""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from fraisier.config.secretref import dotted
from fraisier.domain.redaction import register_secret
from fraisier.secrets.errors import BackendError, SecretError
from fraisier.secrets.resolver import (
    CACHE_SECONDS,
    check_references,
    clear_cache,
    fetch,
    resolve_references,
    resolve_text,
)


def resolve_target(config: Any, target: Any) -> Any:
    """`target` with the values its references stand for (not its webhook secrets)."""
    return resolve_references(config, target, skip=frozenset({"secrets"}),
                              prefix=(f"{target.fraise}/{target.environment}",))


def resolve_webhook_secrets(config: Any) -> Any:
    """The configuration with every reference under a `git:` section fetched.

    The server calls this when it loads its configuration: a webhook is verified with
    values at hand, and a backend that is down stops the server from starting, loudly.
    """
    from fraisier.config.secretref import rebuild

    def replace(text: str, loc: tuple[str | int, ...]) -> str:
        return resolve_text(config, text, dotted(loc)) if _is_git_section(loc) else text

    resolved = rebuild(config, replace)
    for target in resolved.targets():
        for provider in type(target.secrets).model_fields:
            section = target.secrets.provider(provider)
            # Only the secret fields: api_url, repository and the switches are plain values.
            register_secret(*(value.get_secret_value() for name in type(section).model_fields
                              if isinstance(value := getattr(section, name), SecretStr)))
    return resolved


def _is_git_section(loc: tuple[str | int, ...]) -> bool:
    # git / environments.E.git / fraises.F.git / fraises.F.environments.E.git
    return (loc[:1] == ("git",)
            or (loc[:1] == ("environments",) and loc[2:3] == ("git",))
            or (loc[:1] == ("fraises",) and (loc[2:3] == ("git",)
                                             or (loc[2:3] == ("environments",)
                                                 and loc[4:5] == ("git",)))))


__all__ = [
    "CACHE_SECONDS",
    "BackendError",
    "SecretError",
    "check_references",
    "clear_cache",
    "fetch",
    "resolve_references",
    "resolve_target",
    "resolve_text",
    "resolve_webhook_secrets",
]
