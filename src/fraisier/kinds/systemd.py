"""The systemd backend for scheduled jobs: one `.service` + `.timer` per job.

Units are named `fraisier-<fraise>-<environment>-<job>`; each file starts with a
`# fraisier-target:` line so that Fraisier only ever removes files it wrote for that target.
The service runs `python -m fraisier run FRAISE ENV JOB`, so every run is recorded like a
builtin one; a `depends_on` becomes `OnSuccess=` on the job it depends on.

`systemctl` is taken from FRAISIER_SYSTEMCTL when set (split like a shell would), so a
machine without systemd as PID 1 can record the calls instead of making them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fraisier.config.commands import systemctl_argv
from fraisier.kinds.jobs import JobSpec, dependents_of

if TYPE_CHECKING:
    from fraisier.config.resolve import Target

MARKER = "# fraisier-target: "


class SystemdError(Exception):
    pass


def unit_base(target: Target, job_name: str) -> str:
    return f"fraisier-{target.fraise}-{target.environment}-{job_name}"


def _quote(arg: str) -> str:
    """One ExecStart= argument: double-quoted, with systemd's specifiers and variables
    escaped so a value is passed exactly as written."""
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return '"' + escaped.replace("$", "$$") + '"'


def render_units(target: Target, jobs: dict[str, JobSpec]) -> dict[str, str]:
    """File name -> content for every unit this target needs."""
    if target.kind.config_path is None:
        raise SystemdError("the systemd scheduler needs the configuration file's path")
    units: dict[str, str] = {}
    header = f"{MARKER}{target.fraise}/{target.environment}\n"
    for job in jobs.values():
        base = unit_base(target, job.name)
        argv = [sys.executable, "-m", "fraisier", "-c", str(target.kind.config_path), "run",
                target.fraise, target.environment, job.name, "--trigger", "schedule"]
        on_success = " ".join(f"{unit_base(target, d.name)}.service"
                              for d in dependents_of(jobs, job.name))
        units[f"{base}.service"] = (
            f"{header}[Unit]\n"
            f"Description=Fraisier job {job.name} of {target.fraise}/{target.environment}\n"
            + (f"OnSuccess={on_success}\n" if on_success else "")
            + "\n[Service]\nType=oneshot\n"
            f"WorkingDirectory={target.app_path}\n"
            f"ExecStart={' '.join(_quote(a) for a in argv)}\n"
            # fraisier enforces the job's own timeout; systemd only backstops it.
            f"TimeoutStartSec={int(job.timeout) + 60}\n"
        )
        if job.schedule is None:
            continue
        calendars = "".join(f"OnCalendar={spec}\n" for spec in job.schedule.on_calendar())
        units[f"{base}.timer"] = (
            f"{header}[Unit]\n"
            f"Description=Schedule of Fraisier job {job.name} ({job.schedule.expression})\n\n"
            f"[Timer]\n{calendars}Persistent=true\nUnit={base}.service\n\n"
            "[Install]\nWantedBy=timers.target\n"
        )
    return units


def owned_units(directory: Path, target: Target) -> dict[str, str]:
    """The unit files in `directory` that Fraisier wrote for this target."""
    found: dict[str, str] = {}
    prefix = f"fraisier-{target.fraise}-{target.environment}-"
    if not directory.is_dir():
        return found
    for path in directory.glob(f"{prefix}*"):
        if path.suffix not in (".service", ".timer") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        if text.startswith(f"{MARKER}{target.fraise}/{target.environment}\n"):
            found[path.name] = text
    return found


@dataclass
class UnitChange:
    written: list[str]
    removed: list[str]
    enabled: list[str]
    disabled: list[str]


def apply_units(directory: Path, target: Target, wanted: dict[str, str],
                run_command: Callable[[list[str]], None]) -> UnitChange:
    """Make `directory` hold exactly `wanted` for this target, then tell systemd.

    `run_command(argv)` runs one systemctl call (the caller logs it and raises on failure).
    """
    directory.mkdir(parents=True, exist_ok=True)
    existing = owned_units(directory, target)
    stale = sorted(set(existing) - set(wanted))
    stale_timers = [name for name in stale if name.endswith(".timer")]
    if stale_timers:
        run_command([*systemctl_argv(), "disable", "--now", *stale_timers])
    for name, content in wanted.items():
        if existing.get(name) != content:
            temporary = directory / f".{name}.partial"
            temporary.write_text(content, encoding="utf-8")
            temporary.replace(directory / name)
    for name in stale:
        (directory / name).unlink(missing_ok=True)
    timers = sorted(name for name in wanted if name.endswith(".timer"))
    run_command([*systemctl_argv(), "daemon-reload"])
    if timers:
        run_command([*systemctl_argv(), "enable", "--now", *timers])
    return UnitChange(written=sorted(wanted), removed=stale, enabled=timers,
                      disabled=stale_timers)
