"""Run every check that applies, in the order a person would fix things: configuration,
state database, exposure, then each environment."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fraisier.doctor.exposure import SERVE_DEFAULT_HOST, check_exposure, host_of_installed_unit
from fraisier.doctor.result import Check, Status, failed, passed
from fraisier.doctor.state import check_state
from fraisier.doctor.targets import (
    _unit_dirs,
    check_app_path,
    check_disk,
    check_health,
    check_hosts,
    check_repositories,
    check_restart,
    check_secrets,
)

if TYPE_CHECKING:
    from fraisier.config import FraisierConfig

__all__ = ["Check", "Status", "run_doctor"]


def check_secret_references(config: FraisierConfig) -> Check | None:
    """Every `${secret:...}` reference fetched (none: the file has no reference)."""
    from fraisier.secrets import check_references

    count, failures = check_references(config)
    if count == 0:
        return None
    if failures:
        return failed("secret references", "; ".join(failures),
                      "fix each reference or its backend (docs/secrets.md); `fraisier validate "
                      "--resolve` lists the same")
    return passed("secret references", f"{count} reference(s) fetched")


def run_doctor(config_path: str | Path, *, fraise: str | None = None,
               environment: str | None = None, listen: str | None = None) -> list[Check]:
    from fraisier.config import ConfigError, UnknownTarget, load_config

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        problems = getattr(exc, "problems", None) or [str(exc)]
        return [failed("configuration", "; ".join(str(p) for p in problems),
                       "fix the file (`fraisier validate` lists each problem with its line)")]
    results = [passed("configuration", f"{config.config_path}: valid")]
    references = check_secret_references(config)
    if references is not None:
        results.append(references)
        if references.status == Status.PASS:
            # The webhook secrets' own checks look at the values, not at the references.
            from fraisier.secrets import resolve_webhook_secrets

            config = resolve_webhook_secrets(config)
    try:
        if fraise is not None and environment is not None:
            targets = [config.target(fraise, environment)]
        elif fraise is not None:
            targets = [t for t in config.targets() if t.fraise == fraise]
            if not targets:
                config.target(fraise, "")  # raises with the list of fraises
        else:
            targets = list(config.targets())
    except UnknownTarget as exc:
        return [*results, failed("target", str(exc), "name a configured fraise and environment")]

    results += check_state(config.state.url)
    if listen is None:
        installed = host_of_installed_unit(_unit_dirs())
        host, source = ((installed, "installed fraisier.service") if installed is not None
                        else (SERVE_DEFAULT_HOST, "serve's default"))
    else:
        host, source = listen, "--listen"
    results.append(check_exposure(config, host, source))
    local = [t for t in targets if t.rollout is None or not t.rollout.hosts]
    results += check_repositories(targets)
    for target in targets:
        results.append(check_secrets(target))
        if target in local:
            results.append(check_app_path(target))
            results.append(check_disk(target))
            results += [c for c in (check_restart(target), check_health(target)) if c]
        else:
            results += check_hosts(target)
            health = check_health(target)
            if health is not None:
                results.append(health)
    return results
