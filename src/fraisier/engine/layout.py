"""The on-disk release layout of one environment:

    <app_path>/releases/<release id>/   one directory per release, never changed once built
    <app_path>/current -> releases/<id> the live release; switched atomically

A release is materialized under `releases/.<id>.partial` and renamed into place when its tree
is complete, so a crash mid-copy never leaves a directory that looks like a release.
"""

from __future__ import annotations

import os
from pathlib import Path


class Layout:
    def __init__(self, app_path: Path):
        self.app_path = Path(app_path)
        self.releases_dir = self.app_path / "releases"
        self.current = self.app_path / "current"

    def release_dir(self, release_id: str) -> Path:
        return self.releases_dir / release_id

    def partial_dir(self, release_id: str) -> Path:
        return self.releases_dir / f".{release_id}.partial"

    def current_release_id(self) -> str | None:
        """The release `current` points at, read from the link itself (the truth on disk)."""
        try:
            target = os.readlink(self.current)
        except (FileNotFoundError, OSError):
            return None
        name = Path(target).name
        return name if self.release_dir(name).is_dir() else None

    def activate(self, release_id: str) -> None:
        """Point `current` at a release atomically: a new link, then rename over the old one."""
        if not self.release_dir(release_id).is_dir():
            raise FileNotFoundError(f"release {release_id} does not exist in {self.releases_dir}")
        temporary = self.app_path / f".current.{os.getpid()}.tmp"
        if temporary.is_symlink() or temporary.exists():
            temporary.unlink()
        # Relative target: the app directory can be moved or mounted elsewhere.
        os.symlink(Path("releases") / release_id, temporary)
        os.replace(temporary, self.current)
        _fsync_dir(self.app_path)

    def deactivate(self) -> None:
        """Remove `current` (a first deployment that failed must not leave it behind)."""
        if self.current.is_symlink():
            self.current.unlink()
            _fsync_dir(self.app_path)

    def remove(self, release_id: str) -> None:
        import shutil  # (with bz2 and lzma) only when something is removed

        for path in (self.release_dir(release_id), self.partial_dir(release_id)):
            if path.exists():
                shutil.rmtree(path, ignore_errors=True)

    def remove_partials(self) -> None:
        import shutil

        if self.releases_dir.is_dir():
            for path in self.releases_dir.glob(".*.partial"):
                shutil.rmtree(path, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
