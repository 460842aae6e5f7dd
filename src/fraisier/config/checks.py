"""Checks that span sections of the file, run once every section is well-formed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

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
            other = owner_of_app_path.setdefault(env.app_path, loc)
            if other != loc:
                problems.append(Problem.at(
                    (*loc, "app_path"),
                    f"same app_path as {'.'.join(other)}: two targets cannot share a directory",
                ))

    for fraise_name, fraise in config.fraises.items():
        problems.extend(Problem.at(loc, message) for loc, message in kind_problems(fraise_name, fraise))

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
