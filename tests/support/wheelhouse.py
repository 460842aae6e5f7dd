"""A local wheelhouse made from the distributions installed in the test environment.

A release that runs `pip install -r requirements.txt` into its own `.venv` needs wheels;
the tests have no package index, so each installed distribution (and what it requires) is
packed back into a wheel from its installed files. pip then installs them for real
(PIP_NO_INDEX=1, PIP_FIND_LINKS=<wheelhouse>), console scripts included.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata as metadata
import zipfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

_SKIPPED = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


def _closure(names: list[str]) -> list[metadata.Distribution]:
    found: dict[str, metadata.Distribution] = {}
    todo = [Requirement(name) for name in names]
    while todo:
        requirement = todo.pop()
        key = canonicalize_name(requirement.name)
        if key in found:
            continue
        dist = metadata.distribution(requirement.name)
        found[key] = dist
        for text in dist.requires or []:
            needed = Requirement(text)
            extras = requirement.extras or {""}
            if needed.marker is None or any(needed.marker.evaluate({"extra": extra})
                                            for extra in extras):
                todo.append(needed)
    return list(found.values())


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(
        b"=").decode()


def _repack(dist: metadata.Distribution, into: Path) -> Path:
    wheel_info = dist.read_text("WHEEL") or ""
    tags = [line.split(":", 1)[1].strip() for line in wheel_info.splitlines()
            if line.startswith("Tag:")]
    name = canonicalize_name(dist.metadata["Name"]).replace("-", "_")
    path = into / f"{name}-{dist.version}-{tags[0] if tags else 'py3-none-any'}.whl"
    record: list[str] = []
    dist_info = ""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in dist.files or []:
            parts = file.parts
            if parts[0] == ".." or "__pycache__" in parts:
                continue  # scripts (pip writes them again) and byte code
            if parts[0].endswith(".dist-info"):
                dist_info = parts[0]
                if parts[-1] in _SKIPPED:
                    continue
            source = Path(str(file.locate()))
            if not source.is_file():
                continue
            data = source.read_bytes()
            archive.writestr(file.as_posix(), data)
            record.append(f"{file.as_posix()},{_digest(data)},{len(data)}")
        record.append(f"{dist_info}/RECORD,,")
        archive.writestr(f"{dist_info}/RECORD", "\n".join(record) + "\n")
    return path


def build_wheelhouse(names: list[str], into: Path) -> Path:
    """Wheels for `names` (requirement strings, extras allowed) and their dependencies."""
    into.mkdir(parents=True, exist_ok=True)
    for dist in _closure(names):
        _repack(dist, into)
    return into
