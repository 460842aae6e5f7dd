"""The `dashboard:` section of fraises.yaml: whether `fraisier serve` serves the web dashboard,
and at which path."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, field_validator

# Paths the server answers itself; the dashboard may not hide them.
RESERVED = ("/graphql", "/webhook", "/healthz", "/readyz", "/metrics")


class DashboardConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    enabled: bool = True
    path: str = "/"

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        value = value.rstrip("/") or "/"
        if not re.fullmatch(r"/|(/[a-z0-9][a-z0-9._-]*)+", value):
            raise ValueError("dashboard.path must be / or like /dashboard (lowercase letters, "
                             "digits, '.', '_', '-')")
        if any(value == r or value.startswith(r + "/") for r in RESERVED):
            raise ValueError(f"dashboard.path {value!r} would hide one of {', '.join(RESERVED)}")
        return value
