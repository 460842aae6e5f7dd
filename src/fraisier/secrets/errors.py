"""What a backend raises when it cannot give a value: the reason, never the value."""

from __future__ import annotations


class BackendError(Exception):
    """One backend's reason, e.g. "permission denied" or "unreachable: connection refused"."""


class SecretError(Exception):
    """A reference that could not be resolved, named with its key path and backend reason."""

    def __init__(self, reference: str, where: str, reason: str):
        self.reference, self.where, self.reason = reference, where, reason
        place = f" ({where})" if where else ""
        super().__init__(f"secret {reference}{place}: {reason}")
