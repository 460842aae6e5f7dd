"""Set up the rolling benchmark: 5 loopback sshd hosts, a sample repository, a fraises.yaml
for Fraisier, and the variables the shell baseline reads. Prints the directory.

    python benchmarks/rolling/setup.py /tmp/bench-rolling      # starts the hosts
    python benchmarks/rolling/setup.py /tmp/bench-rolling stop # stops them
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.rollout.conftest import RESTART, Project, host_entries  # noqa: E402
from tests.support.sshd import kill_tree, start_fleet  # noqa: E402

HOSTS = ["web1", "web2", "web3", "web4", "web5"]


def setup(work: Path) -> None:
    work.mkdir(parents=True)
    fleet = start_fleet(work / "hosts", HOSTS)
    (work / "sshd.pids").write_text("\n".join(str(h.process.pid) for h in fleet.hosts))
    project = Project(work / "project")
    hosts = host_entries(fleet)
    project.write_config({
        "branch": "main", "app_path": str(work / "unused"), "restart": RESTART,
        "timeout": 60, "keep_releases": 3, "env": {"API_SECRET": "not-on-the-command-line"},
        "ssh": {"identity_file": str(fleet.identity), "known_hosts": str(fleet.known_hosts)},
        "health_check": {"url": "http://127.0.0.1:1/unused", "retries": 50,
                         "interval": 0.05, "timeout": 2},
        "hosts": hosts,
        "batch_size": int(os.environ.get("BATCH", "1")),  # hosts worked on at once
    })
    # The baseline script reads the same facts from a shell-sourceable file.
    lines = [f"REPO={shlex.quote(str(project.repo))}",
             f"IDENTITY={shlex.quote(str(fleet.identity))}",
             f"KNOWN_HOSTS={shlex.quote(str(fleet.known_hosts))}",
             f"SSH_USER={shlex.quote(fleet.user)}",
             f"PYTHON={shlex.quote(RESTART[0])}",
             "HOSTS=(" + " ".join(shlex.quote(json.dumps(h)) for h in hosts) + ")"]
    (work / "baseline.env").write_text("\n".join(lines) + "\n")
    (work / "app_paths").write_text("\n".join(h["app_path"] for h in hosts))
    print(work)


def stop(work: Path) -> None:
    for app_path in (work / "app_paths").read_text().split():
        for pid_file in Path(app_path).glob("app*.pid"):
            try:
                os.killpg(int(pid_file.read_text()), signal.SIGKILL)
            except (OSError, ValueError):
                pass
    for pid in (work / "sshd.pids").read_text().split():
        kill_tree(int(pid))


if __name__ == "__main__":
    target = Path(sys.argv[1])
    if sys.argv[2:] == ["stop"]:
        stop(target)
    else:
        setup(target)
