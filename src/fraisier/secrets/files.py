"""The `file` and `credential` backends: a secret is the content of a file."""

from __future__ import annotations

import os
from pathlib import Path

from fraisier.config.secrets import CredentialBackend, FileBackend
from fraisier.secrets.errors import BackendError


def read_file(backend: FileBackend, path: str) -> str:
    where = Path(path)
    if not where.is_absolute() and backend.directory is not None:
        where = backend.directory / where
    return _read(where)


def read_credential(backend: CredentialBackend, name: str) -> str:
    directory = backend.directory
    if directory is None:
        found = os.environ.get("CREDENTIALS_DIRECTORY")
        if not found:
            raise BackendError("CREDENTIALS_DIRECTORY is not set (run Fraisier under systemd "
                               "with LoadCredential= or SetCredential=, or set "
                               "secrets.credential.directory)")
        directory = Path(found)
    return _read(directory / name)


def _read(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BackendError(f"no such file: {path}") from None
    except PermissionError:
        raise BackendError(f"permission denied reading {path}") from None
    except IsADirectoryError:
        raise BackendError(f"{path} is a directory") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BackendError(f"cannot read {path}: {exc}") from None
    # Files written by editors and `echo` end with a newline that is not part of the secret.
    return text.removesuffix("\n").removesuffix("\r")
