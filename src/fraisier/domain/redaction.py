"""One redactor for everything Fraisier writes or answers: secret values become `***`.

The set of values is process-wide: a value is added when Fraisier learns it (a secret
reference resolved, a webhook secret or an API token loaded, a password read from a
database URL) and every text that leaves through the store (log lines, step and deployment
errors, events) or the server's logs passes through `redact`. Passwords written inside
URLs (`scheme://user:password@host`) are blanked by pattern as well, so a repository or
database URL never needs to be registered first.

Values shorter than MIN_SECRET_LENGTH are not redacted: blanking every `ab` would make
ordinary text unreadable, and a secret that short protects nothing anyway.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

MIN_SECRET_LENGTH = 4
MASK = "***"

# `scheme://user:password@` — the password part, up to the last `@` before the host.
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*:)(?P<password>[^\s/@]+)@")


class Redactor:
    """A set of secret values and the one function that blanks them out of a text."""

    def __init__(self) -> None:
        self._values: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def add(self, *values: str | None) -> None:
        """Remember secret values (a multi-line value is also remembered line by line)."""
        fresh: set[str] = set()
        for value in values:
            if not value:
                continue
            for candidate in (value, *value.splitlines()):
                candidate = candidate.strip("\r\n")
                if len(candidate) >= MIN_SECRET_LENGTH and candidate not in self._values:
                    fresh.add(candidate)
        if not fresh:
            return
        with self._lock:
            values_now = self._values | fresh
            # Longest first, so a secret that contains another is blanked whole.
            ordered = sorted(values_now, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(value) for value in ordered))
            self._values = values_now

    def add_url(self, url: str | None) -> None:
        """Remember the password written inside a URL (e.g. a database URL)."""
        if url:
            try:
                password = urlsplit(url).password
            except ValueError:
                password = None
            self.add(password)

    def redact(self, text: str) -> str:
        if not text:
            return text
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(MASK, text)
        if "://" in text:
            text = _URL_PASSWORD.sub(lambda match: f"{match.group('head')}{MASK}@", text)
        return text

    def redact_optional(self, text: str | None) -> str | None:
        return None if text is None else self.redact(text)

    def redact_all(self, texts: Iterable[str]) -> list[str]:
        return [self.redact(text) for text in texts]

    def __contains__(self, value: object) -> bool:
        return value in self._values

    def forget_all(self) -> None:
        """Tests only: start from an empty set."""
        with self._lock:
            self._values, self._pattern = frozenset(), None


REDACTOR = Redactor()


def redact(text: str) -> str:
    """`text` with every known secret value, and every password inside a URL, as `***`."""
    return REDACTOR.redact(text)


def redact_optional(text: str | None) -> str | None:
    return REDACTOR.redact_optional(text)


def register_secret(*values: str | None) -> None:
    REDACTOR.add(*values)


def url_without_password(url: str) -> str:
    """`url` as it may be shown: the password (if any) replaced by `***`.

    The one way a database or repository URL is put into a message.
    """
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return _URL_PASSWORD.sub(lambda match: f"{match.group('head')}{MASK}@", url)
    if password is None:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{hostport}"))


_factory_installed = False


def install_log_redaction() -> None:
    """Redact every log record this process makes (server and worker logs), tracebacks too.

    A record factory sees every record of every logger (uvicorn's included) before any
    handler formats it, so one hook covers them all.
    """
    global _factory_installed
    if _factory_installed:
        return
    import logging

    previous = logging.getLogRecordFactory()
    formatter = logging.Formatter()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is logged as it is
            return record
        record.msg, record.args = REDACTOR.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = REDACTOR.redact(formatter.formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True
