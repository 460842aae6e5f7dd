"""Errors the API returns, each with `extensions.code`. Anything else is masked."""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

import strawberry
from graphql import GraphQLError

from fraisier.domain.redaction import redact

log = logging.getLogger("fraisier.api")


class Code(StrEnum):
    NOT_FOUND = "NOT_FOUND"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    CONFLICT = "CONFLICT"
    BAD_USER_INPUT = "BAD_USER_INPUT"


class ApiError(GraphQLError):
    def __init__(self, message: str, code: Code):
        # Every error the API answers with is built here (the rest is masked): redact it once.
        super().__init__(redact(message), extensions={"code": code.value})
        self.code = code


def not_found(message: str) -> ApiError:
    return ApiError(message, Code.NOT_FOUND)


def conflict(message: str) -> ApiError:
    return ApiError(message, Code.CONFLICT)


def bad_input(message: str) -> ApiError:
    return ApiError(message, Code.BAD_USER_INPUT)


def refused(exc: Exception) -> ApiError:
    """A refusal of the rules in engine/service.py, as the API says it."""
    from fraisier.engine.service import Conflict, NotFound

    if isinstance(exc, NotFound):
        return not_found(str(exc))
    if isinstance(exc, Conflict):
        return conflict(str(exc))
    return bad_input(str(exc))


def should_mask(error: GraphQLError) -> bool:
    """Keep our own errors and GraphQL's validation errors; hide everything unexpected, so
    no driver message, path or secret reaches a client."""
    original = error.original_error
    if original is None:
        return False
    return not isinstance(original, GraphQLError)


class QuietSchema(strawberry.Schema):
    """Expected errors (ours, and GraphQL's own validation errors) are one log line each, with
    no traceback: a client sending bad requests in a loop must not flood the log. Unexpected
    ones keep Strawberry's full report."""

    def process_errors(self, errors: list[GraphQLError],
                       execution_context: Any = None) -> None:
        unexpected = []
        for error in errors:
            if should_mask(error):
                unexpected.append(error)
                continue
            code = (error.extensions or {}).get("code", "GRAPHQL_VALIDATION_FAILED")
            log.info("graphql request refused: %s: %s", code, error.message[:200])
        if unexpected:
            super().process_errors(unexpected, execution_context)
