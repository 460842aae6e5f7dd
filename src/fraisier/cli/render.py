"""Output helpers: stable JSON for scripts, rich tables for people. rich is imported only
when a table is drawn."""

from __future__ import annotations

import json
import sys
from typing import Any

STATUS_STYLE = {
    "succeeded": "green", "running": "cyan", "queued": "blue", "failed": "red",
    "rolled_back": "yellow", "rollback_failed": "bold red", "cancelled": "magenta",
    "superseded": "dim", "interrupted": "red", "skipped": "dim", "pending": "dim",
    "compensated": "yellow", "compensation_failed": "bold red",
}


def echo_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def styled(status: str | None) -> str:
    if not status:
        return "-"
    style = STATUS_STYLE.get(status)
    return f"[{style}]{status}[/{style}]" if style else status


def short(sha: str | None) -> str:
    return sha[:10] if sha else "-"


def when(timestamp: str | None) -> str:
    """`2026-11-26T05:43:34.644818Z` -> `2026-11-26 05:43:34`."""
    return timestamp[:19].replace("T", " ") if timestamp else "-"


def release_label(release_id: str | None) -> str:
    """`20261126T054727038671Z-7abe254` -> `20261126T054727-7abe254`: the sub-second part only
    tells apart two releases made within one second."""
    if not release_id:
        return "-"
    stamp, _, sha = release_id.partition("-")
    return f"{stamp[:15]}-{sha}" if len(stamp) > 15 and sha else release_id


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}s" if value < 120 else f"{value / 60:.1f}m"


def table(title: str | None, columns: list[str], rows: list[list[str]]) -> None:
    from rich.table import Table

    grid = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        grid.add_column(column)
    for row in rows:
        grid.add_row(*row)
    console().print(grid)


def deployment_rows(records) -> list[list[str]]:
    return [[str(r.id), r.fraise, r.environment, styled(r.status), r.trigger,
             short(r.commit_sha or r.requested_commit), release_label(r.release),
             when(r.queued_at), seconds(r.duration_seconds), (r.error or "")[:120]]
            for r in records]


DEPLOYMENT_COLUMNS = ["id", "fraise", "env", "status", "trigger", "commit", "release", "queued",
                      "took", "error"]


def show_deployment(record) -> None:
    out = console()
    out.print(f"[bold]deployment {record.id}[/bold]  {record.fraise}/{record.environment}  "
              f"{styled(record.status)}  trigger={record.trigger}")
    out.print(f"  commit {short(record.commit_sha or record.requested_commit)}  "
              f"branch {record.branch or '-'}  release {record.release or '-'}  "
              f"previous {record.previous_release or '-'}")
    out.print(f"  queued {when(record.queued_at)}  started {when(record.started_at)}  "
              f"completed {when(record.completed_at)}  took {seconds(record.duration_seconds)}")
    for step in record.steps:
        undo = f"  undo: {styled(step.compensation_status)}" if step.compensation_status else ""
        error = f"  [red]{step.error}[/red]" if step.error and step.status == "failed" else ""
        out.print(f"    {step.name:<13} {styled(step.status)}{undo}{error}")
    if record.error:
        out.print(f"  [red]error:[/red] {record.error}")


# -- listings shared by local and remote mode (same data, same output) ---------------------
def show_status(entries: list[dict], as_json: bool) -> None:
    if as_json:
        echo_json(entries)
        return
    table("Status", ["fraise", "env", "branch", "live release", "commit", "last deploy",
                     "result", "at"],
          [[e["fraise"], e["environment"], e["branch"], e["current_release"] or "-",
            short(e["current_commit_sha"]), str(e["last_deployment_id"] or "-"),
            styled(e["last_status"]), when(e["last_completed_at"])] for e in entries])


def show_stats(data: dict, days: int, as_json: bool) -> None:
    if as_json:
        echo_json(data)
        return
    rate = data["success_rate"]
    table(f"Deployments over {days} days", ["total", "succeeded", "failed", "rolled back",
                                           "rollback failed", "success rate", "avg", "p95"],
          [[str(data["total_deployments"]), str(data["successful"]), str(data["failed"]),
            str(data["rolled_back"]), str(data["rollback_failed"]),
            f"{rate:.0%}" if rate is not None else "-",
            seconds(data["average_duration_seconds"]), seconds(data["p95_duration_seconds"])]])


def show_webhook_events(rows: list[dict], as_json: bool) -> None:
    if as_json:
        echo_json(rows)
        return
    table("webhook events", ["id", "received", "provider", "event", "ref", "commit", "outcome",
                             "deployments", "reason"],
          [[str(r["id"]), when(r["received_at"]), r["provider"] or "-", r["event_type"] or "-",
            r["ref"] or "-", short(r["commit_sha"]), styled(r["outcome"]),
            ",".join(str(i) for i in r["deployment_ids"]) or "-", (r["reason"] or "")[:60]]
           for r in rows])
