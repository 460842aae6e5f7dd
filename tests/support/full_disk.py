"""A real full disk: a small tmpfs mounted for one test, filled on demand.

Needs root (mount(8)); CI runs as root. Elsewhere the test is skipped (see services.require).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.services import require


class SmallDisk:
    def __init__(self, path: Path):
        self.path = path

    def fill(self) -> None:
        """Write zeros until the file system says ENOSPC."""
        fd = os.open(self.path / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        chunk = b"\0" * 4096
        try:
            while True:
                os.write(fd, chunk)
        except OSError as exc:
            if exc.errno != 28:  # ENOSPC
                raise
        finally:
            os.close(fd)

    def free(self) -> None:
        (self.path / "filler").unlink(missing_ok=True)


@contextmanager
def small_disk(path: Path, size: str = "1m") -> Iterator[SmallDisk]:
    """Mount a tmpfs of `size` at `path` (created) for the duration of the block."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, text=True)
    require(mounted.returncode == 0, f"cannot mount a tmpfs (needs root): {mounted.stderr.strip()}")
    try:
        yield SmallDisk(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)
