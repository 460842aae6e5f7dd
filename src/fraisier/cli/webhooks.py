"""`fraisier webhook send` (a signed test push to a running server) and `fraisier webhooks`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from fraisier.cli import render

if TYPE_CHECKING:
    from fraisier.cli.context import AppContext

PROVIDER_NAMES = ["github", "gitlab", "gitea", "forgejo", "bitbucket"]


@click.group()
def webhook() -> None:
    """Test the webhook set-up."""


@webhook.command("send")
@click.option("--provider", "provider", type=click.Choice(PROVIDER_NAMES), required=True)
@click.option("--url", default="http://127.0.0.1:8080/webhook", show_default=True,
              help="The server's webhook URL.")
@click.option("--branch", help="Branch to push (default: the environment's branch).")
@click.option("--commit", help="Commit the push moves to (default: the branch head).")
@click.option("--bitbucket-server", is_flag=True,
              help="Send Bitbucket Server's repo:refs_changed instead of Cloud's repo:push.")
@click.argument("fraise")
@click.argument("environment")
@click.pass_obj
def send(app: AppContext, provider: str, url: str, branch: str | None, commit: str | None,
         bitbucket_server: bool, fraise: str, environment: str) -> None:
    """Sign and send a realistic push for FRAISE/ENVIRONMENT, as PROVIDER would, and print the
    server's answer. Exits 0 on a 2xx answer."""
    import httpx

    from fraisier.ingest.routing import secrets_for
    from fraisier.ingest.sample_push import build_push

    target = app.target(fraise, environment)
    branch = branch or target.branch
    if any(ch in branch for ch in "*?["):
        raise click.ClickException(f"branch {branch!r} is a pattern: pass --branch NAME")
    sha = commit or _branch_head(target.repository, branch)
    try:
        headers, body = build_push(provider, secrets_for(target, provider),
                                   repository=target.repository, branch=branch, after=sha,
                                   bitbucket_flavour="server" if bitbucket_server else "cloud")
    except ValueError as exc:
        raise click.ClickException(f"{exc} (for {fraise}/{environment})") from exc
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=30)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cannot reach {url}: {exc}") from exc
    click.echo(f"{provider} push of {branch} at {sha[:12]} -> {url}")
    click.echo(f"HTTP {response.status_code} {response.text}")
    raise SystemExit(0 if response.is_success else 1)


def _branch_head(repository: str, branch: str) -> str:

    from fraisier.engine.process import run_command

    result = run_command(["git", "ls-remote", "--heads", "--", repository, f"refs/heads/{branch}"],
                         cwd=".", env={"GIT_TERMINAL_PROMPT": "0"}, timeout=60, tool=True)
    for line in result.output_tail.splitlines():
        sha, _, ref = line.partition("\t")
        if ref.strip() == f"refs/heads/{branch}":
            return sha.strip()
    raise click.ClickException(f"branch {branch!r} not found in {repository}"
                               + (f": {result.describe()}" if not result.ok else ""))


@click.command()
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 500),
              help="How many requests, newest first.")
@click.option("--provider", type=click.Choice(PROVIDER_NAMES))
@click.option("--outcome", type=click.Choice(["queued", "ignored", "duplicate", "rejected",
                                               "pong"]))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def webhooks(app: AppContext, limit: int, provider: str | None, outcome: str | None,
             as_json: bool) -> None:
    """Recent webhook requests and what became of them."""
    rows = app.backend.webhook_events(limit, provider, outcome)
    render.show_webhook_events(rows, as_json)
