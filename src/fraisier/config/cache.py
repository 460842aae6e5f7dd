"""The validated configuration, kept between CLI runs while nothing it depends on changes.

Validating fraises.yaml with pydantic costs more than most commands' own work, and a command
line tool pays it on every call. After a full, successful validation the result is kept in
one file under `$XDG_CACHE_HOME/fraisier/` (default `~/.cache/fraisier/`) and reused while
everything the result depends on is unchanged:

- the file's bytes and its path, the `.env` file's bytes next to it, the values of the
  variables either of them references (`${NAME}`) and `HOME` (paths starting with `~`);
- the code that validates: Python's version, pydantic's, and the size and modification time
  of every module of this package (an upgrade, or an edit in a development checkout).

The entry holds two parts: a small JSON-able summary that commands use without importing
the model classes — the state URL, the targets, the fraises as the state database keeps them,
and each etl target's script (config/script_target.py), for `fraisier run` — and the
pickled configuration.

Secrets. A validated configuration holds values from the file, the `.env` file and the
environment: webhook secrets, tokens in notification URLs, passwords in database URLs,
command environments. None of them is written in clear: the entry is encrypted and
authenticated with a key derived from exactly the inputs listed above, so reading it needs
the configuration file, its `.env` file and the referenced variables' values — which hold
the same secrets already. The cipher is AES-256-GCM from the `cryptography` package (a
fresh random nonce per write), imported only when an entry is read or written. A changed
input changes the key, so the check that the entry is current and the check that it is
genuine are the same tag verification, done before anything is unpickled. Secret references (`${secret:BACKEND:...}`) stay references in the
configuration; their values are fetched when a command needs them, never cached.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fraisier.config.model import FraisierConfig

FORMAT = b"fraisier-config-cache-4"
_MAGIC = b"FRC4"
_NONCE_BYTES = 12  # what AES-GCM is made for
_TAG_BYTES = 16
# `${NAME` and `${NAME:-default}`; `${secret:...}` matches the name `secret`, which is
# harmless: one more variable in the key.
_VARIABLE = re.compile(rb"\$\{([A-Za-z_][A-Za-z0-9_]*)")
_PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class CachedConfig:
    """A cache entry: the summary at once, the configuration when asked for."""

    summary: dict[str, Any]
    _pickled: bytes

    def config(self) -> FraisierConfig:
        config: FraisierConfig = pickle.loads(self._pickled)
        return config


def config_file(path: str | Path) -> Path:
    """The configuration file a `-c` value names (a directory means its fraises.yaml)."""
    config_path = Path(path).expanduser()
    if config_path.is_dir():
        config_path = config_path / "fraises.yaml"
    return config_path.resolve()


def lookup(config_path: Path) -> CachedConfig | None:
    """The entry for `config_path` (an absolute file path) if every input is unchanged."""
    key = _key(config_path)
    if key is None:
        return None
    try:
        blob = _entry_file(config_path).read_bytes()
    except OSError:
        return None
    plain = _open(key, blob)
    if plain is None:
        return None
    try:
        summary, pickled = pickle.loads(plain)
        still = all(os.path.realpath(path) == real for path, real in summary["realpaths"])
    except Exception:  # noqa: BLE001 - an entry from another version is only a miss
        return None
    if not still:
        return None  # a symbolic link changed: the app_path checks must run again
    return CachedConfig(summary=summary, _pickled=pickled)


def load(path: str | Path) -> FraisierConfig:
    """The validated configuration: from the cache when current, else validated and kept.

    Raises ConfigError exactly as `load_config` does (an invalid file is never cached)."""
    config_path = config_file(path)
    if config_path.is_file():
        entry = lookup(config_path)
        if entry is not None:
            try:
                return entry.config()
            except Exception:  # noqa: BLE001 - a class changed shape: validate again
                pass
    return validate_and_keep(path)


def validate_and_keep(path: str | Path) -> FraisierConfig:
    """Validate the file in full (raising ConfigError) and keep the result."""
    from fraisier.config.loader import load_config

    config = load_config(path)
    if config.config_path is not None:
        keep(config.config_path, config)
    return config


def keep(config_path: Path, config: FraisierConfig) -> None:
    """Write the entry for a configuration just validated from `config_path`."""
    key = _key(config_path)
    if key is None:
        return
    try:
        plain = pickle.dumps((summarize(config), pickle.dumps(config, pickle.HIGHEST_PROTOCOL)),
                             pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - something unpicklable: that config is not cached
        return
    target = _entry_file(config_path)
    temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(_seal(key, plain))
        os.replace(temporary, target)
    except OSError:
        # A cache that cannot be written only costs speed.
        try:
            temporary.unlink(missing_ok=True)
        except OSError:
            pass


def summarize(config: FraisierConfig) -> dict[str, Any]:
    """What the commands that skip the models need: the state URL, the targets, the fraise
    snapshot the state database keeps, the etl targets' scripts. Also what the file system
    told validation: the checks on each `app_path` (config/checks.py) resolve symbolic links,
    so the entry is current only while every path they resolved still resolves the same."""
    from fraisier.config.script_target import ScriptTarget

    return {
        "realpaths": [(path, os.path.realpath(path)) for path in _resolved_paths(config)],
        "state_url": config.state.url,
        "fraises": list(config.fraises),
        "targets": [
            {"fraise": t.fraise, "environment": t.environment, "type": str(t.type),
             "branch": t.branch, "app_path": str(t.app_path), "repository": t.repository,
             "description": t.description}
            for t in config.targets()
        ],
        "snapshot": config.fraise_snapshot(),
        "scripts": {t.name: ScriptTarget.of(t).to_json()
                    for t in config.targets() if t.kind.script is not None},
    }


def _resolved_paths(config: FraisierConfig) -> list[str]:
    paths = {str(Path.home()), str(config.config_dir)}
    if config.data_dir is not None:
        paths.add(str(config.data_dir))
    if config.state.sqlite_path is not None:
        paths.add(str(config.state.sqlite_path.parent))
    for fraise in config.fraises.values():
        repository = fraise.repository
        if repository.startswith("file://"):
            repository = repository[len("file://"):]
        if repository.startswith(("/", "~")):  # a local repository (a URL is not a path)
            paths.add(os.path.expanduser(repository))
        paths.update(str(env.app_path) for env in fraise.environments.values())
    return sorted(paths)


def _entry_file(config_path: Path) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fraisier"
    return base / f"{hashlib.sha256(str(config_path).encode()).hexdigest()[:24]}.config"


def _key(config_path: Path) -> bytes | None:
    """The entry's key, from every input the validated result depends on."""
    try:
        text = config_path.read_bytes()
    except OSError:
        return None
    material = hashlib.blake2b(digest_size=32, person=b"fraisier-cfg")

    def add(label: str, value: bytes) -> None:
        # Length-prefixed, so no two different inputs give the same stream of bytes.
        material.update(f"{label}:{len(value)}:".encode())
        material.update(value)

    add("format", FORMAT)
    add("python", sys.version.encode())
    add("code", _code_fingerprint())
    add("path", str(config_path).encode())
    add("file", text)
    env_file = config_path.parent / ".env"
    try:
        env_text = env_file.read_bytes()
        add("env-file", env_text)
    except OSError:
        env_text = b""
        add("no-env-file", b"")
    names = set(_VARIABLE.findall(text)) | set(_VARIABLE.findall(env_text)) | {b"HOME"}
    for name in sorted(names):
        value = os.environb.get(name)
        add("var", name + (b"\0unset" if value is None else b"=" + value))
    return material.digest()


def _code_fingerprint() -> bytes:
    # pydantic's version by its version module's file, found without importing pydantic
    # (the read commands never import it).
    from importlib.util import find_spec

    spec = find_spec("pydantic")  # a top-level name: found, not imported
    parts = []
    if spec is not None and spec.origin is not None:
        stat = os.stat(Path(spec.origin).parent / "version.py")
        parts.append(f"pydantic:{stat.st_size}:{stat.st_mtime_ns}")
    with os.scandir(_PACKAGE_DIR) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.endswith(".py"):
                stat = entry.stat()
                parts.append(f"{entry.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "\n".join(parts).encode()


def _seal(key: bytes, plain: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(_NONCE_BYTES)
    return _MAGIC + nonce + AESGCM(key).encrypt(nonce, plain, _MAGIC)


def _open(key: bytes, blob: bytes) -> bytes | None:
    """The plaintext, or None when the entry is not for these inputs (or was tampered with)."""
    if len(blob) < len(_MAGIC) + _NONCE_BYTES + _TAG_BYTES or not blob.startswith(_MAGIC):
        return None
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = blob[len(_MAGIC):len(_MAGIC) + _NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, blob[len(_MAGIC) + _NONCE_BYTES:], _MAGIC)
    except InvalidTag:
        return None
