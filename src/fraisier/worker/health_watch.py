"""The health watch: between deployments, each environment's live release gets one attempt
of its health check every `health_check.watch_interval` seconds, and the result is kept in
tb_health (store/health.py). A change (it stopped answering, or answers again) is an event,
so the dashboard's "needs attention" list and `fraisier status` show a release that went bad
after it was deployed.

Not watched: an environment with a deployment running (its own health check is the judge
then, and a restart in progress is not an outage), one with nothing live yet, and fleet
environments (`rollout.hosts`: each host is checked by its own rollout). `checked_at` in
the database spaces the checks of every worker sharing it, as tb_poll does for polls.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import TYPE_CHECKING

from fraisier.domain.model import ACTIVE_STATUSES, utc_now, utc_timestamp
from fraisier.engine.health import probe_live
from fraisier.secrets import SecretError, resolve_target
from fraisier.store import StoreError

if TYPE_CHECKING:
    from fraisier.config.model import FraisierConfig
    from fraisier.config.resolve import Target
    from fraisier.store import Store

log = logging.getLogger("fraisier.health")


def is_watched(target: Target) -> bool:
    return (target.health_check is not None and target.health_check.watch_interval > 0
            and (target.rollout is None or not target.rollout.hosts))


class HealthWatch:
    def __init__(self, config: FraisierConfig, store: Store):
        self.config, self.store = config, store
        self._kept: frozenset[tuple[str, str]] | None = None  # what tb_health was pruned to

    def watched(self) -> list[Target]:
        """The environments whose live release is watched, from the current configuration."""
        return [target for target in self.config.targets() if is_watched(target)]

    def check_due(self) -> int:
        """Check every watched environment that is due; returns how many were checked."""
        checked = 0
        watched = self.watched()
        keys = frozenset((t.fraise, t.environment) for t in watched)
        if keys != self._kept:  # at start and after a reload: forget what is not watched
            self.store.health.keep_only(keys)
            self._kept = keys
        for target in watched:
            if self._due(target):
                try:  # `${secret:...}` references (e.g. health_check.auth_token) fetched
                    resolved = resolve_target(self.config, target)
                except SecretError as exc:  # a backend that is down says nothing of the app
                    log.warning("health watch of %s: %s", target.name, exc)
                    continue
                ok, detail = probe_live(resolved)
                if self._deploying(target):
                    continue  # a deployment began meanwhile: what was seen says nothing
                if self.store.health.record(target.fraise, target.environment, ok, detail):
                    log.log(logging.INFO if ok else logging.WARNING, "%s: health %s: %s",
                            target.name, "ok" if ok else "failing", detail)
                checked += 1
        return checked

    def _due(self, target: Target) -> bool:
        """Something is live, no deployment is under way, and either the last check (by any
        process) is `watch_interval` old or a deployment ended since (it changed what is
        live: what was seen before says nothing about it)."""
        assert target.health_check is not None  # watched() keeps only those with one
        key = (target.fraise, target.environment)
        status = self.store.views.status_of([key]).get(key)
        if status is None or status["current_release"] is None:
            return False
        if status["last_status"] in ACTIVE_STATUSES:
            return False
        seen = self.store.health.of([key]).get(key)
        if seen is None or (status["last_completed_at"] or "") > seen.checked_at:
            return True
        every = timedelta(seconds=target.health_check.watch_interval)
        return seen.checked_at <= utc_timestamp(utc_now() - every)

    def _deploying(self, target: Target) -> bool:
        key = (target.fraise, target.environment)
        status = self.store.views.status_of([key]).get(key)
        return status is not None and status["last_status"] in ACTIVE_STATUSES

    def run(self, done: threading.Event, tick: float = 1.0) -> None:
        """Check what is due every `tick` seconds until `done` is set."""
        while not done.is_set():
            try:
                self.check_due()
            except StoreError as exc:  # the database is away: try again next tick
                log.warning("health watch: %s", exc)
            except Exception:  # a check that broke must not end the watch
                log.exception("health watch failed")
            done.wait(tick)
