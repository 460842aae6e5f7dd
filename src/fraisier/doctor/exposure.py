"""Who can reach the API: `fraisier serve` bound beyond loopback while reading needs no token
(`api.anonymous_read`) is worth a warning."""

from __future__ import annotations

import ipaddress
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from fraisier.doctor.result import Check, passed, warned

if TYPE_CHECKING:
    from fraisier.config.model import FraisierConfig

SERVE_DEFAULT_HOST = "127.0.0.1"


def host_of_installed_unit(unit_dirs: list[str]) -> str | None:
    """The --host of `fraisier serve` in an installed fraisier.service, if there is one."""
    for directory in unit_dirs:
        unit = Path(directory) / "fraisier.service"
        if not unit.is_file():
            continue
        for line in unit.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("ExecStart="):
                argv = shlex.split(line.removeprefix("ExecStart=").replace("$$", "$"))
                if "--host" in argv[:-1]:
                    return argv[argv.index("--host") + 1]
                return SERVE_DEFAULT_HOST
    return None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: assume it resolves beyond this machine


def check_exposure(config: FraisierConfig, host: str, source: str) -> Check:
    if is_loopback(host):
        return passed("api exposure", f"serve binds {host} ({source}): loopback only")
    if config.api.anonymous_read:
        return warned("api exposure",
                      f"serve binds {host} ({source}) and api.anonymous_read lets anyone who "
                      "reaches it read deployments, logs and webhooks without a token",
                      "bind 127.0.0.1 behind the nginx site of `fraisier setup`, or set "
                      "api.anonymous_read: false")
    return passed("api exposure", f"serve binds {host} ({source}); every request needs a token")
