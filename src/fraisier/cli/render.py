"""Output helpers: stable JSON for scripts, rich tables for people. rich is imported only
when a table is drawn."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from fraisier.store.records import DeploymentRecord

STATUS_STYLE = {
    "succeeded": "green", "running": "cyan", "queued": "blue", "failed": "red",
    "rolled_back": "yellow", "rollback_failed": "bold red", "cancelled": "magenta",
    "superseded": "dim", "interrupted": "red", "skipped": "dim", "pending": "dim",
    "compensated": "yellow", "compensation_failed": "bold red",
}


def echo_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


# Not a terminal (a pipe, a file, a CI log): lines are never wrapped, so a URL or a command
# in an error stays whole and can be copied.
UNBOUNDED_WIDTH = 100_000


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr, highlight=False)
    return Console(stderr=stderr, highlight=False, width=UNBOUNDED_WIDTH, soft_wrap=True)


def heading(out: Any, title: str) -> None:
    """A section heading: a rule across a terminal; piped, a short line (a rule would be as
    wide as the unbounded width)."""
    if out.is_terminal:
        out.rule(f"[bold]{title}")
    else:
        out.print(f"── {title} ──")


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
    """The short handle of a release (see domain.model.release_handle)."""
    from fraisier.domain.model import release_handle

    return release_handle(release_id) if release_id else "-"


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}s" if value < 120 else f"{value / 60:.1f}m"


# How a table is fitted to a terminal narrower than it: first the free-text columns are cut
# (one line each, ending in "…"; the full text is in `logs`, `--json` or the detail view),
# then the columns that other commands show too are left out, in this order. Identifiers
# (ids, releases, commits, names) are never cut: a row must stay recognisable.
SHRINKABLE = ("error", "reason", "app path", "path", "schedule", "branch")
DROPPABLE = ("release", "trigger", "queued", "received", "started", "created", "taken",
             "backend", "last run", "at", "verified", "synced", "event", "deployments",
             "took", "size", "kind", "type", "revoked")
MIN_SHRUNK = 12


def table(title: str | None, columns: list[str], rows: list[list[str]]) -> None:
    from rich.table import Table

    out = console()
    limits: dict[int, int] = {}
    keep = list(range(len(columns)))
    if out.is_terminal:
        keep, limits = _fit(columns, rows, out.width)
    grid = Table(title=title, title_justify="left", header_style="bold")
    for index in keep:
        grid.add_column(columns[index], no_wrap=True, overflow="ellipsis",
                        max_width=limits.get(index))
    for row in rows:
        grid.add_row(*(row[index] for index in keep))
    out.print(grid)


def _fit(columns: list[str], rows: list[list[str]], width: int
         ) -> tuple[list[int], dict[int, int]]:
    """The columns to show and the widths to cut free text to, so the table fits `width`."""
    from rich.text import Text

    natural = [max([len(column)] + [Text.from_markup(row[i]).cell_len for row in rows])
               for i, column in enumerate(columns)]
    keep = list(range(len(columns)))
    limits: dict[int, int] = {}

    def total() -> int:  # cells, plus a border and two spaces of padding per column
        return sum(limits.get(i, natural[i]) for i in keep) + 3 * len(keep) + 1

    for name in SHRINKABLE:
        if name in columns and total() > width:
            index = columns.index(name)
            limits[index] = max(MIN_SHRUNK, natural[index] - (total() - width))
    for name in DROPPABLE:
        if total() <= width:
            break
        # The first column names the row (an id, a release): it always stays.
        if name in columns and columns.index(name) in keep[1:]:
            keep.remove(columns.index(name))
            for index in list(limits):  # room freed: cut free text less
                limits[index] = natural[index]
            for shrink in SHRINKABLE:
                if shrink in columns and total() > width:
                    index = columns.index(shrink)
                    limits[index] = max(MIN_SHRUNK, natural[index] - (total() - width))
    return keep, {i: w for i, w in limits.items() if w < natural[i]}


def deployment_rows(records: Iterable[DeploymentRecord]) -> list[list[str]]:
    return [[str(r.id), r.fraise, r.environment, styled(r.status), r.trigger,
             short(r.commit_sha or r.requested_commit), release_label(r.release),
             when(r.queued_at), seconds(r.duration_seconds), one_line(r.error)]
            for r in records]


def one_line(text: str | None) -> str:
    """Free text for a table cell: whole (a terminal cuts it to fit, a pipe keeps it), on one
    line; the text as written is in `logs` and `--json`."""
    return " ".join(text.split()) if text else ""


DEPLOYMENT_COLUMNS = ["id", "fraise", "env", "status", "trigger", "commit", "release", "queued",
                      "took", "error"]


def show_deployment(record: DeploymentRecord, *, steps: bool = True) -> None:
    out = console()
    out.print(f"[bold]deployment {record.id}[/bold]  {record.fraise}/{record.environment}  "
              f"{styled(record.status)}  trigger={record.trigger}")
    out.print(f"  commit {short(record.commit_sha or record.requested_commit)}  "
              f"branch {record.branch or '-'}  release {record.release or '-'}  "
              f"previous {record.previous_release or '-'}")
    out.print(f"  queued {when(record.queued_at)}  started {when(record.started_at)}  "
              f"completed {when(record.completed_at)}  took {seconds(record.duration_seconds)}")
    for step in record.steps if steps else []:
        undo = f"  undo: {styled(step.compensation_status)}" if step.compensation_status else ""
        error = f"  [red]{step.error}[/red]" if step.error and step.status == "failed" else ""
        out.print(f"    {step.name:<13} {styled(step.status)}{undo}{error}")
    if record.error:
        out.print(f"  [red]error:[/red] {record.error}")


# -- listings shared by local and remote mode (same data, same output) ---------------------
def show_status(entries: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        echo_json(entries)
        return
    table("Status", ["fraise", "env", "branch", "live release", "commit", "last deploy",
                     "result", "at", "health"],
          [[e["fraise"], e["environment"], e["branch"], release_label(e["current_release"]),
            short(e["current_commit_sha"]), str(e["last_deployment_id"] or "-"),
            styled(e["last_status"]), when(e["last_completed_at"]), health_label(e["health"])]
           for e in entries])


def health_label(health: dict[str, Any] | None) -> str:
    """What the worker's health watch last saw: ok, or failing since when and why."""
    if health is None:
        return "-"
    if health["ok"]:
        return "[green]ok[/green]"
    from rich.markup import escape

    return f"[red]failing[/red] since {when(health['since'])}: {escape(health['detail'])}"


def show_stats(data: dict[str, Any], days: int, as_json: bool) -> None:
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


def show_webhook_events(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        echo_json(rows)
        return
    table("webhook events", ["id", "received", "provider", "event", "ref", "commit", "outcome",
                             "deployments", "reason"],
          [[str(r["id"]), when(r["received_at"]), r["provider"] or "-", r["event_type"] or "-",
            r["ref"] or "-", short(r["commit_sha"]), styled(r["outcome"]),
            ",".join(str(i) for i in r["deployment_ids"]) or "-", (r["reason"] or "")[:60]]
           for r in rows])
