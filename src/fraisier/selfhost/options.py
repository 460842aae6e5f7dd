"""What `fraisier setup` is told about the machine, and the paths it derives from that."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SetupOptions:
    """Choices for the files `fraisier setup` writes; every default is the usual layout."""

    config_path: Path  # absolute path of fraises.yaml, as the units will pass it to -c
    executable: Path  # the `fraisier` console script the units run
    user: str = "fraisier"
    group: str = "fraisier"
    listen_host: str = "127.0.0.1"  # where `fraisier serve` binds, behind nginx
    listen_port: int = 8080
    server_name: str = "fraisier.example.com"
    https_port: int = 443
    http_port: int | None = 80  # None: no plain-HTTP server redirecting to HTTPS
    ipv6: bool = True  # nginx also listens on [::]
    tls_certificate: Path | None = None  # default: Let's Encrypt's path for server_name
    tls_certificate_key: Path | None = None
    separate_worker: bool = False  # serve --no-worker + fraisier-worker + fraisier-scheduler
    env_file: Path = Path("/etc/fraisier/fraisier.env")
    systemctl: Path = Path("/usr/bin/systemctl")
    sudo: Path = Path("/usr/bin/sudo")

    @property
    def certificate(self) -> Path:
        return self.tls_certificate or Path(
            f"/etc/letsencrypt/live/{self.server_name}/fullchain.pem")

    @property
    def certificate_key(self) -> Path:
        return self.tls_certificate_key or Path(
            f"/etc/letsencrypt/live/{self.server_name}/privkey.pem")


UNIT_DIR = Path("/etc/systemd/system")
SUDOERS_FILE = Path("/etc/sudoers.d/fraisier")
NGINX_SITE = Path("/etc/nginx/sites-available/fraisier.conf")
STATE_DIRECTORY = "fraisier"  # systemd's StateDirectory=: /var/lib/fraisier
