"""fraises.yaml: load, validate and resolve the deployment configuration.

The names below are imported when first used (PEP 562): importing one small module of this
package (the errors, the configuration cache) must not pay for the YAML parser, pydantic's
model classes and the validators, which a CLI command that finds its configuration in the
cache never needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fraisier.config.commands import CommandSpec
    from fraisier.config.errors import ConfigError, Problem, UnknownTarget
    from fraisier.config.loader import load_config
    from fraisier.config.model import (
        EnvironmentConfig,
        EnvironmentDefaults,
        FraiseConfig,
        FraisierConfig,
        GitConfig,
        HealthCheckConfig,
        MappingTarget,
        MigrateConfig,
        ProviderSecrets,
        StateConfig,
        WebhookConfig,
        WorkerConfig,
    )
    from fraisier.config.resolve import Target
    from fraisier.config.starter import STARTER_CONFIG

# public name -> the module of this package that defines it
_HOMES = {
    "STARTER_CONFIG": "starter",
    "CommandSpec": "commands",
    "ConfigError": "errors",
    "Problem": "errors",
    "UnknownTarget": "errors",
    "load_config": "loader",
    "EnvironmentConfig": "model",
    "EnvironmentDefaults": "model",
    "FraiseConfig": "model",
    "FraisierConfig": "model",
    "GitConfig": "model",
    "HealthCheckConfig": "model",
    "MappingTarget": "model",
    "MigrateConfig": "model",
    "ProviderSecrets": "model",
    "StateConfig": "model",
    "WebhookConfig": "model",
    "WorkerConfig": "model",
    "Target": "resolve",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


__all__ = [
    "STARTER_CONFIG",
    "CommandSpec",
    "ConfigError",
    "EnvironmentConfig",
    "EnvironmentDefaults",
    "FraiseConfig",
    "FraisierConfig",
    "GitConfig",
    "HealthCheckConfig",
    "MappingTarget",
    "MigrateConfig",
    "ProviderSecrets",
    "Problem",
    "StateConfig",
    "Target",
    "UnknownTarget",
    "WebhookConfig",
    "WorkerConfig",
    "load_config",
]
