"""Remove credentials from values that may carry them (e.g. a clone URL with a token)."""

from __future__ import annotations

import re

_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]*@")


def redact_url(url: str) -> str:
    """`https://user:token@host/repo.git` -> `https://***@host/repo.git`."""
    return _USERINFO.sub(r"\1***@", url)
