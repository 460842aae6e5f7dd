"""The `api:` section of fraises.yaml: who may read without a token, and the bounds every
GraphQL request must stay inside."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ApiConfig(BaseModel):
    # No `.inf` or `.nan`: an infinite timeout or interval would hang a deployment forever.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, defer_build=True)

    # A trusted network may read (queries, subscriptions) without a token; mutations and
    # token management always need one.
    anonymous_read: bool = False
    max_depth: int = Field(10, ge=2, le=50)
    max_limit: int = Field(500, ge=1, le=10_000)
    max_aliases: int = Field(30, ge=1)
    max_tokens: int = Field(2000, ge=10)
    # Rows and log lines one operation may read in total, across all its fields and
    # aliases: the per-list `max_limit` times `max_aliases` alone allows millions.
    max_rows_per_request: int = Field(5000, ge=1)
    max_body_bytes: int = Field(65_536, ge=1024)
    # Requests per minute from one source address (a WebSocket counts when it connects);
    # the proxies believed for X-Forwarded-For are `webhook.trusted_proxies`.
    rate_limit_per_minute: int = Field(600, ge=1)
