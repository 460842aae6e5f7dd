"""The target of a `pr-<number>` environment: the fraise's base environment with the
preview's path, port, database, restart and environment variables."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from fraisier.config.commands import CommandSpec
from fraisier.config.errors import UnknownTarget
from fraisier.config.model import HealthCheckConfig
from fraisier.config.previews import expand, preview_of
from fraisier.domain.previews import preview_number

if TYPE_CHECKING:
    from fraisier.config.model import FraisierConfig
    from fraisier.config.resolve import Target


def base_environment(config: FraisierConfig, fraise: str) -> str:
    """The environment previews of `fraise` copy their settings from."""
    fraise_config = config.fraises[fraise]
    assert fraise_config.previews is not None
    return fraise_config.previews.environment or next(iter(fraise_config.environments))


def preview_target(config: FraisierConfig, fraise: str, environment: str) -> Target | None:
    """The preview target, or None when `environment` is not a preview's name."""
    from fraisier.config.resolve import resolve_target

    number = preview_number(environment)
    previews = config.fraises[fraise].previews
    if number is None or previews is None:
        return None
    base = resolve_target(config, fraise, base_environment(config, fraise))
    try:
        preview, values = preview_of(previews, fraise, number)
    except ValueError as exc:
        raise UnknownTarget(f"{fraise}/{environment}: {exc}") from None
    env = {**base.env, "FRAISIER_PREVIEW_NUMBER": str(number),
           "FRAISIER_PREVIEW_PORT": str(preview.port), "FRAISIER_PREVIEW_URL": preview.url}
    if preview.database is not None:
        env["FRAISIER_PREVIEW_DATABASE"] = preview.database.name
        env["FRAISIER_PREVIEW_DATABASE_URL"] = preview.database.url
    env.update({key: expand(value, values) for key, value in previews.env.items()})
    migrate = base.migrate
    if migrate is not None and preview.database is not None:
        # Migrations of a preview run against its own database, never the base one's.
        migrate = migrate.model_copy(update={"database_url": preview.database.url})
    restart = (CommandSpec([expand(a, values) for a in previews.restart.argv],
                           previews.restart.shell) if previews.restart else None)
    health = (HealthCheckConfig(url=expand(previews.health_check_url, values), retries=20,
                                interval=0.25, timeout=2)
              if previews.health_check_url else None)
    return replace(
        base, environment=environment, branch="*", tags=None, paths=None,
        app_path=Path(expand(previews.app_path, values)),
        keep_releases=previews.keep_releases, migrate=migrate, restart=restart,
        health_check=health, env=env, rollout=None, poll=None, preview=preview)
