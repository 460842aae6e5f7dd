"""Shared text and helpers for the configuration tests."""

from __future__ import annotations

import textwrap

MINIMAL = """\
fraises:
  web:
    repository: https://github.com/acme/web.git
    environments:
      production:
        branch: main
        app_path: /srv/web
"""


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing `needle` (so tests need not count)."""
    for number, line in enumerate(textwrap.dedent(text).splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in text")
