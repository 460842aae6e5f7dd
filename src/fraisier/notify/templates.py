"""Titles and bodies. A template is `string.Template` text with `$name` placeholders (the
names of fields.FIELD_NAMES); `safe_substitute` leaves anything unknown as written, and
nothing in a template is ever evaluated."""

from __future__ import annotations

from string import Template


def render(template: str, fields: dict[str, str]) -> str:
    return Template(template).safe_substitute(fields)


def default_title(fields: dict[str, str]) -> str:
    event = fields["event"]
    where = f"{fields['fraise']}/{fields['environment']}"
    if event == "run.failed":
        return f"{where}: run {fields['run']} failed"
    if event == "backup.failed":
        return f"{where}: backup {fields['run']} failed"
    if event == "webhook.rejected":
        return f"webhook from {fields['provider'] or 'an unknown sender'} rejected"
    if event == "test":
        return "Fraisier test notification"
    # deployment.rolled_back -> "deployment rolled back"
    return f"{where}: {event.replace('.', ' ').replace('_', ' ')}"


def default_body(fields: dict[str, str]) -> str:
    if fields["event"] == "test":
        return "This is a test message from Fraisier: this channel works."
    lines = []
    if fields["deployment_id"]:
        lines.append(f"Deployment {fields['deployment_id']} of {fields['fraise']} to "
                     f"{fields['environment']}: {fields['status']}.")
    if fields["commit"]:
        commit = f"Commit {fields['commit_short']}"
        if fields["message"]:
            commit += f" {fields['message']}"
        if fields["author"]:
            commit += f" ({fields['author']})"
        lines.append(commit)
    if fields["exit_code"]:
        lines.append(f"Exit code {fields['exit_code']}.")
    if fields["reason"]:
        lines.append(f"Reason: {fields['reason']}")
    if fields["error"]:
        lines.append(f"Error: {fields['error']}")
    if fields["duration"]:
        lines.append(f"Took {fields['duration']}.")
    if fields["link"]:
        lines.append(fields["link"])
    return "\n".join(lines) or default_title(fields)


def message(title: str | None, body: str | None, fields: dict[str, str]) -> tuple[str, str]:
    """(title, body) for a channel: its templates when it has them, else the defaults."""
    return (render(title, fields) if title else default_title(fields),
            render(body, fields) if body else default_body(fields))
