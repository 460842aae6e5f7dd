"""Checks that span sections of the file, run once every section is well-formed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fraisier.config.errors import Problem
from fraisier.config.kinds import kind_problems

if TYPE_CHECKING:
    from fraisier.config.model import FraisierConfig


def reference_problems(config: FraisierConfig) -> list[Problem]:
    """Checks that span sections: each needs the whole file to be well-formed first."""
    problems: list[Problem] = []
    env_names: set[str] = set()
    owner_of_app_path: dict[Path, tuple[Any, ...]] = {}

    for fraise_name, fraise in config.fraises.items():
        for env_name, env in fraise.environments.items():
            env_names.add(env_name)
            loc = ("fraises", fraise_name, "environments", env_name)
            defaults = config.environments.get(env_name)
            if env.branch is None and (defaults is None or defaults.branch is None):
                problems.append(Problem.at(
                    (*loc, "branch"),
                    f"required key is missing (set it here or in environments.{env_name}.branch)",
                ))
            danger = app_path_danger(env.app_path, config, fraise.repository)
            if danger:
                problems.append(Problem.at((*loc, "app_path"), danger))
            other = owner_of_app_path.setdefault(env.app_path, loc)
            if other != loc:
                problems.append(Problem.at(
                    (*loc, "app_path"),
                    f"same app_path as {'.'.join(other)}: two targets cannot share a directory",
                ))

    for fraise_name, fraise in config.fraises.items():
        problems.extend(Problem.at(loc, message) for loc, message in kind_problems(fraise_name, fraise))
        problems.extend(_migration_problems(config, fraise_name, fraise))

    for env_name in config.environments:
        if env_name not in env_names:
            problems.append(Problem.at(
                ("environments", env_name),
                f"no fraise has an environment named {env_name!r}",
            ))

    for branch, targets in config.branch_mapping.items():
        for index, mapped in enumerate(targets):
            mapping_loc = ("branch_mapping", branch, index)
            mapped_fraise = config.fraises.get(mapped.fraise)
            if mapped_fraise is None:
                known = ", ".join(config.fraises) or "none"
                problems.append(Problem.at(
                    (*mapping_loc, "fraise"), f"unknown fraise {mapped.fraise!r} (known: {known})"
                ))
            elif mapped.environment not in mapped_fraise.environments:
                known = ", ".join(mapped_fraise.environments)
                problems.append(Problem.at(
                    (*mapping_loc, "environment"),
                    f"fraise {mapped.fraise!r} has no environment {mapped.environment!r} "
                    f"(it has: {known})",
                ))
    return problems


def _migration_problems(config: FraisierConfig, fraise_name: str, fraise: Any) -> list[Problem]:
    """A migration preset runs on the machine that deploys, in the release's directory; a
    rollout (hosts, blue-green, canary) migrates on a host or in the packaged tree with the
    raw commands, so the two are refused together rather than half-supported."""
    from fraisier.config.resolve import _migrate
    from fraisier.config.rollouts import rollout_of

    problems: list[Problem] = []
    for env_name, env in fraise.environments.items():
        migrate = _migrate(config.environments.get(env_name), fraise, env)
        if migrate is not None and migrate.rehearse and not migrate.preset:
            problems.append(Problem.at(
                ("fraises", fraise_name, "environments", env_name, "migrate", "rehearse"),
                "migrate.rehearse needs a tool preset (alembic, confiture or django) without "
                "a raw migrate.up: only a preset can be pointed at a scratch database",
            ))
        if migrate is None or not migrate.preset or rollout_of(env) is None:
            continue
        problems.append(Problem.at(
            ("fraises", fraise_name, "environments", env_name, "migrate", "tool"),
            f"migrate.tool {migrate.tool} cannot be used with a rollout (hosts or strategy): "
            "a rollout runs the raw migrate.up / migrate.down / migrate.status commands; "
            "write those instead",
        ))
    return problems


# Fraisier creates, switches and prunes `releases/` and `current` under app_path, and removes
# what it created when it undoes a deployment: the directory must belong to the app alone.
_SYSTEM_DIRS = frozenset(Path(p) for p in (
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/media", "/mnt",
    "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/bin",
    "/usr/lib", "/usr/local", "/usr/local/bin", "/usr/sbin", "/usr/share", "/var", "/var/lib",
    "/var/log", "/var/tmp", "/var/www",
))
# Trees the operating system owns: nothing is deployed inside them.
_SYSTEM_TREES = tuple(Path(p) for p in (
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/sbin", "/sys",
    "/usr/bin", "/usr/lib", "/usr/sbin",
))


def app_path_danger(app_path: Path, config: FraisierConfig, repository: str) -> str | None:
    """Why `app_path` must not hold a fraise's releases, or None when it may."""
    path = _real(app_path)
    if path in _SYSTEM_DIRS or path in {_real(Path(p)) for p in _SYSTEM_DIRS}:
        return f"{app_path} is a system directory; use a directory of the app's own, e.g. /srv/NAME"
    for tree in _SYSTEM_TREES:
        if path.is_relative_to(tree):
            return f"{app_path} is inside {tree}, which the operating system owns"
    if path == _real(Path.home()):
        return f"{app_path} is the home directory; use a directory of the app's own inside it"
    # (what, its directory, whether app_path may lie inside it)
    owned: list[tuple[str, Path, bool]] = [
        ("the directory of the configuration file", config.config_dir, True)]
    if config.data_dir is not None:
        owned.append(("Fraisier's data directory (data_dir)", config.data_dir, False))
    sqlite_path = config.state.sqlite_path
    if sqlite_path is not None:
        owned.append(("the directory of the state database", sqlite_path.parent, True))
    local_repository = _local_repository(repository)
    if local_repository is not None:
        owned.append(("the fraise's repository", local_repository, False))
    for what, directory, inside_allowed in owned:
        other = _real(directory)
        if path == other:
            return f"{app_path} is {what}; releases need a directory of their own"
        if other.is_relative_to(path):
            return f"{app_path} contains {what} ({other}); releases need a directory of their own"
        if not inside_allowed and path.is_relative_to(other):
            return f"{app_path} is inside {what} ({other})"
    return None


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _local_repository(repository: str) -> Path | None:
    from fraisier.config.fields import is_remote_repository

    if repository.startswith("file://"):
        return Path(urlsplit(repository).path)
    if is_remote_repository(repository):
        return None
    return Path(repository)
