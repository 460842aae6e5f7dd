"""The schema as SDL text, as published in docs/schema.graphql."""

from __future__ import annotations


def schema_sdl() -> str:
    from fraisier.api.schema import build_schema

    return build_schema().as_str().rstrip("\n") + "\n"
