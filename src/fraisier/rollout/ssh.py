"""Run argv lists on a host: over OpenSSH, or on this machine for the local strategies.

OpenSSH rather than a Python SSH library: it already reads the operator's keys, agent and
known_hosts the way they expect, and its ControlMaster multiplexing gives connection reuse
across all the steps of one deployment with nothing to keep alive in our own process.

Rules kept here:
- host-key checking is always on (`StrictHostKeyChecking=yes` with the configured
  known_hosts) and `BatchMode=yes`, so a prompt can never hang a deployment;
- ssh hands the remote shell one string, so the remote argv is quoted with `shlex.join`;
- values (release dir, commit, ...) travel as a quoted `env NAME=value` prefix; the configured
  environment, which may carry secrets, is written once per deployment to a 0600 file over
  stdin and sourced by each command, so it never appears on any command line;
- every remote command has a timeout (the local ssh process group is killed), and
  `ConnectTimeout` bounds the connection to a host that stopped answering.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fraisier.engine.process import CommandNotFound, ProcessResult, run_command

if TYPE_CHECKING:
    from fraisier.config.rollouts import HostConfig, SshConfig

SSH_UNREACHABLE = 255  # ssh's own exit status for connection and authentication errors


class HostUnreachable(Exception):
    """The host could not be reached (connection refused, timed out, key rejected)."""


class LocalExecutor:
    """Commands on this machine, same interface as SshExecutor."""

    name = "local"

    def __init__(self, base_env: Mapping[str, str] | None = None):
        self.private_env: dict[str, str] = {}
        self.base_env = dict(base_env or {})  # laid over the base of engine.process

    def connect(self) -> None:
        """Nothing to connect to: the commands run on this machine."""

    def put_env(self, values: Mapping[str, str], env_file: str) -> None:
        self.private_env = dict(values)

    def run(self, argv: Sequence[str], *, cwd: str | None = None,
            env: Mapping[str, str] | None = None, timeout: float,
            stdin_data: bytes | None = None, on_line: Callable[[str], None] | None = None,
            cancel: threading.Event | None = None) -> ProcessResult:
        full_env = {**self.base_env, **self.private_env, **(env or {})}
        try:
            return run_command(list(argv), cwd=cwd or "/", env=full_env, timeout=timeout,
                               on_line=on_line, cancel=cancel, stdin_data=stdin_data)
        except CommandNotFound as exc:
            return ProcessResult(list(argv), 127, str(exc), 0.0)

    def close(self) -> None:
        pass


class SshExecutor:
    """One host over ssh, multiplexed through a control socket private to one deployment."""

    def __init__(self, host: HostConfig, ssh: SshConfig, control_dir: Path) -> None:
        self.host = host
        self.ssh = ssh
        self.name = host.name
        # Unix socket paths are short (~100 bytes): name the socket by a digest, not the host.
        digest = hashlib.sha256(f"{host.name}|{host.address}|{host.port}".encode()).hexdigest()
        self.control_path = str(control_dir / f"{digest[:16]}.sock")
        self.env_file: str | None = None
        self._master_started = False

    # -- argv -------------------------------------------------------------------------
    def base_argv(self) -> list[str]:
        argv = [self.ssh.binary, "-T",
                "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=yes",
                "-o", f"ConnectTimeout={int(max(1, self.ssh.connect_timeout))}",
                "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=2",
                "-o", f"ControlPath={self.control_path}",
                "-p", str(self.host.port)]
        if self.ssh.known_hosts is not None:
            argv += ["-o", f"UserKnownHostsFile={self.ssh.known_hosts}",
                     "-o", "GlobalKnownHostsFile=/dev/null"]
        if self.ssh.identity_file is not None:
            argv += ["-i", str(self.ssh.identity_file), "-o", "IdentitiesOnly=yes"]
        if self.host.user:
            argv += ["-l", self.host.user]
        for option in self.ssh.options:
            argv += ["-o", option]
        return argv

    def remote_line(self, argv: Sequence[str], cwd: str | None,
                    env: Mapping[str, str] | None, timeout: float | None = None) -> str:
        """The one string ssh hands to the remote shell: every part quoted."""
        parts = []
        if cwd:
            parts.append(f"cd {shlex.quote(cwd)} &&")
        if self.env_file:
            # `set -a` exports what the file sets; the file holds `NAME='value'` lines.
            parts.append(f"set -a && . {shlex.quote(self.env_file)} && set +a &&")
        parts.append("exec")
        if timeout is not None:
            # Killing the local ssh client does not stop the remote command (no tty, no
            # SIGHUP): the host enforces the same limit, a little later than we do.
            parts.append(f"timeout -k 5 {int(timeout) + 5}")
        if env:
            parts.append("env " + " ".join(shlex.quote(f"{k}={v}") for k, v in env.items()))
        parts.append(shlex.join([str(a) for a in argv]))
        return " ".join(parts)

    # -- connection -----------------------------------------------------------------
    def connect(self) -> None:
        """Start the shared master connection (once); later commands ride on it."""
        if self._master_started:
            return
        if shutil.which(self.ssh.binary) is None and not os.path.exists(self.ssh.binary):
            raise HostUnreachable(f"{self.name}: ssh client {self.ssh.binary!r} not found")
        argv = self.base_argv() + ["-o", "ControlMaster=yes", "-o", "ControlPersist=yes",
                                   "-N", "-f", "--", self.host.address]
        # The master goes to the background holding its stderr: give it a file, not a pipe,
        # or reading its output would wait for the master to exit.
        with tempfile.TemporaryFile() as errors:
            try:
                done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=errors, timeout=self.ssh.connect_timeout + 10,
                                      start_new_session=True)
            except subprocess.TimeoutExpired:
                raise HostUnreachable(f"{self.name}: ssh connection timed out") from None
            errors.seek(0)
            detail = errors.read().decode("utf-8", "replace").strip()
        if done.returncode != 0:
            raise HostUnreachable(f"{self.name} ({self.host.address}:{self.host.port}) "
                                  f"unreachable: {detail or f'ssh exited {done.returncode}'}")
        self._master_started = True

    def close(self) -> None:
        if not self._master_started:
            return
        self._master_started = False
        subprocess.run(self.base_argv() + ["-O", "exit", "--", self.host.address],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=15, check=False)
        # The master acknowledges before it exits: wait (briefly) until it is really gone.
        deadline = time.monotonic() + 5
        while os.path.exists(self.control_path) and time.monotonic() < deadline:
            time.sleep(0.01)

    # -- commands -------------------------------------------------------------------
    def run(self, argv: Sequence[str], *, cwd: str | None = None,
            env: Mapping[str, str] | None = None, timeout: float,
            stdin_data: bytes | None = None, on_line: Callable[[str], None] | None = None,
            cancel: threading.Event | None = None) -> ProcessResult:
        self.connect()
        ssh_argv = self.base_argv() + ["-o", "ControlMaster=no", "--", self.host.address,
                                       self.remote_line(argv, cwd, env, timeout)]
        result = run_command(ssh_argv, cwd="/", env={}, timeout=timeout, on_line=on_line,
                             cancel=cancel, stdin_data=stdin_data, tool=True)
        result.argv = list(argv)
        if result.returncode == SSH_UNREACHABLE and not (result.timed_out or result.cancelled):
            raise HostUnreachable(f"{self.name}: ssh failed: {result.output_tail[-500:]}")
        return result

    def put_env(self, values: Mapping[str, str], env_file: str) -> None:
        """Write the private environment to a 0600 file on the host, through stdin."""
        content = "".join(f"{key}={shlex.quote(value)}\n" for key, value in values.items())
        self.env_file = None  # not sourced while it is being written
        script = ('umask 077 && mkdir -p "$(dirname "$1")" && cat > "$1.tmp" '
                  '&& chmod 600 "$1.tmp" && mv -f "$1.tmp" "$1"')
        result = self.run(["sh", "-c", script, "sh", env_file], timeout=60,
                          stdin_data=content.encode())
        if not result.ok:
            raise RuntimeError(f"{self.name}: could not write the environment file: "
                               f"{result.describe()}: {result.output_tail[-300:]}")
        self.env_file = env_file


def control_dir() -> Path:
    """A private directory for this deployment's control sockets (short path: socket limits)."""
    return Path(tempfile.mkdtemp(prefix="fraisier-ssh-", dir="/tmp"))
