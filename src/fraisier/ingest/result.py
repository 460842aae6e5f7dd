"""What goes into ingest and what comes out: plain data, no web framework."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class WebhookRequest:
    headers: dict[str, str]  # names lower-cased
    body: bytes
    source_ip: str = ""
    provider: str | None = None  # named in the URL (/webhook/{provider}), else detected


@dataclass(frozen=True)
class IngestResult:
    status_code: int
    body: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def queued(cls, deployment_ids: list[int]) -> IngestResult:
        return cls(202, {"status": "queued", "deployments": deployment_ids})

    @classmethod
    def ignored(cls, reason: str) -> IngestResult:
        return cls(200, {"status": "ignored", "reason": reason})

    @classmethod
    def pong(cls) -> IngestResult:
        return cls(200, {"status": "pong"})

    @classmethod
    def duplicate(cls) -> IngestResult:
        return cls(200, {"status": "duplicate"})

    @classmethod
    def rejected(cls, status_code: int, reason: str) -> IngestResult:
        return cls(status_code, {"status": "rejected", "reason": reason})
