"""The `vault` backend: HashiCorp Vault or OpenBao, KV version 2, through hvac.

A reference is the secret's path inside the KV mount (`apps/shop`); `#key` picks one field
of its data. hvac is imported only when a vault reference is resolved.
"""

from __future__ import annotations

from typing import Any

from fraisier.config.secrets import VaultBackend
from fraisier.secrets.errors import BackendError


def read_vault(backend: VaultBackend, path: str) -> dict[str, Any]:
    try:
        import hvac
        import requests
        from hvac import exceptions as vault_errors
    except ImportError:
        raise BackendError("the vault backend needs hvac: pip install 'fraisier[vault]'") from None

    client = hvac.Client(url=backend.url, namespace=backend.namespace, timeout=backend.timeout,
                         verify=backend.verify)
    try:
        if backend.approle is not None:
            secret_id = backend.approle.secret_id
            client.auth.approle.login(
                role_id=backend.approle.role_id,
                secret_id=secret_id.get_secret_value() if secret_id is not None else None,
                mount_point=backend.approle.mount)
        elif backend.token is not None:
            client.token = backend.token.get_secret_value()
        response = client.secrets.kv.v2.read_secret_version(
            path=path, mount_point=backend.mount, raise_on_deleted_version=True)
    except vault_errors.InvalidPath:
        raise BackendError(f"no secret at {backend.mount}/{path}") from None
    except (vault_errors.Forbidden, vault_errors.Unauthorized):
        if backend.approle is None and not _token_valid(client, vault_errors):
            raise BackendError("permission denied: the token was refused") from None
        raise BackendError(f"permission denied reading {backend.mount}/{path}") from None
    except vault_errors.InvalidRequest as exc:
        raise BackendError(f"request refused: {_first_error(exc)}") from None
    except vault_errors.VaultError as exc:
        raise BackendError(f"{type(exc).__name__}: {_first_error(exc)}") from None
    except requests.Timeout:
        raise BackendError(f"timed out after {backend.timeout:g}s ({backend.url})") from None
    except requests.RequestException as exc:
        raise BackendError(f"unreachable ({backend.url}): {type(exc).__name__}") from None
    data = (response or {}).get("data", {}).get("data")
    if not isinstance(data, dict):
        raise BackendError(f"{backend.mount}/{path} is not a KV version 2 secret")
    return data


def _token_valid(client: Any, vault_errors: Any) -> bool:
    # `auth/token/lookup-self` tells a refused token from a policy that denies the path.
    try:
        client.auth.token.lookup_self()
        return True
    except vault_errors.VaultError:
        return False
    except Exception:  # noqa: BLE001 - unreachable now: report the original denial
        return True


def _first_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if isinstance(errors, list) and errors:
        return str(errors[0])[:300]
    return str(exc).splitlines()[0][:300] if str(exc) else "no detail"
