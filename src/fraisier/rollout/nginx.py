"""Steer traffic through nginx: rewrite an upstream include file, `nginx -t`, reload.

The include holds one `upstream NAME { ... }` block that the operator's server block
proxies to. The file is written to a temporary name and renamed over the old one, so nginx
never reads half a file; when `nginx -t` rejects the new file, the old one is put back.

A reload returns as soon as the signal is sent, while the old workers still accept requests
for a moment. With the master's pid file configured, `apply` waits until every old worker
has exited, so "switched" means that no request can reach the old upstream any more.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fraisier.engine.process import run_command

if TYPE_CHECKING:
    from fraisier.config.rollouts import NginxConfig


class NginxError(Exception):
    pass


@dataclass(frozen=True)
class Server:
    address: str  # host:port
    weight: int = 1
    down: bool = False

    def line(self) -> str:
        options = []
        if self.weight != 1:
            options.append(f"weight={self.weight}")
        if self.down:
            options.append("down")
        return f"    server {self.address}{''.join(' ' + o for o in options)};"


def render_upstream(name: str, servers: list[Server]) -> str:
    live = [server for server in servers if not server.down]
    if not live:
        raise NginxError(f"upstream {name} would have no server able to take traffic")
    body = "\n".join(server.line() for server in servers)
    return f"# Written by fraisier; changed on every deployment.\nupstream {name} {{\n{body}\n}}\n"


def write_atomically(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temporary, 0o644)  # nginx workers may run as another user
    os.replace(temporary, path)


class Nginx:
    def __init__(self, config: NginxConfig,
                 log: Callable[[str], None] = lambda line: None) -> None:
        self.config = config
        self.log = log

    def current(self) -> str | None:
        try:
            return Path(self.config.upstream_file).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def apply(self, servers: list[Server]) -> None:
        """Point the upstream at `servers` and make nginx use it; all or nothing."""
        path = Path(self.config.upstream_file)
        content = render_upstream(self.config.upstream, servers)
        before = self.current()
        if before == content:
            return
        write_atomically(path, content)
        old_workers = self._workers()
        try:
            self._command("nginx -t", self.config.test.argv)
            self._command("nginx reload", self.config.reload.argv)
        except NginxError:
            # Leave the file as nginx last loaded it, so the next reload changes nothing.
            if before is None:
                path.unlink(missing_ok=True)
            else:
                write_atomically(path, before)
            raise
        self._wait_for_exit(old_workers)
        self.log("nginx upstream " + self.config.upstream + ": "
                 + ", ".join(s.line().strip().removeprefix("server ").rstrip(";")
                             for s in servers))

    def _command(self, label: str, argv: list[str]) -> None:
        result = run_command(argv, cwd="/", env={}, timeout=60, tool=True)
        if not result.ok:
            raise NginxError(f"{label}: {result.describe()}: {result.output_tail[-500:]}")

    # -- waiting for the old workers ---------------------------------------------------
    def _master_pid(self) -> int | None:
        if self.config.pid_file is None:
            return None
        try:
            return int(Path(self.config.pid_file).read_text().strip())
        except (OSError, ValueError):
            return None

    def _workers(self) -> set[int]:
        master = self._master_pid()
        if master is None:
            return set()
        children = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # Field 4 (after the parenthesised command name) is the parent pid.
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                children.add(int(entry.name))
        return children

    def _wait_for_exit(self, pids: set[int]) -> None:
        if not pids:
            return
        deadline = time.monotonic() + self.config.reload_timeout
        while time.monotonic() < deadline:
            alive = {pid for pid in pids if Path(f"/proc/{pid}").exists()
                     and _not_zombie(pid)}
            # The master's cache processes stay; workers are what serve requests.
            if not alive - self._non_workers(alive):
                return
            time.sleep(0.02)
        raise NginxError(f"nginx reload: old workers still running after "
                         f"{self.config.reload_timeout:.0f}s")

    @staticmethod
    def _non_workers(pids: set[int]) -> set[int]:
        kept = set()
        for pid in pids:
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if "worker process" not in title:
                kept.add(pid)
        return kept


def _not_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
