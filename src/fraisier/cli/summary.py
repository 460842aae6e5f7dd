"""A validated summary of fraises.yaml for the read-only commands, cached between runs.

`status`, `history`, `stats`, `logs`, `releases` and `list` need only the state URL and the
list of targets. Validating the whole file with pydantic costs more than the query itself, so
after a full, successful load we keep a small JSON summary keyed by everything the result
depends on: the file's bytes, the `.env` file's bytes, and the values of the variables the file
references. Any change to those, and the next command validates the file again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fraisier.config import FraisierConfig

FORMAT = 1
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class TargetSummary:
    fraise: str
    environment: str
    type: str
    branch: str
    app_path: str
    repository: str
    description: str


@dataclass(frozen=True)
class ConfigSummary:
    state_url: str
    targets: tuple[TargetSummary, ...]
    fraises: tuple[str, ...]

    def target(self, fraise: str, environment: str) -> TargetSummary | None:
        for target in self.targets:
            if target.fraise == fraise and target.environment == environment:
                return target
        return None


def summarize(config: FraisierConfig) -> ConfigSummary:
    return ConfigSummary(
        state_url=config.state.url,
        fraises=tuple(config.fraises),
        targets=tuple(
            TargetSummary(fraise=t.fraise, environment=t.environment, type=str(t.type),
                          branch=t.branch, app_path=str(t.app_path), repository=t.repository,
                          description=t.description)
            for t in config.targets()
        ),
    )


def cache_key(config_path: Path) -> str | None:
    try:
        text = config_path.read_bytes()
    except OSError:
        return None
    digest = hashlib.sha256(f"fraisier-summary-{FORMAT}\0{config_path}\0".encode())
    digest.update(text)
    env_file = config_path.parent / ".env"
    digest.update(b"\0env-file\0")
    if env_file.is_file():
        digest.update(env_file.read_bytes())
    for name in sorted(set(_VARIABLE.findall(text.decode("utf-8", "replace")))):
        value = os.environ.get(name)
        digest.update(f"\0{name}={'<unset>' if value is None else value}".encode())
    return digest.hexdigest()


def _cache_file(config_path: Path) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fraisier"
    return base / f"{hashlib.sha256(str(config_path).encode()).hexdigest()[:24]}.json"


def load_cached(config_path: Path) -> ConfigSummary | None:
    key = cache_key(config_path)
    if key is None:
        return None
    try:
        data = json.loads(_cache_file(config_path).read_text())
    except (OSError, ValueError):
        return None
    if data.get("key") != key:
        return None
    return ConfigSummary(state_url=data["state_url"], fraises=tuple(data["fraises"]),
                         targets=tuple(TargetSummary(**t) for t in data["targets"]))


def save(config_path: Path, summary: ConfigSummary) -> None:
    key = cache_key(config_path)
    if key is None:
        return
    target = _cache_file(config_path)
    payload = {"key": key, "state_url": summary.state_url, "fraises": list(summary.fraises),
               "targets": [t.__dict__ for t in summary.targets]}
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(payload))
        os.replace(temporary, target)
    except OSError:
        pass  # a cache that cannot be written only costs speed
