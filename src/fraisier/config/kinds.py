"""Configuration of the fraise types beyond `api`: etl scripts, scheduled jobs, backups.

Fraise-level keys live in `KindFraiseFields`, per-environment keys in `KindEnvironmentFields`;
`model.py` mixes both in. `resolve_kind` flattens them into the `KindSettings` a Target
carries, with the same precedence as every other key (environment, fraise, defaults).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from fraisier.config.commands import Command, CommandSpec
from fraisier.config.fields import Name, anchor_path
from fraisier.config.notifications import ChannelConfig
from fraisier.domain.cron import CronError, parse_cron

DEFAULT_SYSTEMD_DIR = Path("/etc/systemd/system")


class _Strict(BaseModel):
    # No `.inf` or `.nan`: an infinite timeout or interval would hang a deployment forever.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, defer_build=True)


def _check_cron(value: str | None) -> str | None:
    if value is None:
        return value
    try:
        parse_cron(value)
    except CronError as exc:
        raise ValueError(f"invalid cron expression {value!r}: {exc}") from None
    return value


class NotificationsConfig(_Strict):
    """The seed's `notifications:` block: commands run after an ETL run."""

    on_success: Command | None = None
    on_failure: Command | None = None


class JobConfig(_Strict):
    """`jobs.<name>` of a scheduled fraise."""

    schedule: str | None = None  # 5-field cron, UTC
    command: Command
    timeout: float | None = Field(None, gt=0)
    depends_on: list[Name] = []  # run after each of these succeeded
    description: str = ""

    @field_validator("schedule")
    @classmethod
    def _valid_schedule(cls, value: str | None) -> str | None:
        return _check_cron(value)

    @model_validator(mode="after")
    def _triggered_somehow(self) -> JobConfig:
        if self.schedule is None and not self.depends_on:
            raise ValueError("a job needs a schedule, depends_on, or both")
        return self


class BackupJobConfig(_Strict):
    """`backups.<name>` of a backup fraise (or of any fraise using backup_before_deploy)."""

    kind: Literal["postgres", "sqlite", "command"]
    database_url: str | None = None  # postgres
    path: Path | None = None  # sqlite database file
    command: Command | None = None  # command: writes the backup to $FRAISIER_BACKUP_FILE
    schedule: str | None = None  # when the scheduler should take it (cron, UTC)
    verify: Literal["none", "list", "restore"] = "list"
    verify_database_url: str | None = None  # scratch database for `verify: restore`
    verify_table: str | None = None  # `verify: restore` checks this table has rows
    keep_last: int | None = Field(None, ge=1)
    retention_days: float | None = Field(None, gt=0)
    sync: Command | None = None  # after a good backup, e.g. upload it
    timeout: float | None = Field(None, gt=0)
    extension: str | None = None  # for `command` backups; default .bak

    @field_validator("schedule")
    @classmethod
    def _valid_schedule(cls, value: str | None) -> str | None:
        return _check_cron(value)

    @field_validator("path")
    @classmethod
    def _anchor(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else anchor_path(value, info)

    @model_validator(mode="after")
    def _what_to_back_up(self) -> BackupJobConfig:
        needed = {"postgres": "database_url", "sqlite": "path", "command": "command"}[self.kind]
        if getattr(self, needed) is None:
            raise ValueError(f"a {self.kind} backup needs {needed}")
        if self.verify == "restore" and self.kind == "postgres" and not self.verify_database_url:
            raise ValueError("verify: restore needs verify_database_url (a scratch database)")
        if self.verify == "restore" and self.kind == "command":
            raise ValueError("verify: restore is not available for command backups")
        return self


class KindFraiseFields(_Strict):
    """Keys a fraise may carry for the etl, scheduled and backup types."""

    script: Command | None = None  # etl: what a run executes, in the release directory
    on_success: Command | None = None
    on_failure: Command | None = None
    # A list: the fraise's notification channels (see config/notifications.py); a mapping:
    # the seed's spelling of on_success / on_failure.
    notifications: list[ChannelConfig] | NotificationsConfig | None = None
    jobs: dict[Name, JobConfig] = {}
    backups: dict[Name, BackupJobConfig] = {}


class KindEnvironmentFields(_Strict):
    """Per-environment keys (also allowed as top-level environment defaults)."""

    scheduler: Literal["systemd", "builtin"] | None = None
    systemd_dir: Path | None = None
    catch_up: Literal["once", "skip"] | None = None  # runs missed while the scheduler was down
    backup_dir: Path | None = None
    # true: always; "pending": only when migrations are pending (or cannot be listed).
    backup_before_deploy: Literal["pending"] | bool | None = None
    script_timeout: float | None = Field(None, gt=0)

    @field_validator("systemd_dir", "backup_dir")
    @classmethod
    def _anchor_dirs(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else anchor_path(value, info)


@dataclass(frozen=True)
class KindSettings:
    """What the etl/scheduled/backup machinery needs from one target."""

    script: CommandSpec | None = None
    script_timeout: float | None = None
    on_success: CommandSpec | None = None
    on_failure: CommandSpec | None = None
    jobs: dict[str, JobConfig] = field(default_factory=dict)
    backups: dict[str, BackupJobConfig] = field(default_factory=dict)
    scheduler: str = "builtin"
    systemd_dir: Path = DEFAULT_SYSTEMD_DIR
    catch_up: str = "once"
    backup_dir: Path | None = None  # None: <app_path>/backups
    backup_before_deploy: Literal["pending"] | bool = False
    config_path: Path | None = None  # fraises.yaml, for units that call `fraisier run`


def _written(layer: BaseModel | None, key: str) -> Any:
    if layer is None or key not in layer.model_fields_set:
        return None
    return getattr(layer, key)


def resolve_kind(fraise: Any, env: Any, defaults: Any,
                 config_path: Path | None = None) -> KindSettings:
    def pick(key: str, default: Any) -> Any:
        for layer in (env, defaults):
            value = _written(layer, key)
            if value is not None:
                return value
        return default

    notes = fraise.notifications if isinstance(fraise.notifications,
                                                NotificationsConfig) else None
    return KindSettings(
        script=fraise.script,
        script_timeout=pick("script_timeout", None),
        on_success=fraise.on_success or (notes.on_success if notes else None),
        on_failure=fraise.on_failure or (notes.on_failure if notes else None),
        jobs=dict(fraise.jobs),
        backups=dict(fraise.backups),
        scheduler=pick("scheduler", "builtin"),
        systemd_dir=pick("systemd_dir", DEFAULT_SYSTEMD_DIR),
        catch_up=pick("catch_up", "once"),
        backup_dir=pick("backup_dir", None),
        backup_before_deploy=pick("backup_before_deploy", False),
        config_path=config_path,
    )


def kind_problems(fraise_name: str, fraise: Any) -> list[tuple[tuple[Any, ...], str]]:
    """Type-specific requirements, as (key path, message).

    An etl fraise without `script` is accepted here (it may be written before its script
    exists); deploying it fails with a clear message instead."""
    loc = ("fraises", fraise_name)
    kind = str(getattr(fraise.type, "value", fraise.type))
    found: list[tuple[tuple[Any, ...], str]] = []
    if kind == "scheduled" and not fraise.jobs:
        found.append(((*loc, "jobs"), "a scheduled fraise needs at least one job"))
    if kind == "backup" and not fraise.backups:
        found.append(((*loc, "backups"), "a backup fraise needs at least one backup job"))
    # A job may follow another job or a backup (e.g. upload the backup just taken).
    known = [*fraise.jobs, *(name for name in fraise.backups if name not in fraise.jobs)]
    for name, job in fraise.jobs.items():
        for index, dependency in enumerate(job.depends_on):
            where = (*loc, "jobs", name, "depends_on", index)
            if dependency == name:
                found.append((where, "a job cannot depend on itself"))
            elif dependency not in known:
                found.append((where, f"unknown job {dependency!r} (jobs: {', '.join(known)})"))
    return found
