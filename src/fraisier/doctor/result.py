"""One check's result."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"  # worth knowing; does not fail the doctor


@dataclass(frozen=True)
class Check:
    name: str  # what was checked, e.g. "repository", "app_path"
    status: Status
    detail: str  # what was found
    fix: str = ""  # how to make it pass (empty when it passes)
    target: str | None = None  # "fraise/environment" for per-environment checks

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data


def passed(name: str, detail: str, target: str | None = None) -> Check:
    return Check(name, Status.PASS, detail, "", target)


def failed(name: str, detail: str, fix: str, target: str | None = None) -> Check:
    return Check(name, Status.FAIL, detail, fix, target)


def warned(name: str, detail: str, fix: str, target: str | None = None) -> Check:
    return Check(name, Status.WARN, detail, fix, target)
