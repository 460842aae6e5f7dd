"""The summary of fraises.yaml the read-only commands use.

`status`, `history`, `stats`, `logs`, `releases` and `list` need only the state URL and the
list of targets. It is kept with the cached configuration (fraisier.config.cache), so these
commands read it without importing the configuration's model classes at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


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


def from_cache(config_path: Path) -> ConfigSummary | None:
    """The summary kept with the cached configuration, if every input is unchanged
    (fraisier.config.cache); None means: validate the file."""
    from fraisier.config import cache

    entry = cache.lookup(config_path)
    if entry is None:
        return None
    return of(entry.summary)


def of(data: dict[str, Any]) -> ConfigSummary:
    return ConfigSummary(state_url=data["state_url"], fraises=tuple(data["fraises"]),
                         targets=tuple(TargetSummary(**t) for t in data["targets"]))
