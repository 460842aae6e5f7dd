"""The `secrets:` section: named secret backends, and the checks on secret references.

    secrets:
      vault: {type: vault, url: "https://vault:8200", token: "${VAULT_TOKEN}"}
      op: {type: command, command: [op, read]}

A reference names its backend: `${secret:vault:apps/shop#db_password}`. `file` and
`credential` work without an entry (absolute paths; systemd's $CREDENTIALS_DIRECTORY).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fraisier.config.errors import Problem
from fraisier.config.fields import EnvMap, HttpUrlText, NonBlank, Secret
from fraisier.config.secretref import BUILTIN_BACKENDS, dotted, references, walk

if TYPE_CHECKING:
    from fraisier.config.model import FraisierConfig

DEFAULT_SECRET_TIMEOUT = 10.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class FileBackend(_Strict):
    """The value is the content of a file (one trailing newline removed)."""

    type: Literal["file"]
    directory: Path | None = None  # relative references are read under it


class CredentialBackend(_Strict):
    """systemd credentials: `LoadCredential=`/`SetCredential=` files in $CREDENTIALS_DIRECTORY."""

    type: Literal["credential"]
    directory: Path | None = None  # default: $CREDENTIALS_DIRECTORY


class CommandBackend(_Strict):
    """Any program that prints a secret: argv + the reference as its last argument."""

    type: Literal["command"]
    command: list[NonBlank] = Field(min_length=1)
    env: EnvMap = {}  # what the program needs (e.g. OP_SERVICE_ACCOUNT_TOKEN), on top of the base
    timeout: float = Field(DEFAULT_SECRET_TIMEOUT, gt=0)


class AppRoleAuth(_Strict):
    role_id: NonBlank
    secret_id: Secret = None
    mount: NonBlank = "approle"


class VaultBackend(_Strict):
    """HashiCorp Vault or OpenBao, KV version 2; a token, or AppRole."""

    type: Literal["vault"]
    url: HttpUrlText
    mount: NonBlank = "secret"  # the KV v2 engine's path
    namespace: str | None = None
    token: Secret = None
    approle: AppRoleAuth | None = None
    verify: bool | str = True  # TLS: False, or a CA bundle path
    timeout: float = Field(DEFAULT_SECRET_TIMEOUT, gt=0)

    @model_validator(mode="after")
    def _one_way_to_log_in(self) -> VaultBackend:
        if (self.token is None) == (self.approle is None):
            raise ValueError("set exactly one of token or approle")
        return self


class AwsBackend(_Strict):
    """AWS Secrets Manager through boto3's usual credential chain."""

    type: Literal["aws"]
    region: str | None = None
    profile: str | None = None
    endpoint_url: HttpUrlText | None = None
    timeout: float = Field(DEFAULT_SECRET_TIMEOUT, gt=0)


SecretBackend = Annotated[
    FileBackend | CredentialBackend | CommandBackend | VaultBackend | AwsBackend,
    Field(discriminator="type"),
]
BackendConfig = FileBackend | CredentialBackend | CommandBackend | VaultBackend | AwsBackend


def backend_named(config: FraisierConfig, name: str) -> BackendConfig | None:
    """The backend a reference names: configured, or a built-in one."""
    found = config.secrets.get(name)
    if found is not None:
        return found
    if name == "file":
        return FileBackend(type="file")
    if name == "credential":
        return CredentialBackend(type="credential")
    return None


def secret_reference_problems(config: FraisierConfig) -> list[Problem]:
    """Check every reference without fetching it: backend known, not in a command line."""
    problems: list[Problem] = []
    known = sorted(set(config.secrets) | set(BUILTIN_BACKENDS))
    for loc, text, in_command in walk(config):
        if loc[:1] == ("secrets",):
            problems.append(Problem.at(loc, "a secret backend's settings cannot reference "
                                            "a secret (use ${VAR} from the environment)"))
            continue
        if loc[:2] == ("state", "url"):
            problems.append(Problem.at(loc, "state.url cannot reference a secret: the state "
                                            "database is opened before any backend (use "
                                            "${VAR} from the environment or .env)"))
            continue
        if len(loc) == 3 and loc[0] == "fraises" and loc[2] == "repository":
            problems.append(Problem.at(
                loc, "a repository URL cannot reference a secret: git would get it on its "
                     "command line (ps would show it); use an SSH key or a git credential "
                     "helper"))
            continue
        if in_command:
            problems.append(Problem.at(
                loc, "a secret cannot be part of a command line (ps would show it): put it "
                     "in `env:` and use the variable in the command"))
            continue
        for reference in references(text):
            backend = backend_named(config, reference.backend)
            if backend is None:
                problems.append(Problem.at(
                    loc, f"{reference}: no secret backend {reference.backend!r} "
                         f"(configured: {', '.join(known)})"))
            elif isinstance(backend, CredentialBackend) and "/" in reference.path:
                problems.append(Problem.at(loc, f"{reference}: a credential name has no '/'"))
            elif (isinstance(backend, FileBackend) and backend.directory is None
                  and not Path(reference.path).is_absolute()):
                problems.append(Problem.at(
                    loc, f"{reference}: a file reference needs an absolute path "
                         f"(or a `directory` in secrets.{reference.backend})"))
    return problems


__all__ = [
    "AppRoleAuth",
    "AwsBackend",
    "BackendConfig",
    "CommandBackend",
    "CredentialBackend",
    "FileBackend",
    "SecretBackend",
    "VaultBackend",
    "backend_named",
    "dotted",
    "secret_reference_problems",
]
