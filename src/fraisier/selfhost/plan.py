"""From a loaded fraises.yaml and the setup options to the list of files `fraisier setup`
writes, each with its absolute path, mode and content."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fraisier.selfhost.nginx_site import render_site
from fraisier.selfhost.options import NGINX_SITE, SUDOERS_FILE, UNIT_DIR, SetupOptions
from fraisier.selfhost.sudoers import VERBS, render_sudoers
from fraisier.selfhost.units import render_unit

if TYPE_CHECKING:
    from fraisier.config.model import FraisierConfig
    from fraisier.config.resolve import Target


@dataclass(frozen=True)
class PlannedFile:
    path: Path  # absolute, as installed
    content: str
    mode: int
    # Holds secrets once edited: written only when missing, compared by mode alone.
    keep_existing: bool = False
    # A program that must accept the file before it is put in place (argv + the file).
    check: tuple[str, ...] = ()


@dataclass
class Plan:
    files: list[PlannedFile]
    directories: list[Path]  # the writable paths; `--install` creates them for the user
    notes: list[str] = field(default_factory=list)  # what the setup does not cover, and why


def _is_local(target: Target) -> bool:
    return target.rollout is None or not target.rollout.hosts


def restarted_unit(target: Target) -> str | None:
    """The unit a local target restarts through systemctl, if that is how it restarts."""
    if target.restart is None or target.restart.shell:
        return None
    argv = target.restart.argv
    if len(argv) >= 3 and os.path.basename(argv[-3]) == "systemctl" and argv[-2] in VERBS:
        return argv[-1]
    return None


def writable_paths(config: FraisierConfig) -> list[Path]:
    paths: list[Path] = []
    if config.data_dir is not None:
        paths.append(Path(config.data_dir))
    database = config.state.sqlite_path
    if database is not None:
        paths.append(Path(database).expanduser().parent)
    for target in config.targets():
        if _is_local(target):
            paths.append(target.app_path)
            if target.kind.backup_dir is not None:
                paths.append(target.kind.backup_dir)
    unique: list[Path] = []
    for path in sorted(set(paths)):
        # A path inside another writable one adds nothing.
        if not any(path != other and path.is_relative_to(other) for other in paths):
            unique.append(path)
    return unique


def _environment_file(config: FraisierConfig) -> str:
    text = (config.config_path.read_text(encoding="utf-8")
            if config.config_path is not None else "")
    names = sorted(set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text)))
    lines = ["# Secrets for the ${VAR} references of fraises.yaml, one NAME=value a line.",
             "# Root-owned and 0600: systemd reads it and hands the values to Fraisier."]
    lines += [f"{name}=" for name in names]
    return "\n".join(lines) + "\n"


def plan_files(config: FraisierConfig, options: SetupOptions) -> Plan:
    targets = list(config.targets())
    units = sorted({unit for t in targets if _is_local(t)
                    for unit in [restarted_unit(t)] if unit is not None})
    writable = writable_paths(config)
    restarts = bool(units)
    stop_seconds = int(config.worker.shutdown_grace_seconds + config.worker.lease_seconds) + 30
    serve_command = ["serve", "--host", options.listen_host, "--port", str(options.listen_port)]
    files: list[PlannedFile] = []
    notes: list[str] = []

    def unit(name: str, **kwargs: object) -> None:
        files.append(PlannedFile(UNIT_DIR / name, render_unit(options, **kwargs),  # type: ignore[arg-type]
                                 0o644))

    if options.separate_worker:
        unit("fraisier.service", description="Fraisier server (webhooks, GraphQL, dashboard)",
             command=[*serve_command, "--no-worker"], writable=writable,
             restarts_services=False, stop_seconds=stop_seconds)
        unit("fraisier-worker.service", description="Fraisier worker (runs deployments)",
             command=["worker"], writable=writable, restarts_services=restarts,
             stop_seconds=stop_seconds)
        unit("fraisier-scheduler.service", description="Fraisier scheduler (builtin jobs)",
             command=["scheduler"], writable=writable, restarts_services=False,
             stop_seconds=stop_seconds)
    else:
        unit("fraisier.service",
             description="Fraisier server (webhooks, GraphQL, dashboard, deployments)",
             command=serve_command, writable=writable, restarts_services=restarts,
             stop_seconds=stop_seconds)
    if units:
        files.append(PlannedFile(SUDOERS_FILE, render_sudoers(options, units), 0o440,
                                 check=("visudo", "-cf")))
    files.append(PlannedFile(NGINX_SITE, render_site(
        options, webhook_body_bytes=config.webhook.max_body_bytes,
        api_body_bytes=config.api.max_body_bytes), 0o644))
    files.append(PlannedFile(options.env_file, _environment_file(config), 0o600,
                             keep_existing=True))

    for target in targets:
        if not _is_local(target):
            continue
        if target.restart is not None and restarted_unit(target) is None:
            notes.append(f"{target.name}: its restart command ({target.restart}) is not a "
                         "systemctl call, so no privilege is granted for it; it runs as "
                         f"{options.user}")
        if target.kind.scheduler == "systemd":
            notes.append(f"{target.name}: scheduler: systemd writes units as root; under this "
                         "setup use scheduler: builtin (run by Fraisier as "
                         f"{options.user})")
    if "127.0.0.1" not in {str(n).split("/")[0] for n in config.webhook.trusted_proxies}:
        notes.append("webhook.trusted_proxies does not list 127.0.0.1: behind nginx every "
                     "request would count as one source for the rate limit")
    return Plan(files=files, directories=writable, notes=notes)
