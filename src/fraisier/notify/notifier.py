"""The notifier: follows the tb_event outbox from a durable cursor, plans the deliveries each
event owes, and delivers what is due — each attempt bounded in time, recorded, retried with
exponential backoff up to `notifier.max_attempts`, then given up loudly.

It runs on a thread of the worker process, or alone (`fraisier notifier`). Deployments only
write events; nothing here can delay or change one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from fraisier.config.model import FraisierConfig
from fraisier.config.notifications import scheme_of
from fraisier.notify import channels, git
from fraisier.notify.events import OUTBOX_TYPES
from fraisier.notify.fields import deployment_fields
from fraisier.notify.plan import deliveries_for
from fraisier.notify.templates import message
from fraisier.providers.api import ApiError
from fraisier.store import Store, StoreError
from fraisier.store.notifications import GAVE_UP, NewDelivery, Outcome
from fraisier.store.tail import OutboxTail

log = logging.getLogger("fraisier.notifier")

CURSOR = "notifier"


def needed(config: FraisierConfig) -> bool:
    """Is there anything to notify? (no channel and no provider token: no thread)."""
    if channels.all_channels(config):
        return True
    return any(git.provider_target(target) is not None for target in config.targets())


class Notifier:
    def __init__(self, config: FraisierConfig, store: Store, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.store = store
        self.settings = config.notifier
        self.clock = clock
        self._tail: OutboxTail | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the outbox ----------------------------------------------------------------------
    def _open_tail(self) -> OutboxTail:
        saved = self.store.notifications.cursor(CURSOR)
        if saved is None:  # the cursor row was removed: start at the end of the outbox
            return OutboxTail(self.store, after=self.store.events.last_id(), types=OUTBOX_TYPES)
        return OutboxTail.resume(self.store, *saved, types=OUTBOX_TYPES)

    def plan(self) -> int:
        """Read the outbox from the cursor and plan the deliveries: how many events read."""
        if self._tail is None:
            self._tail = self._open_tail()
        read = 0
        while True:
            rows = self._tail.poll()
            deliveries: list[NewDelivery] = []
            for row in rows:
                try:
                    deliveries += deliveries_for(self.config, row)
                except Exception:
                    log.exception("notifier: cannot plan event %s", row.get("id"))
            floor, delivered = self._tail.position
            # Deliveries and the cursor past them, in one transaction.
            self.store.notifications.plan(CURSOR, floor, delivered, deliveries)
            read += len(rows)
            if len(rows) < self._tail.batch:
                return read

    # -- deliveries ----------------------------------------------------------------------
    def deliver_due(self, limit: int = 50) -> int:
        """Attempt every delivery that is due; how many attempts were made."""
        attempts = 0
        for row in self.store.notifications.due(limit):
            if self._stop.is_set():
                break
            if row["kind"] == "issue" and self.store.notifications.waits_for_earlier(row):
                continue
            if row["kind"] in ("commit_status", "deployment") and (
                    self.store.notifications.superseded(row)):
                self.store.notifications.skip(row, "a later status was already delivered")
                continue
            if not self.store.notifications.claim(row["id"], self.settings.timeout_seconds + 60):
                continue
            outcome = self.attempt(row)
            retry_in = min(self.settings.retry_base_seconds * 2 ** int(row["attempts"]),
                           self.settings.retry_max_seconds)
            status = self.store.notifications.record(
                row, outcome, max_attempts=self.settings.max_attempts, retry_in=retry_in)
            attempts += 1
            if status == GAVE_UP:
                log.error("notification given up after %d attempt(s): %s %s of event %s "
                          "(deployment %s): %s", int(row["attempts"]) + 1, row["channel"],
                          row["event"], row["event_id"], row["deployment_id"], outcome.error)
            elif not outcome.ok and not outcome.skipped:
                log.warning("notification failed (attempt %d, retry in %g s): %s %s: %s",
                            int(row["attempts"]) + 1, retry_in, row["channel"], row["event"],
                            outcome.error)
        return attempts

    def attempt(self, row: dict[str, Any]) -> Outcome:
        """One attempt at one delivery, never longer than notifier.timeout_seconds."""
        timeout = self.settings.timeout_seconds
        started = time.monotonic()
        try:
            fields = deployment_fields(self.store, self.config, row)
        except StoreError as exc:
            return Outcome(ok=False, duration_seconds=time.monotonic() - started,
                           error=f"reading the deployment: {exc}")
        if row["kind"] == "message":
            channel = channels.all_channels(self.config).get(row["channel"])
            if channel is None:
                return Outcome(ok=False, skipped=True, duration_seconds=0.0,
                               error=f"channel {row['channel']!r} is no longer configured")
            title, body = message(channel.title, channel.body, fields)
            return channels.send(channel, title, body, timeout=timeout)

        def call() -> Outcome:
            try:
                status = git.deliver_to_provider(self.store, self.config, row, fields, timeout)
            except git.Skip as skip:
                return Outcome(ok=False, skipped=True,
                               duration_seconds=time.monotonic() - started, error=str(skip))
            except ApiError as exc:
                return Outcome(ok=False, duration_seconds=time.monotonic() - started,
                               http_status=exc.status, error=str(exc))
            return Outcome(ok=True, duration_seconds=time.monotonic() - started,
                           http_status=status)

        return channels.bounded(call, timeout, started, row["channel"])

    # -- running -------------------------------------------------------------------------
    def step(self) -> int:
        """Plan what the outbox holds, deliver what is due; how much was done."""
        return self.plan() + self.deliver_due()

    def run(self, stop: Callable[[], bool] | None = None) -> None:
        """Until `stop()` (or `stop_thread`): errors of the state database are logged and
        the loop goes on after a pause."""
        while not self._stop.is_set() and not (stop is not None and stop()):
            try:
                busy = self.step()
            except StoreError as exc:
                log.warning("notifier: %s", exc)
                busy = 0
            except Exception:
                log.exception("notifier: unexpected error")
                busy = 0
            if not busy:
                self._stop.wait(self.settings.poll_interval)

    def start_thread(self, name: str = "notifier") -> Notifier:
        self._thread = threading.Thread(target=self.run, name=name, daemon=True)
        self._thread.start()
        log.info("notifier started (%d channel(s))", len(channels.all_channels(self.config)))
        return self

    def stop_thread(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def test_channel(config: FraisierConfig, name: str | None = None) -> list[dict[str, Any]]:
    """Send a test message to one channel (or every channel); what each answered. Never
    shows more of a URL than its scheme."""
    found = channels.all_channels(config)
    if name is not None and name not in found:
        known = ", ".join(found) or "none"
        raise KeyError(f"no channel named {name!r} (channels: {known})")
    fields = dict.fromkeys(("event", "fraise", "environment", "status"), "")
    fields["event"] = "test"
    answers = []
    for channel in ([found[name]] if name is not None else list(found.values())):
        title, body = message(None, None, fields)
        outcome = channels.send(channel, title, body, timeout=config.notifier.timeout_seconds)
        answers.append({"channel": channel.name,
                        "scheme": scheme_of(channel.url.get_secret_value()),
                        "ok": outcome.ok, "http_status": outcome.http_status,
                        "error": outcome.error,
                        "duration_seconds": round(outcome.duration_seconds, 3)})
    return answers
