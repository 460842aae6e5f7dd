"""A real nginx on a loopback port, with its whole state in a temporary directory."""

from __future__ import annotations

import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.waiting import wait_for

NGINX = "/usr/sbin/nginx"

CONFIG = """\
{user}
worker_processes 1;
events {{ worker_connections 512; }}
http {{
    access_log off;
    include {upstream_file};
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://{upstream};
            proxy_connect_timeout 2s;
        }}
    }}
}}
"""


@dataclass
class NginxServer:
    prefix: Path
    port: int
    upstream_file: Path
    process: subprocess.Popen | None = None

    @property
    def conf(self) -> Path:
        return self.prefix / "nginx.conf"

    @property
    def pid_file(self) -> Path:
        return self.prefix / "nginx.pid"

    def argv(self, *extra: str) -> list[str]:
        globals_ = f"daemon off; pid {self.pid_file}; error_log stderr;"
        return [NGINX, "-p", str(self.prefix), "-c", str(self.conf), "-g", globals_, *extra]

    def start(self) -> None:
        with open(self.prefix / "stderr.log", "wb") as stderr:
            self.process = subprocess.Popen(self.argv(), stdout=subprocess.DEVNULL, stderr=stderr)
        wait_for(self._listening, 60, f"nginx to listen on {self.port}")

    def _listening(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError("nginx exited: " + (self.prefix / "stderr.log").read_text())
        if not self.pid_file.exists():
            return False
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # SIGTERM: fast shutdown of master and workers
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            self.process = None

    def lb_config(self) -> dict:
        """The load_balancer section of fraises.yaml that drives this nginx."""
        return {"nginx": {"upstream_file": str(self.upstream_file), "upstream": "app",
                          "test": self.argv("-t"), "reload": self.argv("-s", "reload"),
                          "pid_file": str(self.pid_file)}}


def start_nginx(prefix: Path, port: int, first_server: str) -> NginxServer:
    prefix.mkdir(parents=True, exist_ok=True)
    upstream_file = prefix / "upstream.conf"
    upstream_file.write_text(f"upstream app {{\n    server {first_server};\n}}\n")
    user = "user root;" if os.geteuid() == 0 else ""
    server = NginxServer(prefix=prefix, port=port, upstream_file=upstream_file)
    server.conf.write_text(CONFIG.format(user=user, upstream_file=upstream_file, port=port,
                                         upstream="app"))
    server.start()
    return server
