"""The summary of fraises.yaml the commands use when they can do without the models.

`status`, `history`, `stats`, `logs`, `releases` and `list` need only the state URL and the
list of targets; opening the state database for writing also needs the fraise snapshot it
keeps; `fraisier run` needs the etl target's script. It is kept with the cached configuration
(fraisier.config.cache), so these commands read it without importing the configuration's
model classes at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fraisier.config.script_target import ScriptTarget


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
    # FraisierConfig.fraise_snapshot(): what `open_synced` keeps in the state database.
    snapshot: tuple[list[Any], dict[str, dict[str, str]]]
    scripts: dict[str, ScriptTarget]  # by target name, the etl targets only

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
    rows, branches = data["snapshot"]
    return ConfigSummary(state_url=data["state_url"], fraises=tuple(data["fraises"]),
                         targets=tuple(TargetSummary(**t) for t in data["targets"]),
                         snapshot=(rows, branches),
                         scripts={name: ScriptTarget.from_json(script)
                                  for name, script in data["scripts"].items()})
