"""`fraisier status FRAISE ENV --hosts`: where each host (or slot) of an environment stands."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from fraisier.cli import render

if TYPE_CHECKING:
    from fraisier.cli.context import AppContext


def show_hosts(app: AppContext, fraise: str | None, environment: str | None, as_json: bool) -> None:
    from fraisier.config import UnknownTarget
    from fraisier.rollout.status import host_states

    if not fraise or not environment:
        raise click.ClickException("--hosts needs FRAISE and ENVIRONMENT")
    try:
        target = app.target(fraise, environment)
    except UnknownTarget as exc:
        raise click.ClickException(str(exc)) from None
    if target.rollout is None:
        raise click.ClickException(f"{fraise}/{environment} has no hosts: it deploys locally")
    states = host_states(app.store, target)
    if as_json:
        render.echo_json(states)
        return
    render.table(f"Hosts of {fraise}/{environment}",
                 ["host", "region", "address", "live release", "serving", "commit",
                  "last deploy", "outcome", "error"],
                 [[s["host"], s["region"] or "-", s["address"] or "-", s["live_release"] or "-",
                   "yes" if s["serving"] else "no",
                   render.short(s["commit_sha"]), str(s["last_deployment_id"] or "-"),
                   s["last_outcome"] or "-", (s["error"] or "")[:60]] for s in states])
