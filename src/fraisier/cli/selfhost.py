"""`fraisier setup`: the files that run Fraisier itself on a server (systemd units, sudoers
drop-in, nginx TLS site, secrets file), written to a directory, installed, or checked."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from fraisier.cli.context import AppContext


def _default_executable() -> str:
    beside = Path(sys.executable).parent / "fraisier"
    if beside.is_file():
        return str(beside)
    return shutil.which("fraisier") or "/usr/local/bin/fraisier"


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write the files under this directory (as DIR/etc/...).")
@click.option("--install", is_flag=True,
              help="Write the files into place (as root), create the user and directories.")
@click.option("--check", is_flag=True,
              help="Compare what is installed (under --out DIR, else /) with what would be "
                   "written; exit 1 and show the differences when they differ.")
@click.option("--root", "install_root", default="/", hidden=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Where --install writes (/; another directory for a trial run).")
@click.option("--user", default="fraisier", show_default=True,
              help="The unprivileged user Fraisier runs as.")
@click.option("--server-name", default="fraisier.example.com", show_default=True,
              help="nginx server_name (the host name providers send webhooks to).")
@click.option("--https-port", default=443, show_default=True, type=int)
@click.option("--http-port", default=80, show_default=True, type=int,
              help="Plain-HTTP port redirecting to HTTPS (0: none).")
@click.option("--ipv6/--no-ipv6", default=True, show_default=True,
              help="nginx also listens on [::].")
@click.option("--tls-cert", type=click.Path(dir_okay=False, path_type=Path),
              help="Certificate chain (default: Let's Encrypt's path for --server-name).")
@click.option("--tls-key", type=click.Path(dir_okay=False, path_type=Path),
              help="Private key (default: Let's Encrypt's path for --server-name).")
@click.option("--port", "listen_port", default=8080, show_default=True, type=int,
              help="Loopback port `fraisier serve` listens on behind nginx.")
@click.option("--separate-worker", is_flag=True,
              help="Run deployments and jobs in fraisier-worker and fraisier-scheduler "
                   "units; the server unit only receives and answers.")
@click.option("--executable", default=_default_executable, show_default="this installation",
              help="The fraisier program the units run.")
@click.option("--env-file", default="/etc/fraisier/fraisier.env", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def setup(app: AppContext, out_dir: Path | None, install: bool, check: bool,
          install_root: Path, user: str, server_name: str,
          https_port: int, http_port: int, ipv6: bool, tls_cert: Path | None, tls_key: Path | None,
          listen_port: int, separate_worker: bool, executable: str, env_file: Path) -> None:
    """Write the files that run Fraisier on a server: systemd units, a sudoers drop-in that
    allows restarting the configured services and nothing more, an nginx TLS site."""
    from fraisier.selfhost import SetupOptions, apply_plan, compare_plan, plan_files
    from fraisier.selfhost.files import SetupError, located

    if (install and (check or out_dir is not None)) or not (install or check or out_dir):
        raise click.UsageError("choose one of --out DIR, --install or --check [--out DIR]")
    config = app.config
    if config.config_path is None:  # set whenever the configuration comes from a file
        raise click.ClickException("the configuration has no file to point the services at")
    options = SetupOptions(
        config_path=Path(config.config_path), executable=Path(executable), user=user,
        group=user, listen_port=listen_port, server_name=server_name, https_port=https_port,
        http_port=http_port or None, ipv6=ipv6, tls_certificate=tls_cert, tls_certificate_key=tls_key,
        separate_worker=separate_worker, env_file=env_file)
    plan = plan_files(config, options)
    for note in plan.notes:
        click.echo(f"note: {note}", err=True)

    if check:
        root = out_dir or Path("/")
        differences = compare_plan(plan, root)
        for difference in differences:
            click.echo(f"✗ {difference.path}: {difference.problem}")
            if difference.diff:
                click.echo(difference.diff.rstrip("\n"))
        if differences:
            raise SystemExit(1)
        click.echo(f"✓ {len(plan.files)} file(s) match what `fraisier setup` would write")
        return

    if install:
        if os.geteuid() != 0:
            raise click.ClickException("--install writes into /etc: run it as root")
        _ensure_user(user)
    root = out_dir if out_dir is not None else install_root
    try:
        written = apply_plan(plan, root)
    except SetupError as exc:
        raise click.ClickException(str(exc)) from exc
    for path in written:
        click.echo(f"wrote {path}")
    if install:
        _make_directories([located(install_root, d) for d in plan.directories], user)
        click.echo("next: ln -s /etc/nginx/sites-available/fraisier.conf /etc/nginx/sites-enabled/"
                   " && nginx -t && systemctl reload nginx")
        click.echo("      systemctl daemon-reload && systemctl enable --now "
                   + " ".join(p.path.name for p in plan.files if p.path.suffix == ".service"))
        click.echo("      fraisier doctor")


def _ensure_user(user: str) -> None:
    try:
        pwd.getpwnam(user)
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--home-dir", "/var/lib/fraisier",
                        "--shell", "/usr/sbin/nologin", user], check=True, timeout=60)
        click.echo(f"created system user {user}")


def _make_directories(directories: list[Path], user: str) -> None:
    account = pwd.getpwnam(user)
    for directory in directories:
        if directory.exists():
            continue
        directory.mkdir(parents=True, mode=0o750)
        os.chown(directory, account.pw_uid, account.pw_gid)
        click.echo(f"created {directory} (owned by {user})")
