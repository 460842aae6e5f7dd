"""The systemd units that run Fraisier itself: `fraisier serve`, and when chosen a separate
`fraisier worker` and `fraisier scheduler`.

Each unit runs as the unprivileged `fraisier` user with the file system read-only except the
state directory, the app paths and backup directories of fraises.yaml. The one unit that runs
deployments needs `sudo` to restart the configured services; sudo is setuid, so that unit
cannot have `NoNewPrivileges=yes` — the sudoers drop-in is what bounds it. Units that never
restart anything (serve with a separate worker, the scheduler) keep `NoNewPrivileges=yes`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from fraisier.selfhost.options import STATE_DIRECTORY, SetupOptions

HEADER = "# Written by `fraisier setup`; `fraisier setup --check` compares it with what it would write.\n"


def quote(argument: str) -> str:
    """One ExecStart= argument, passed exactly as written (specifiers and $ escaped)."""
    escaped = argument.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return '"' + escaped.replace("$", "$$") + '"'


def exec_line(argv: Iterable[str]) -> str:
    return " ".join(quote(argument) for argument in argv)


def render_unit(options: SetupOptions, *, description: str, command: list[str],
                writable: list[Path], restarts_services: bool, stop_seconds: int) -> str:
    argv = [str(options.executable), "-c", str(options.config_path), *command]
    lines = [
        HEADER,
        "[Unit]",
        f"Description={description}",
        "After=network-online.target",
        "Wants=network-online.target",
        "",
        "[Service]",
        "Type=exec",
        f"User={options.user}",
        f"Group={options.group}",
        f"ExecStart={exec_line(argv)}",
        # SIGHUP reloads fraises.yaml and .env (a bad file is refused and logged).
        "ExecReload=/bin/kill -HUP $MAINPID",
        # Secrets for ${VAR} references: root-owned, 0600, read by systemd, not by Fraisier.
        f"EnvironmentFile={options.env_file}",
        f"StateDirectory={STATE_DIRECTORY}",
        "StateDirectoryMode=0750",
        f"WorkingDirectory=/var/lib/{STATE_DIRECTORY}",
        "UMask=0027",
        "ProtectSystem=strict",
        "ProtectHome=read-only",
        *(f"ReadWritePaths={path}" for path in writable),
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectControlGroups=yes",
        "LockPersonality=yes",
    ]
    if restarts_services:
        lines += [
            "# sudo is setuid: NoNewPrivileges=yes would stop it. /etc/sudoers.d/fraisier allows",
            "# only systemctl start|stop|restart|reload of the units named in fraises.yaml.",
            "NoNewPrivileges=no",
            f"Environment=\"FRAISIER_SYSTEMCTL={options.sudo} -n {options.systemctl}\"",
        ]
    else:
        lines.append("NoNewPrivileges=yes")
    lines += [
        "Restart=on-failure",
        "RestartSec=5s",
        # SIGTERM to Fraisier only: it lets running deployments finish (worker
        # shutdown_grace_seconds) before systemd kills what is left.
        "KillMode=mixed",
        f"TimeoutStopSec={stop_seconds}",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ]
    return "\n".join(lines)
