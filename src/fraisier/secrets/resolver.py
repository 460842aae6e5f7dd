"""Fetch the values of secret references, with a short in-process cache.

Every value fetched is added to the redactor before it is used, so it is blanked from
whatever Fraisier writes afterwards. Values are cached for CACHE_SECONDS: references to the
same secret in one deployment cost one fetch, and a secret rotated at the backend is used
from the next deployment that starts after that.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, TypeVar

from fraisier.config.secretref import Loc, SecretRef, dotted, references, substitute_text, walk
from fraisier.config.secrets import (
    AwsBackend,
    BackendConfig,
    CommandBackend,
    CredentialBackend,
    FileBackend,
    VaultBackend,
    backend_named,
)
from fraisier.domain.redaction import register_secret
from fraisier.secrets.errors import BackendError, SecretError

CACHE_SECONDS = 10.0

T = TypeVar("T")

_cache: dict[tuple[str, str, str], tuple[float, str | dict[str, Any]]] = {}
_cache_lock = threading.Lock()


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def fetch(config: Any, reference: SecretRef, where: str = "") -> str:
    """The value `reference` stands for; SecretError (naming it and `where`) otherwise."""
    backend = backend_named(config, reference.backend)
    if backend is None:
        raise SecretError(reference.text, where, f"no secret backend {reference.backend!r}")
    try:
        raw = _cached_raw(reference.backend, backend, reference.path)
        value = _pick(raw, reference.key)
    except BackendError as exc:
        raise SecretError(reference.text, where, f"{reference.backend}: {exc}") from None
    register_secret(value)
    return value


def resolve_text(config: Any, text: str, where: str = "") -> str:
    return substitute_text(text, lambda reference: fetch(config, reference, where))


def resolve_references(config: Any, value: T, *, skip: frozenset[str] = frozenset(),
                       prefix: Loc = ()) -> T:
    """A copy of `value` (a Target, a model…) with every reference replaced by its value."""
    from fraisier.config.secretref import rebuild

    def replace(text: str, loc: Loc) -> str:
        return resolve_text(config, text, dotted((*prefix, *loc)))

    return rebuild(value, replace, skip=skip)  # type: ignore[no-any-return]


def check_references(config: Any) -> tuple[int, list[str]]:
    """Fetch every reference of the configuration: (how many, one line per failure)."""
    count, failures = 0, []
    for loc, text, _ in walk(config):
        for reference in references(text):
            count += 1
            try:
                fetch(config, reference, dotted(loc))
            except SecretError as exc:
                failures.append(f"{dotted(loc)}: {reference}: {exc.reason}")
    return count, failures


def _cached_raw(name: str, backend: BackendConfig, path: str) -> str | dict[str, Any]:
    key = (name, backend.model_dump_json(), path)
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
    raw = _read(backend, path)
    if isinstance(raw, dict):
        register_secret(*(str(item) for item in raw.values()))
    else:
        register_secret(raw)
    with _cache_lock:
        _cache[key] = (now + CACHE_SECONDS, raw)
    return raw


def _read(backend: BackendConfig, path: str) -> str | dict[str, Any]:
    if isinstance(backend, FileBackend):
        from fraisier.secrets.files import read_file

        return read_file(backend, path)
    if isinstance(backend, CredentialBackend):
        from fraisier.secrets.files import read_credential

        return read_credential(backend, path)
    if isinstance(backend, CommandBackend):
        from fraisier.secrets.command import run_secret_command

        return run_secret_command(backend, path)
    if isinstance(backend, VaultBackend):
        from fraisier.secrets.vault import read_vault

        return read_vault(backend, path)
    if isinstance(backend, AwsBackend):
        from fraisier.secrets.aws import read_aws

        return read_aws(backend, path)
    raise BackendError(f"unknown backend type {type(backend).__name__}")


def _pick(raw: str | dict[str, Any], key: str | None) -> str:
    """The value itself, or its field `key` (a Vault secret's data, a JSON secret)."""
    if key is None:
        if not isinstance(raw, dict):
            return raw
        if len(raw) == 1:
            return _text(next(iter(raw.values())))
        raise BackendError(f"the secret has several keys ({', '.join(sorted(raw))}): "
                           "name one with #KEY")
    data = raw
    if isinstance(raw, str):
        try:
            data = json.loads(raw)
        except ValueError:
            raise BackendError(f"#{key}: the secret is not JSON, so it has no keys") from None
    if not isinstance(data, dict):
        raise BackendError(f"#{key}: the secret is not a JSON object, so it has no keys")
    if key not in data:
        raise BackendError(f"no key {key!r} in the secret (it has: "
                           f"{', '.join(sorted(map(str, data))) or 'none'})")
    return _text(data[key])


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
