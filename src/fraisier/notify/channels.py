"""Chat, email and webhook channels through Apprise: which channels want an event, and one
send bounded in wall-clock time whatever the channel does.

The channel URL is a secret. Apprise's own log lines (the only place it says what a server
answered) are captured for the sending thread alone and cleaned of every part of the URL
before they are recorded or shown.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from fraisier.config.model import FraisierConfig
from fraisier.config.notifications import ChannelConfig, scheme_of
from fraisier.store.notifications import Outcome

_HTTP_STATUS = re.compile(r"(?:error=|HTTP[ /]|status(?: code)?[ =:]+)(\d{3})\b", re.I)


def channels_for(config: FraisierConfig, fraise: str | None,
                 environment: str | None) -> list[ChannelConfig]:
    """The channel list in force: the environment's, else the fraise's, else the top-level
    per-environment defaults', else the top level's (the most specific one written)."""
    fraise_config = config.fraises.get(fraise) if fraise else None
    if fraise_config is not None and environment:
        env = fraise_config.environments.get(environment)
        if env is not None and env.notifications is not None:
            return env.notifications
    if fraise_config is not None and isinstance(fraise_config.notifications, list):
        return fraise_config.notifications
    defaults = config.environments.get(environment) if environment else None
    if defaults is not None and defaults.notifications is not None:
        return defaults.notifications
    return config.notifications or []


def all_channels(config: FraisierConfig) -> dict[str, ChannelConfig]:
    """Every channel written anywhere in the file, by name (the first one of a name wins)."""
    found: dict[str, ChannelConfig] = {}
    layers: list[list[ChannelConfig] | None] = [config.notifications]
    layers += [d.notifications for d in config.environments.values()]
    for fraise in config.fraises.values():
        if isinstance(fraise.notifications, list):
            layers.append(fraise.notifications)
        layers += [e.notifications for e in fraise.environments.values()]
    for layer in layers:
        for channel in layer or []:
            found.setdefault(channel.name, channel)
    return found


def redact(text: str, url: str) -> str:
    """`text` without any part of `url` that could be a secret (user, password, host,
    path segments, query values), and without the URL itself."""
    secrets = {url}
    try:
        parts = urlsplit(url)
        pieces = [parts.netloc, parts.username, parts.password, parts.hostname, parts.query]
        pieces += parts.path.split("/")
        pieces += [value for pair in parts.query.split("&") for value in pair.split("=")[1:]]
    except ValueError:
        pieces = []
    for piece in pieces:
        if piece and len(piece) >= 4:
            secrets.update({piece, unquote(piece)})
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class _ThreadLog(logging.Handler):
    """Apprise's log records of one thread (several sends may run at once)."""

    def __init__(self, thread_id: int) -> None:
        super().__init__(logging.DEBUG)
        self.thread_id = thread_id
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread_id and record.levelno >= logging.INFO:
            self.lines.append(record.getMessage())


def bounded(work: Callable[[], Outcome], timeout: float, started: float,
            what: str) -> Outcome:
    """Run `work` on a thread of its own; give up waiting after `timeout` seconds. The
    thread may go on until its own socket timeouts end it, but nobody waits for it."""
    result: list[Outcome] = []

    def run() -> None:
        try:
            result.append(work())
        except Exception as exc:  # noqa: BLE001 - any failure is the attempt's outcome
            result.append(Outcome(ok=False, duration_seconds=time.monotonic() - started,
                                  error=f"{type(exc).__name__}: {exc}"))

    thread = threading.Thread(target=run, name=f"notify-{what}", daemon=True)
    thread.start()
    thread.join(timeout)
    if result:
        return result[0]
    return Outcome(ok=False, duration_seconds=time.monotonic() - started,
                   error=f"no answer within {timeout:g} s (notifier.timeout_seconds)")


def send(channel: ChannelConfig, title: str, body: str, *, timeout: float) -> Outcome:
    """Send one message; never raises, never takes much longer than `timeout` seconds."""
    url = channel.url.get_secret_value()
    logger = logging.getLogger("apprise")
    # Apprise's lines may name the URL: they reach only our capture, which cleans them,
    # never the process's log (set before the import, which logs too).
    logger.propagate = False
    # Imported before the clock starts: loading its plugins is not the channel's time.
    import apprise

    started = time.monotonic()

    def work() -> Outcome:
        capture = _ThreadLog(threading.get_ident())
        logger.addHandler(capture)
        previous_level = logger.level
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
        try:
            plugin: Any = apprise.Apprise.instantiate(url)
            if plugin is None:
                return Outcome(ok=False, duration_seconds=time.monotonic() - started,
                               error=f"Apprise cannot use this {scheme_of(url)} URL"
                               + _detail(capture.lines, url))
            # The attempt is bounded by `bounded` below; the plugin's own socket timeouts,
            # a little longer, only end the abandoned thread soon after. Retries are the
            # notifier's.
            plugin.socket_connect_timeout = timeout + 1
            plugin.socket_read_timeout = timeout + 1
            plugin.request_rate_per_sec = 0
            ok = bool(plugin.notify(body=body, title=title))
        finally:
            logger.removeHandler(capture)
            logger.setLevel(previous_level)
        detail = _detail(capture.lines, url)
        match = _HTTP_STATUS.search(" ".join(capture.lines))
        return Outcome(ok=ok, duration_seconds=time.monotonic() - started,
                       http_status=int(match.group(1)) if match else None,
                       error=None if ok else (detail.removeprefix(": ") or "not delivered"))

    return bounded(work, timeout, started, channel.name)


def _detail(lines: list[str], url: str) -> str:
    interesting = [line for line in lines if not line.startswith(("Loaded ", "Sent "))]
    if not interesting:
        return ""
    return ": " + redact("; ".join(interesting[-3:]), url)[:500]
