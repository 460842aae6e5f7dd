"""The releases layout on one host, driven through an executor (ssh or local).

    <app_path>/releases/<id>/   one directory per release
    <app_path>/current          -> releases/<id>, switched atomically (`ln -sfn` to a
                                   temporary name, then `mv -T` over `current`)
    <app_path>/.fraisier/       the host's git mirror (release_source: host_git) and the
                                   0600 environment file

Every operation is a constant shell script with the values passed as positional parameters,
so nothing from outside is ever parsed as shell syntax.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from fraisier.engine.process import ProcessResult
from fraisier.engine.saga import StepFailed
from fraisier.rollout.ssh import HostUnreachable, LocalExecutor, SshExecutor

Executor = SshExecutor | LocalExecutor

_ACTIVATE = ('ln -sfn "releases/$2" "$1/.current.tmp" && mv -T "$1/.current.tmp" "$1/current"')
_UNPACK = 'rm -rf "$1" && mkdir -p "$1" && tar -xzf - -C "$1" && mv -T "$1" "$2"'
_GIT_RELEASE = (
    'set -e; mirror="$1/.fraisier/repo.git"; '
    '[ -d "$mirror" ] || git init -q --bare "$mirror"; '
    'git --git-dir="$mirror" fetch -q "$2" "+refs/heads/*:refs/heads/*"; '
    'rm -rf "$3"; mkdir -p "$3"; git --git-dir="$mirror" archive "$4" | tar -x -C "$3"; '
    'mv -T "$3" "$5"'
)


@dataclass
class HostRun:
    """One host taking part in a deployment, and what the deployment did to it."""

    name: str
    executor: Executor | None  # None: an ssh host not connected yet (see Fleet.host)
    app_path: str
    timeout: float
    log: Callable[[str], None]
    env: dict[str, str] = field(default_factory=dict)  # configured: sent in the 0600 file
    exported: dict[str, str] = field(default_factory=dict)  # plain values (slot port, name)
    health_url: str | None = None
    upstream: str | None = None
    previous_release_id: str | None = None
    release_id: str | None = None
    done: list[str] = field(default_factory=list)

    # -- paths ------------------------------------------------------------------------
    @property
    def releases_dir(self) -> str:
        return f"{self.app_path}/releases"

    def release_dir(self, release_id: str) -> str:
        return f"{self.releases_dir}/{release_id}"

    @property
    def env_file(self) -> str:
        return f"{self.app_path}/.fraisier/env"

    def placed_release(self) -> str:
        """The release this deployment put on the host (set once it is placed)."""
        if self.release_id is None:
            raise StepFailed(f"[{self.name}] no release placed on this host yet")
        return self.release_id

    # -- commands ---------------------------------------------------------------------
    def connected(self) -> Executor:
        """The executor its commands go through; Fleet.host sets it before any command."""
        if self.executor is None:
            raise StepFailed(f"[{self.name}] no connection to the host yet")
        return self.executor

    def run(self, label: str, argv: Sequence[str], *, cwd: str | None = None,
            env: Mapping[str, str] | None = None, timeout: float | None = None,
            stdin_data: bytes | None = None, check: bool = True, quiet: bool = False,
            cancel: threading.Event | None = None) -> ProcessResult:
        if not quiet:
            self.log(f"[{self.name}] $ {label}: {' '.join(str(a) for a in argv)}")
        try:
            result = self.connected().run(
                argv, cwd=cwd, env=env, timeout=timeout or self.timeout, stdin_data=stdin_data,
                on_line=None if quiet else (lambda line: self.log(f"[{self.name}] {line}")),
                cancel=cancel)
        except HostUnreachable as exc:
            raise StepFailed(str(exc)) from exc
        if check and not result.ok:
            raise StepFailed(f"[{self.name}] {label}: {result.describe()}"
                             + (f": {result.output_tail[-300:]}" if quiet else ""))
        return result

    def sh(self, label: str, script: str, *args: str,
           stdin_data: bytes | None = None) -> ProcessResult:
        return self.run(label, ["sh", "-c", script, "sh", *args], quiet=True,
                        stdin_data=stdin_data)

    # -- layout -----------------------------------------------------------------------
    def current_release_id(self) -> str | None:
        result = self.sh("read current", 'readlink "$1/current" || true', self.app_path)
        target = result.output_tail.strip().splitlines()
        return target[-1].rsplit("/", 1)[-1] if target and target[-1].strip() else None

    def unpack(self, release_id: str, archive: bytes) -> None:
        self.sh("upload release", _UNPACK, f"{self.releases_dir}/.{release_id}.partial",
                self.release_dir(release_id), stdin_data=archive)

    def git_release(self, repository: str, commit: str, release_id: str) -> None:
        self.sh("fetch release", _GIT_RELEASE, self.app_path, repository,
                f"{self.releases_dir}/.{release_id}.partial", commit,
                self.release_dir(release_id))

    def activate(self, release_id: str) -> None:
        self.sh("activate", _ACTIVATE, self.app_path, release_id)

    def deactivate(self) -> None:
        self.sh("deactivate", 'rm -f "$1/current"', self.app_path)

    def remove(self, release_id: str) -> None:
        self.sh("remove release", 'rm -rf -- "$1" "$2"', self.release_dir(release_id),
                f"{self.releases_dir}/.{release_id}.partial")

    def release_ids(self) -> list[str]:
        result = self.sh("list releases", 'ls -1 "$1" 2>/dev/null || true', self.releases_dir)
        return sorted(line.strip() for line in result.output_tail.splitlines()
                      if line.strip() and not line.startswith("."))
