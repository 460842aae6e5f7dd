"""The optional filters of list queries, written once: `column = ?` for each filter given."""

from __future__ import annotations

from typing import Any


def matching(**filters: Any) -> tuple[str, list[Any]]:
    """`" AND a = ? AND b = ?"` and its parameters, for the filters that are set (not None,
    not empty). Column names come from our code, never from a caller's input."""
    given = {column: value for column, value in filters.items() if value not in (None, "")}
    return "".join(f" AND {column} = ?" for column in given), list(given.values())
