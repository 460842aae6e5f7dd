"""fraises.yaml: load, validate and resolve the deployment configuration."""

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
