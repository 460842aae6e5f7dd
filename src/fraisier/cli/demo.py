"""`fraisier demo`: deploy a sample app from a local repository, then watch a broken version
roll back by itself. Offline, under a minute, and nothing left running."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fraisier.cli import render

if TYPE_CHECKING:
    from fraisier.store.records import DeploymentRecord


@click.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              help="Where to create the workspace (default: a new temporary directory).")
@click.option("--quiet", is_flag=True, help="Show steps but not the commands' output.")
def demo(directory: Path | None, quiet: bool) -> None:
    """Run Fraisier end to end on a throwaway workspace (SQLite, local git repository)."""
    from fraisier.cli.deploy import LiveProgress
    from fraisier.config import load_config
    from fraisier.demo import make_workspace
    from fraisier.domain.model import Trigger
    from fraisier.engine.service import open_state, request_deployment
    from fraisier.worker.inline import deploy_now

    root = directory or Path(tempfile.mkdtemp(prefix="fraisier-demo-"))
    if directory and directory.exists() and any(directory.iterdir()):
        raise click.ClickException(f"{directory} is not empty; pick a new directory")
    workspace = make_workspace(root)
    out = render.console()
    progress = LiveProgress(stderr=False, show_output=not quiet)
    config = load_config(workspace.config_path)
    store = open_state(config)

    def deploy(title: str) -> DeploymentRecord:
        render.heading(out, title)
        record = request_deployment(store, config, "hello", "production", trigger=Trigger.CLI)
        final = deploy_now(store, config, record.id, observer=progress)
        render.show_deployment(final)
        return final

    def serving() -> str:
        import httpx

        try:
            return httpx.get(f"http://127.0.0.1:{workspace.port}/", timeout=2).text.strip()
        except httpx.HTTPError as exc:
            return f"nothing ({exc})"

    try:
        out.print(f"workspace: {root}\n  repository {workspace.repo}\n"
                  f"  config     {workspace.config_path}\n  app path   {workspace.app_path}")
        first = deploy("1. Deploy v1 (first deployment)")
        out.print(f"serving: [bold]{serving()}[/bold]")
        workspace.commit("Version 2", {"VERSION": "v2\n"})
        second = deploy("2. Push v2 and deploy it")
        out.print(f"serving: [bold]{serving()}[/bold]")
        workspace.commit("Version 3, with a failing health endpoint",
                         {"VERSION": "v3\n", "BROKEN": "yes\n"})
        third = deploy("3. Push a broken v3: the health check fails, Fraisier rolls back")
        out.print(f"serving: [bold]{serving()}[/bold] (the previous release, restored)")
    finally:
        workspace.stop_app()
        store.close()

    render.heading(out, "What happened")
    for label, record in (("v1", first), ("v2", second), ("v3", third)):
        out.print(f"  {label}: deployment {record.id} {render.styled(record.status)}"
                  + (f" ({record.error})" if record.error else ""))
    # The same executable the user just ran (e.g. .venv/bin/fraisier from `make demo`).
    program = sys.argv[0] if Path(sys.argv[0]).name == "fraisier" else "fraisier"
    command = f"{program} -c {workspace.config_path}"
    out.print(f"\nLook around (the service was stopped; the state is kept):\n"
              f"  {command} history\n"
              f"  {command} logs {third.id}\n"
              f"  {command} releases hello production\n"
              f"  ls -l {workspace.app_path}")
    ok = (first.status, second.status, third.status) == ("succeeded", "succeeded", "rolled_back")
    raise SystemExit(0 if ok else 1)
