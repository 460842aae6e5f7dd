"""Live configuration reload for `serve`, `worker` and `scheduler`: on SIGHUP, and when
fraises.yaml or the `.env` beside it changes, the file is loaded and validated again.

- A file that fails validation is refused: every problem is logged, and the configuration
  in use (the last good one) keeps serving.
- A good one is handed to each listener (the worker, the scheduler, the HTTP server);
  deployments already running finish with the configuration they started with, because the
  runner was given that configuration when it claimed them.
- Either way the audit log says so (action `config.reload`, actor the process itself).

What a reload cannot change in a running process (the state database, the listening
address, the worker's number of slots and lease length, the API's query limits) takes a
restart; a reload that changes them says so in the log.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from fraisier.domain.audit import AuditOutcome, system_actor

if TYPE_CHECKING:
    from fraisier.config.model import FraisierConfig
    from fraisier.store import Store

log = logging.getLogger("fraisier.config")

Listener = Callable[["FraisierConfig"], None]


def _fingerprint(path: Path) -> bytes:
    digest = hashlib.sha256()
    for file in (path, path.parent / ".env"):
        try:
            digest.update(file.read_bytes())
        except OSError:
            digest.update(b"\0missing\0")
        digest.update(b"\0")
    return digest.digest()


def needs_restart(old: FraisierConfig, new: FraisierConfig) -> list[str]:
    """The settings a running process keeps until it is restarted."""
    changed = []
    if old.state.url != new.state.url:
        changed.append("state.url")
    if old.worker != new.worker:
        changed.append("worker")
    if old.api != new.api:
        changed.append("api")
    return changed


class ConfigReloader:
    def __init__(self, config: FraisierConfig, store: Store | None, *, role: str,
                 prepare: Callable[[FraisierConfig], FraisierConfig] | None = None):
        """`prepare`: what the process does to a configuration before using it (the server
        fetches its webhook secrets); a failure there refuses the new file like a problem
        in it."""
        if config.config_path is None:
            raise ValueError("a configuration built in code has no file to reload")
        self.path = Path(config.config_path)
        self.current = config
        self.store = store
        self.role = role
        self.prepare = prepare
        self.listeners: list[Listener] = []
        self._seen = _fingerprint(self.path)
        self._requested = threading.Event()
        self._lock = threading.Lock()

    def request(self) -> None:
        """Ask for a reload (safe from a signal handler: it only sets a flag)."""
        self._requested.set()

    def check(self) -> bool:
        """Reload if asked to, or if the file or `.env` changed; True when a new
        configuration is now in use."""
        with self._lock:
            requested = self._requested.is_set()
            self._requested.clear()
            seen = _fingerprint(self.path)
            if not requested and seen == self._seen:
                return False
            self._seen = seen
            return self._reload("SIGHUP" if requested else "the file changed")

    def _reload(self, reason: str) -> bool:
        from fraisier.config import ConfigError, load_config
        from fraisier.secrets import SecretError

        try:
            config = load_config(self.path)
            if self.prepare is not None:
                config = self.prepare(config)
        except (ConfigError, SecretError) as exc:
            problems = [str(p) for p in (getattr(exc, "problems", None) or [exc])]
            log.error("configuration %s refused (%s): %d problem(s); still using the last "
                      "good one", self.path, reason, len(problems),
                      extra={"config_path": str(self.path), "outcome": "refused"})
            for problem in problems:
                log.error("  %s", problem)
            self._audit(AuditOutcome.FAILED, f"{reason}: " + "; ".join(problems))
            return False
        later = needs_restart(self.current, config)
        self.current = config
        for listener in self.listeners:
            listener(config)
        targets = sum(len(f.environments) for f in config.fraises.values())
        log.info("configuration %s reloaded (%s): %d fraise(s), %d environment(s)",
                 self.path, reason, len(config.fraises), targets,
                 extra={"config_path": str(self.path), "outcome": "reloaded"})
        if later:
            log.warning("changed, and used only after a restart: %s", ", ".join(later))
        self._audit(AuditOutcome.OK, reason + (f"; restart to apply {', '.join(later)}"
                                               if later else ""))
        return True

    def _audit(self, outcome: AuditOutcome, detail: str) -> None:
        if self.store is None:
            return
        from fraisier.engine.service import record_action

        try:
            record_action(self.store.db, system_actor(self.role), "config.reload",
                          str(self.path), outcome, detail=detail)
        except Exception:  # the reload itself must not fail because the log could not
            log.exception("could not record the reload in the audit log")

    def run(self, done: threading.Event, interval: float = 1.0) -> None:
        """Check every `interval` seconds (and at once after `request()`) until `done`."""
        while not done.is_set():
            try:
                self.check()
            except Exception:  # a reload that broke must not end reloading
                log.exception("configuration reload failed")
            done.wait(interval)
            # A SIGHUP during the wait is handled within `interval`: fine for a person.

    def start(self, done: threading.Event, interval: float = 1.0) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(done, interval),
                                  name=f"{self.role}/config-reload", daemon=True)
        thread.start()
        return thread
