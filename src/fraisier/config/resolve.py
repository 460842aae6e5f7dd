"""Flatten the layered configuration into one Target per (fraise, environment).

Precedence, highest first: the fraise's environment, the fraise itself, the
top-level `environments.<name>` defaults, then built-in defaults. A key counts as
set at a layer only if it was written there (pydantic's model_fields_set), so an
explicit `install: null` in an environment switches off the fraise's install.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from fraisier.config.commands import CommandSpec, systemctl_argv
from fraisier.config.errors import UnknownTarget
from fraisier.config.kinds import KindSettings, resolve_kind
from fraisier.config.model import (
    DEFAULT_KEEP_RELEASES,
    DEFAULT_TIMEOUT,
    EnvironmentDefaults,
    FraisierConfig,
    GitConfig,
    HealthCheckConfig,
    MigrateConfig,
)
from fraisier.config.previews import PreviewTarget
from fraisier.config.rollouts import RolloutFields, rollout_of
from fraisier.domain import FraiseType

_UNSET: Any = object()


@dataclass(frozen=True)
class Target:
    """Everything the engine needs to deploy one fraise to one environment."""

    fraise: str
    environment: str
    type: FraiseType
    description: str
    repository: str  # clone URL, or an absolute local path
    branch: str  # glob
    tags: str | None
    paths: tuple[str, ...] | None
    app_path: Path  # absolute
    keep_releases: int
    install: CommandSpec | None
    build: CommandSpec | None
    migrate: MigrateConfig | None
    restart: CommandSpec | None
    health_check: HealthCheckConfig | None
    timeout: float
    env: dict[str, str] = field(default_factory=dict)
    secrets: GitConfig = field(default_factory=GitConfig)
    kind: KindSettings = field(default_factory=KindSettings)  # etl, scheduled, backup settings
    rollout: RolloutFields | None = None  # hosts/strategy; None deploys locally
    poll: float | None = None  # seconds between `git ls-remote` checks; None: webhooks only
    preview: PreviewTarget | None = None  # set on a `pr-<number>` preview environment

    @property
    def name(self) -> str:
        return f"{self.fraise}/{self.environment}"


def _written(layer: BaseModel | None, key: str) -> Any:
    if layer is None or key not in layer.model_fields_set:
        return _UNSET
    return getattr(layer, key)


def _first(*candidates: Any, default: Any = None, skip_none: bool = False) -> Any:
    for value in candidates:
        if value is _UNSET or (skip_none and value is None):
            continue
        return value
    return default


def _restart(layer: BaseModel | None) -> Any:
    service = _written(layer, "systemd_service")
    if service not in (_UNSET, None):
        return CommandSpec([*systemctl_argv(), "restart", service], False)
    restart = _written(layer, "restart")
    if restart is _UNSET and service is None:
        return None  # `systemd_service: null` written on its own also switches restart off
    return restart


def _migrate(*layers: BaseModel | None) -> MigrateConfig | None:
    # Merged key by key so that, say, production can change only database_url.
    merged: MigrateConfig | None = None
    for layer in layers:
        value = _written(layer, "migrate")
        if value is _UNSET:
            continue
        if value is None or merged is None:
            merged = value
            continue
        merged = merged.model_copy(
            update={key: getattr(value, key) for key in value.model_fields_set}
        )
    return merged


def _secrets(config: FraisierConfig, *overrides: GitConfig | None) -> GitConfig:
    effective = config.git
    for override in overrides:
        if override is not None:
            effective = override.over(effective)
    return effective


def resolve_target(config: FraisierConfig, fraise: str, environment: str) -> Target:
    fraise_config = config.fraises.get(fraise)
    if fraise_config is None:
        known = ", ".join(config.fraises) or "none"
        raise UnknownTarget(f"unknown fraise {fraise!r} (configured fraises: {known})")
    env = fraise_config.environments.get(environment)
    if env is None and fraise_config.previews is not None:
        from fraisier.config.preview_targets import preview_target

        found = preview_target(config, fraise, environment)
        if found is not None:
            return found
    if env is None:
        known = ", ".join(fraise_config.environments)
        raise UnknownTarget(
            f"fraise {fraise!r} has no environment {environment!r} (it has: {known})"
        )
    # Built without validation: an empty layer of defaults has nothing to check, and
    # validating would build the model's validator, which a CLI command running from the
    # cached configuration otherwise never needs.
    defaults = config.environments.get(environment) or EnvironmentDefaults.model_construct()

    def pick(key: str, *, fraise_level: bool = False, default: Any = None) -> Any:
        return _first(
            _written(env, key),
            _written(fraise_config, key) if fraise_level else _UNSET,
            _written(defaults, key),
            default=default,
        )

    paths = pick("paths")
    return Target(
        fraise=fraise,
        environment=environment,
        type=fraise_config.type,
        description=fraise_config.description,
        repository=fraise_config.repository,
        # A missing branch is rejected when the file is validated.
        branch=_first(env.branch, defaults.branch, skip_none=True),
        tags=pick("tags"),
        paths=tuple(paths) if paths is not None else None,
        app_path=env.app_path,
        keep_releases=_first(
            _written(env, "keep_releases"), _written(defaults, "keep_releases"),
            default=DEFAULT_KEEP_RELEASES, skip_none=True,
        ),
        install=pick("install", fraise_level=True),
        build=pick("build", fraise_level=True),
        migrate=_migrate(defaults, fraise_config, env),
        restart=_first(_restart(env), _restart(defaults)),
        health_check=pick("health_check"),
        timeout=_first(
            _written(env, "timeout"), _written(defaults, "timeout"),
            default=DEFAULT_TIMEOUT, skip_none=True,
        ),
        env={**defaults.env, **fraise_config.env, **env.env},
        secrets=_secrets(config, defaults.git, fraise_config.git, env.git),
        kind=resolve_kind(fraise_config, env, defaults, config.config_path),
        rollout=rollout_of(env),
        poll=pick("poll"),
    )


def iter_targets(config: FraisierConfig) -> Iterator[Target]:
    for fraise_name, fraise in config.fraises.items():
        for env_name in fraise.environments:
            yield resolve_target(config, fraise_name, env_name)
