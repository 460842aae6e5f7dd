"""Real sshd instances on loopback, each standing in for one remote host.

Every server has its own temporary host key and port; one temporary client key is
authorized on all of them, and a known_hosts file lists their host keys, so the client
runs with strict host-key checking exactly as in production.
"""

from __future__ import annotations

import os
import pwd
import signal
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from fraisier.demo.workspace import free_port
from tests.support.waiting import children_of, wait_for

SSHD = "/usr/sbin/sshd"


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fraisier-test",
                    "-f", str(path)], check=True, capture_output=True)



def kill_tree(pid: int) -> None:
    """Stop a process and every descendant (sshd keeps one child per connection)."""
    for child in children_of(pid):
        kill_tree(child)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@dataclass
class SshHost:
    name: str
    port: int
    base: Path  # this host's "disk": its app_path lives under it
    config: Path
    process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.config)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(self._listening, 60, f"sshd {self.name} to listen on {self.port}")

    def _listening(self) -> bool:
        assert self.process is not None and self.process.stderr is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"sshd {self.name} exited: "
                               + self.process.stderr.read().decode(errors="replace"))
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        """Kill the server and its per-connection children: the host is gone."""
        if self.process is not None:
            kill_tree(self.process.pid)
            self.process.wait(timeout=10)
            if self.process.stderr:
                self.process.stderr.close()
            self.process = None


@dataclass
class SshFleet:
    root: Path
    identity: Path
    known_hosts: Path
    user: str
    hosts: list[SshHost] = field(default_factory=list)

    def stop(self) -> None:
        for host in self.hosts:
            host.stop()


def start_fleet(root: Path, names: list[str]) -> SshFleet:
    root.mkdir(parents=True, exist_ok=True)
    identity = root / "client_key"
    _keygen(identity)
    authorized = root / "authorized_keys"
    authorized.write_text((root / "client_key.pub").read_text())
    authorized.chmod(0o600)
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation dir
    user = pwd.getpwuid(os.geteuid()).pw_name
    fleet = SshFleet(root=root, identity=identity, known_hosts=root / "known_hosts", user=user)
    known = []
    try:
        for name in names:
            host_dir = root / name
            host_dir.mkdir()
            host_key = host_dir / "host_key"
            _keygen(host_key)
            port = free_port()
            config = host_dir / "sshd_config"
            config.write_text("\n".join([
                f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {host_key}",
                f"PidFile {host_dir / 'sshd.pid'}", f"AuthorizedKeysFile {authorized}",
                "PasswordAuthentication no", "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes", "PermitRootLogin prohibit-password",
                "StrictModes no", "UsePAM no", "MaxSessions 50", "MaxStartups 50",
                "LogLevel ERROR", "",
            ]))
            host = SshHost(name=name, port=port, base=host_dir / "disk", config=config)
            host.base.mkdir()
            fleet.hosts.append(host)
            host.start()
            known.append(f"[127.0.0.1]:{port} {(host_dir / 'host_key.pub').read_text().strip()}")
        fleet.known_hosts.write_text("\n".join(known) + "\n")
    except BaseException:
        fleet.stop()
        raise
    return fleet
