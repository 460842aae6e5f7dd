"""Object ids on the wire: GraphQL's `ID` scalar, a string in answers; as input both `"42"`
and `42` are accepted (GraphQL coerces an integer literal or variable to an `ID`). Inside,
ids are the store's integer keys."""

from __future__ import annotations

import re

import strawberry

from fraisier.api.errors import bad_input

_DIGITS = re.compile(r"[0-9]{1,19}")
# The stores' keys are 64-bit signed integers: anything larger names nothing that can exist
# and would make the driver fail, so it is malformed rather than unknown.
_LARGEST = 2**63 - 1


def parse_id(value: strawberry.ID | str | int, argument: str = "id") -> int:
    """The integer key an `ID` argument names; BAD_USER_INPUT (naming the argument and the
    value) when it is not a non-negative integer."""
    text = str(value).strip()
    if not _DIGITS.fullmatch(text) or int(text) > _LARGEST:
        raise bad_input(f"{argument} must be a numeric id, got {str(value)[:40]!r}")
    return int(text)


def parse_optional_id(value: strawberry.ID | str | int | None, argument: str) -> int | None:
    return None if value is None else parse_id(value, argument)


def to_id(key: int) -> strawberry.ID:
    return strawberry.ID(str(key))


def to_optional_id(key: int | None) -> strawberry.ID | None:
    return None if key is None else to_id(key)
