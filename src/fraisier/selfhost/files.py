"""Writing a setup plan to disk (`--out DIR`, `--install`) and comparing what is installed
with it (`--check`). Files are written whole, to a temporary name then renamed, with their
mode set before the rename: a half-written sudoers file must never be read by sudo."""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from fraisier.selfhost.plan import Plan, PlannedFile


class SetupError(Exception):
    """A file was refused by its checker; nothing was put in its place."""


@dataclass(frozen=True)
class Difference:
    path: Path  # as installed (absolute)
    problem: str  # "missing", "differs", "mode 0644, expected 0600"
    diff: str = ""  # unified diff, installed → expected, when the content differs


def located(root: Path, path: Path) -> Path:
    """`path` (absolute) under `root`: `/` for --install, the --out directory otherwise."""
    return root / path.relative_to(path.anchor)


def apply_plan(plan: Plan, root: Path) -> list[Path]:
    """Write every file of the plan under `root`; returns the paths written. A file marked
    keep_existing (the secrets file) is left as it is when present."""
    written: list[Path] = []
    for planned in plan.files:
        destination = located(root, planned.path)
        if planned.keep_existing and destination.exists():
            os.chmod(destination, planned.mode)
            continue
        _write(destination, planned)
        written.append(destination)
    return written


def _write(destination: Path, planned: PlannedFile) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_name(f".{destination.name}.partial")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, planned.mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(planned.content)
    os.chmod(temporary, planned.mode)  # the umask may have narrowed os.open's mode
    if planned.check and shutil.which(planned.check[0]) is not None:
        done = subprocess.run([*planned.check, str(temporary)], capture_output=True,
                              text=True, timeout=30)
        if done.returncode != 0:
            temporary.unlink()
            raise SetupError(f"{planned.path}: {' '.join(planned.check)} refused it: "
                             f"{(done.stdout + done.stderr).strip()}")
    temporary.replace(destination)


def compare_plan(plan: Plan, root: Path) -> list[Difference]:
    """What differs between the files under `root` and the plan; empty when all match."""
    differences: list[Difference] = []
    for planned in plan.files:
        installed = located(root, planned.path)
        if not installed.is_file():
            differences.append(Difference(planned.path, "missing"))
            continue
        mode = installed.stat().st_mode & 0o7777
        if mode != planned.mode:
            differences.append(Difference(
                planned.path, f"mode {mode:04o}, expected {planned.mode:04o}"))
        if planned.keep_existing:
            continue  # its values are the operator's secrets: never shown, never compared
        current = installed.read_text(encoding="utf-8", errors="replace")
        if current != planned.content:
            diff = "".join(difflib.unified_diff(
                current.splitlines(keepends=True), planned.content.splitlines(keepends=True),
                fromfile=f"{planned.path} (installed)", tofile=f"{planned.path} (expected)"))
            differences.append(Difference(planned.path, "differs", diff))
    return differences
