"""Checks of one deployable environment: its repository and branch, app path, restart,
health check, hosts, webhook secrets and disk space."""

from __future__ import annotations

import fnmatch
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from fraisier.config.commands import systemctl_argv
from fraisier.doctor.result import Check, failed, passed
from fraisier.doctor.state import first_line

if TYPE_CHECKING:
    from fraisier.config.resolve import Target

MIN_SECRET_LENGTH = 32
SECRET_KEYS = ("webhook_secret", "secret_token", "signing_token")
PROVIDERS = ("github", "gitlab", "gitea", "forgejo", "bitbucket")
# Where systemd looks for units when SYSTEMD_UNIT_PATH does not say otherwise.
DEFAULT_UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
                     "/usr/lib/systemd/system", "/lib/systemd/system")


def check_repositories(targets: Iterable[Target]) -> list[Check]:
    """One `git ls-remote` per repository; then each environment's branch in its answer."""
    from fraisier.api.redact import redact_url
    from fraisier.engine.git import GitError, remote_heads

    results: list[Check] = []
    answers: dict[str, dict[str, str] | str] = {}
    for target in targets:
        shown = redact_url(target.repository)
        if target.repository not in answers:
            try:
                answers[target.repository] = remote_heads(target.repository)
            except GitError as exc:
                answers[target.repository] = first_line(exc)
        heads = answers[target.repository]
        if isinstance(heads, str):
            results.append(failed(
                "repository", f"{shown}: not reachable: {heads}",
                "check the URL and the credentials of the fraisier user (its SSH key or "
                "credential helper); `git ls-remote` must work without a prompt", target.name))
            continue
        matching = sorted(name for name in heads if fnmatch.fnmatchcase(name, target.branch))
        if not matching:
            results.append(failed(
                "repository", f"{shown}: no branch matches {target.branch!r}",
                "push the branch, or fix `branch:` of this environment", target.name))
            continue
        results.append(passed("repository", f"{shown}: branch {matching[0]} at "
                              f"{heads[matching[0]][:12]}", target.name))
    return results


def _existing_ancestor(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_app_path(target: Target) -> Check:
    app_path = target.app_path
    probe_dir = _existing_ancestor(app_path)
    if not probe_dir.is_dir():
        return failed("app_path", f"{app_path}: {probe_dir} is not a directory",
                      "choose an app_path whose parents are directories", target.name)
    try:
        # Creating a file is the test: permissions, read-only mounts and immutable
        # directories all refuse it; os.access() misses the last two.
        with tempfile.NamedTemporaryFile(dir=probe_dir, prefix=".fraisier-doctor-"):
            pass
    except OSError as exc:
        where = "" if probe_dir == app_path else f" (its nearest existing parent {probe_dir})"
        return failed("app_path", f"{app_path}{where} is not writable: {exc.strerror}",
                      f"install -d -o fraisier -g fraisier {app_path}", target.name)
    releases = app_path / "releases"
    if releases.exists() and os.stat(releases).st_dev != os.stat(app_path).st_dev:
        return failed("app_path", f"{releases} is on another file system than {app_path}/current",
                      "keep releases/ inside app_path on one file system: switching `current` "
                      "is atomic only within one", target.name)
    return passed("app_path", f"{app_path}: writable"
                  + (", releases/ and current on one file system" if releases.exists() else
                     " (created by the first deployment)"), target.name)


def _unit_dirs() -> list[str]:
    configured = os.environ.get("SYSTEMD_UNIT_PATH")
    if not configured:
        return list(DEFAULT_UNIT_DIRS)
    dirs = configured.split(":")
    # systemd's rule: a trailing ":" appends the default search path.
    return [d for d in dirs if d] + (list(DEFAULT_UNIT_DIRS) if configured.endswith(":") else [])


def check_restart(target: Target) -> Check | None:
    if target.restart is None:
        return None
    argv = target.restart.argv
    systemctl = systemctl_argv()
    if not target.restart.shell and argv[:len(systemctl)] == systemctl and len(argv) > len(systemctl) + 1:
        unit = argv[-1]
        name = unit if "." in unit.rsplit("@", 1)[-1] else f"{unit}.service"
        template = name.split("@", 1)[0] + "@." + name.rsplit(".", 1)[1] if "@" in name else None
        for directory in _unit_dirs():
            for candidate in filter(None, (name, template)):
                if (Path(directory) / candidate).is_file():
                    return passed("restart", f"unit {name} found in {directory}", target.name)
        return failed("restart", f"unit {name} not found in {', '.join(_unit_dirs())}",
                      "install the unit file of the service, or fix systemd_service", target.name)
    program = argv[0] if not target.restart.shell else "/bin/sh"
    found = shutil.which(program) or (program if os.access(program, os.X_OK) else None)
    if found is None:
        return failed("restart", f"{program!r} not found on PATH",
                      "install it or fix `restart:`", target.name)
    return passed("restart", f"{program} found", target.name)


def check_health(target: Target) -> Check | None:
    check = target.health_check
    if check is None:
        return None
    from fraisier.engine.health import probe_live

    ok, detail = probe_live(target)
    if ok:
        return passed("health check", detail, target.name)
    return failed("health check", detail,
                  "start the service (or deploy it first), or fix health_check", target.name)


def check_hosts(target: Target) -> list[Check]:
    rollout = target.rollout
    if rollout is None or not rollout.hosts:
        return []
    import subprocess

    from fraisier.rollout.ssh import SshExecutor

    results = []
    with tempfile.TemporaryDirectory(prefix="fraisier-doctor-") as control:
        for host in rollout.hosts:
            argv = [*SshExecutor(host, rollout.ssh, Path(control)).base_argv(), "--",
                    host.address, "true"]
            pinned = rollout.ssh.known_hosts or "~/.ssh/known_hosts"
            try:
                done = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                      timeout=rollout.ssh.connect_timeout + 10)
                problem = None if done.returncode == 0 else (done.stderr.strip().splitlines()
                                                            or [f"ssh exited {done.returncode}"])[-1]
            except (OSError, subprocess.TimeoutExpired) as exc:
                problem = first_line(exc)
            where = f"host {host.name} ({host.address}:{host.port})"
            if problem is None:
                results.append(passed("ssh", f"{where}: reachable, host key pinned in {pinned}",
                                      target.name))
            else:
                results.append(failed(
                    "ssh", f"{where}: {problem}",
                    f"add the host's key to {pinned} (ssh-keyscan -p {host.port} {host.address},"
                    " then compare its fingerprint out of band) and authorize the fraisier "
                    "user's key on the host", target.name))
    return results


def check_secrets(target: Target) -> Check:
    set_secrets = []
    for provider in PROVIDERS:
        secrets = target.secrets.provider(provider)
        for key in SECRET_KEYS:
            value = getattr(secrets, key)
            if value is not None:
                text = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
                set_secrets.append((f"git.{provider}.{key}", len(text)))
    if not set_secrets:
        return failed("webhook secret", "no webhook secret is set: every webhook is refused",
                      "set git.<provider>.webhook_secret (from an environment variable) to a "
                      "random value of at least 32 characters", target.name)
    short = [name for name, length in set_secrets if length < MIN_SECRET_LENGTH]
    if short:
        return failed("webhook secret", f"shorter than {MIN_SECRET_LENGTH} characters: "
                      + ", ".join(short),
                      "use python3 -c 'import secrets; print(secrets.token_hex(32))'",
                      target.name)
    return passed("webhook secret", ", ".join(name for name, _ in set_secrets) + ": set, "
                  f"at least {MIN_SECRET_LENGTH} characters", target.name)


def tree_size(path: Path) -> int:
    """Bytes a copy of `path` would take: its files' sizes (a release is written whole)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def check_disk(target: Target) -> Check:
    app_path = target.app_path
    current = app_path / "current"
    probe = _existing_ancestor(app_path)
    free = shutil.disk_usage(probe).free
    if not current.is_dir():
        return passed("disk space", f"{_human(free)} free (no release yet to measure)",
                      target.name)
    release = tree_size(current.resolve())
    releases = app_path / "releases"
    on_disk = len([p for p in releases.iterdir() if p.is_dir()]) if releases.is_dir() else 1
    # Room to grow to keep_releases + 1 (the new one is built before the oldest goes).
    needed = max(release, release * (target.keep_releases + 1 - on_disk))
    if free < needed:
        return failed("disk space", f"{_human(free)} free; a release is {_human(release)}, "
                      f"keep_releases {target.keep_releases} needs {_human(needed)} more",
                      "free space on that file system, or lower keep_releases", target.name)
    return passed("disk space", f"{_human(free)} free; a release is {_human(release)} "
                  f"(keep_releases {target.keep_releases})", target.name)


def _human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} PiB"

