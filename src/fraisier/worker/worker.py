"""A worker: `concurrency` slots, each claiming and running one deployment at a time.

Beside the slots, one housekeeping thread beats the worker's row in tb_worker (so `fraisier
deploy` knows to queue instead of running in-process) and takes over deployments whose lease
expired (their worker died). Each is recovered on a thread of its own, its lease renewed by
housekeeping like a running deployment's: undoing a rollout on many hosts takes time.
Housekeeping also deletes recorded webhook requests older than `webhook.retention_days`,
a few thousand per beat until none is left, then again an hour later. Two more threads poll
repositories (poll mode, worker/poller.py) and watch the live releases' health between
deployments (worker/health_watch.py).

Stopping: no more claims; running deployments get `shutdown_grace_seconds` to finish, then
they are cancelled (their compensations run), and whatever is still running when the process
ends is left to recovery by the next worker.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from fraisier.domain.model import utc_now, utc_timestamp
from fraisier.store import StoreError
from fraisier.store.queue import WAKE_CHANNEL
from fraisier.worker.wakeup import Wakeup, listen_postgres

if TYPE_CHECKING:
    from fraisier.config import FraisierConfig
    from fraisier.notify.notifier import Notifier
    from fraisier.reloader import ConfigReloader
    from fraisier.store import Store
    from fraisier.store.records import DeploymentRecord

log = logging.getLogger("fraisier.worker")

PRUNE_EVERY_SECONDS = 3600.0
REAP_PREVIEWS_EVERY_SECONDS = 60.0  # idle previews past their `previews.ttl`
PRUNE_PER_BEAT = 5000  # requests deleted per housekeeping beat at most: the beat stays short


class Worker:
    def __init__(self, config: FraisierConfig, store: Store, *, name: str | None = None,
                 concurrency: int | None = None):
        self.config = config
        self.store = store
        self.name = name or (f"worker:{socket.gethostname()}:{os.getpid()}:"
                             f"{uuid.uuid4().hex[:6]}")
        self.concurrency = concurrency or config.worker.concurrency
        self.lease_seconds = float(config.worker.lease_seconds)
        self.poll_interval = float(config.worker.poll_interval)
        self.grace_seconds = float(config.worker.shutdown_grace_seconds)
        self.wakeup = Wakeup()
        self.stopping = threading.Event()  # no more claims
        self._done = threading.Event()  # housekeeping ends
        self._running: dict[int, threading.Event] = {}
        self._running_lock = threading.Lock()
        self._slots: list[threading.Thread] = []
        self._helpers: list[threading.Thread] = []
        self._recoveries: dict[int, threading.Thread] = {}  # deployment id -> its recovery
        self._recovery_owner = f"{self.name}/recovery"
        self._next_prune = 0.0  # time.monotonic() at which old webhook requests are due
        self._next_reap = 0.0  # ... at which idle previews are looked for
        from fraisier.worker.poller import Poller

        self.poller = Poller(config, store, owner=self.name)  # environments with `poll:`
        from fraisier.worker.health_watch import HealthWatch

        self.health_watch = HealthWatch(config, store)  # live releases between deployments
        self.reloader: ConfigReloader | None = None  # set by the process that reloads
        self.notifier: Notifier | None = None  # delivers notifications on a thread of its own

    # -- life cycle ----------------------------------------------------------------------
    def start(self) -> Worker:
        self.store.workers.beat(self.name, self._ttl)
        self.store.events.listeners.append(self.wakeup.wake)
        self._helpers.append(self._thread("housekeeping", self._housekeeping))
        self._helpers.append(self._thread("poll", lambda: self.poller.run(self._done)))
        self._helpers.append(self._thread("health", lambda: self.health_watch.run(self._done)))
        if self.store.backend == "postgres":
            self._helpers.append(self._thread(
                "listen", lambda: listen_postgres(self.store.db.url, WAKE_CHANNEL, self.wakeup,
                                                  self._done)))
        for slot in range(self.concurrency):
            self._slots.append(self._thread(f"slot-{slot}", functools.partial(self._slot, slot)))
        self._start_notifier()
        log.info("worker %s started with %d slot(s)", self.name, self.concurrency)
        return self

    def stop(self, grace_seconds: float | None = None) -> None:
        """Stop claiming; let running deployments finish within the grace period, then cancel
        them and give their compensations up to one lease to run."""
        grace = self.grace_seconds if grace_seconds is None else grace_seconds
        self.stopping.set()
        self.wakeup.wake()
        self._join(self._slots, grace)
        if any(t.is_alive() for t in self._slots):
            with self._running_lock:
                cancels = list(self._running.items())
            for deployment_id, cancel in cancels:
                log.warning("deployment %s still running after %.0fs: cancelling it",
                            deployment_id, grace)
                cancel.set()
            self._join(self._slots, self.lease_seconds)
        self._join(list(self._recoveries.values()), grace)  # unfinished: the next worker's
        self._done.set()
        if self.notifier is not None:
            self.notifier.stop_thread()
        self._join(self._helpers, 5)
        try:
            self.store.events.listeners.remove(self.wakeup.wake)
        except ValueError:
            pass
        try:
            self.store.workers.remove(self.name)
        except StoreError:
            pass
        log.info("worker %s stopped", self.name)

    def _start_notifier(self) -> None:
        """Notifications are delivered from the outbox on a thread of their own: a channel
        that hangs or fails never touches a deployment."""
        if not self.config.notifier.enabled:
            return
        from fraisier.notify.notifier import Notifier, needed

        try:
            if needed(self.config):
                self.notifier = Notifier(self.config, self.store).start_thread(
                    f"{self.name}/notifier")
        except Exception:
            log.exception("the notifier could not start")

    def run_forever(self) -> None:
        """For `fraisier worker`: start, then wait until `stop()` is called (e.g. SIGTERM)."""
        self.start()
        while not self.stopping.wait(1.0):
            pass

    @property
    def running(self) -> list[int]:
        with self._running_lock:
            return sorted(self._running)

    # -- threads -------------------------------------------------------------------------
    @property
    def _ttl(self) -> float:
        return max(3 * self._beat_interval, self.lease_seconds)

    @property
    def _beat_interval(self) -> float:
        return max(0.2, min(self.lease_seconds / 3, 5.0))

    def _thread(self, role: str, target: Callable[[], None]) -> threading.Thread:
        thread = threading.Thread(target=target, name=f"{self.name}/{role}", daemon=True)
        thread.start()
        return thread

    @staticmethod
    def _join(threads: list[threading.Thread], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _slot(self, slot: int) -> None:
        from fraisier.engine.runner import execute
        from fraisier.planner import PLANNER

        owner = f"{self.name}/{slot}"
        while not self.stopping.is_set():
            seen = self.wakeup.mark()
            try:
                record = self.store.queue.claim_next(owner, self.lease_seconds)
            except StoreError as exc:
                log.warning("claim failed: %s", exc)
                record = None
            if record is None:
                self.wakeup.wait(seen, self.poll_interval, self.stopping)
                continue
            cancel = threading.Event()
            with self._running_lock:
                self._running[record.id] = cancel
            try:
                log.info("slot %s runs deployment %s", owner, record.id)
                # The configuration of this moment: a reload while it runs does not touch it.
                config = self._config_for(record)
                if config is None:
                    continue
                execute(self.store, config, record.id, planner=PLANNER, owner=owner,
                        lease_seconds=self.lease_seconds, cancel=cancel)
            except Exception:  # one bad deployment must not kill the slot
                log.exception("deployment %s crashed its runner", record.id)
            finally:
                with self._running_lock:
                    self._running.pop(record.id, None)

    def reconfigure(self, config: FraisierConfig) -> None:
        """Use a reloaded configuration for the deployments claimed from now on (and for
        poll mode and the notifier's channels); those running keep theirs."""
        self.config = config
        self.poller.config = config
        self.health_watch.config = config
        if self.notifier is not None:
            self.notifier.config = config

    def _config_for(self, record: DeploymentRecord) -> FraisierConfig | None:
        """The configuration to run `record` with. A target this worker does not know may be
        in a file it has not reloaded yet: look once more; if it is still unknown, fail the
        deployment saying why and what to do."""
        from fraisier.config import UnknownTarget

        try:
            self.config.target(record.fraise, record.environment)
            return self.config
        except UnknownTarget as exc:
            if self.reloader is not None and self.reloader.check():
                return self._config_for(record)
            error = (f"{exc}: this worker ({self.name}) runs the configuration it last loaded"
                     " successfully; if fraises.yaml has it now, the file was refused (see the"
                     " worker's log) or not reloaded yet: fix it, reload (systemctl reload "
                     "fraisier, or SIGHUP), then deploy again")
        log.warning("deployment %s: %s", record.id, error)
        self.store.queue.finish(record.id, "failed", error)
        return None

    def _housekeeping(self) -> None:
        while True:
            try:
                self.store.workers.beat(self.name, self._ttl)
                for deployment_id in list(self._recoveries):
                    self.store.queue.renew_lease(deployment_id, self._recovery_owner,
                                                 self.lease_seconds)
                if not self.stopping.is_set():
                    self.recover_expired()
                if time.monotonic() >= self._next_prune:
                    more = self.prune_webhook_requests() == PRUNE_PER_BEAT
                    self._next_prune = time.monotonic() + (0 if more else PRUNE_EVERY_SECONDS)
                if time.monotonic() >= self._next_reap:
                    self.reap_previews()
                    self._next_reap = time.monotonic() + REAP_PREVIEWS_EVERY_SECONDS
            except StoreError as exc:
                log.warning("housekeeping: %s", exc)
            if self._done.wait(self._beat_interval):
                return

    def reap_previews(self) -> list[int]:
        """Queue the removal of previews idle for longer than their `previews.ttl`."""
        if not any(fraise.previews for fraise in self.config.fraises.values()):
            return []
        from fraisier.previews.service import reap

        queued = reap(self.store, self.config)
        if queued:
            log.info("idle previews: removal queued as deployment(s) %s",
                     ", ".join(map(str, queued)))
        return queued

    def prune_webhook_requests(self) -> int:
        """Delete up to PRUNE_PER_BEAT recorded webhook requests older than
        `webhook.retention_days` (none when it is null); how many."""
        days = self.config.webhook.retention_days
        if days is None:
            return 0
        before = utc_timestamp(utc_now() - timedelta(days=days))
        deleted: int = self.store.webhooks.prune(before, limit=PRUNE_PER_BEAT)
        if deleted:
            log.info("deleted %d webhook request(s) received before %s (webhook.retention_days"
                     " = %g)", deleted, before, days)
        return deleted

    def recover_expired(self) -> list[int]:
        """Take over every deployment whose lease ran out and start its recovery; returns
        their ids."""
        taken = []
        for record in self.store.queue.expired():
            with self._running_lock:
                ours = record.id in self._running
            if ours:
                # Still running on one of this worker's slots: its lease renewal was late
                # (a loaded machine), nobody died. Recovering it would undo live work.
                continue
            if not self.store.queue.take_over(record.id, self._recovery_owner,
                                              self.lease_seconds):
                continue  # another worker got there first
            # Registered before it starts: it removes itself when done.
            thread = threading.Thread(target=self._recover, daemon=True,
                                      args=(record.id, record.lease_owner),
                                      name=f"{self.name}/recovery-{record.id}")
            self._recoveries[record.id] = thread
            thread.start()
            taken.append(record.id)
        return taken

    def _recover(self, deployment_id: int, dead_owner: str | None) -> None:
        from fraisier.engine.recovery import recover
        from fraisier.planner import PLANNER

        try:
            recover(self.store, self.config, deployment_id, dead_owner, planner=PLANNER)
        except Exception:  # leave it marked; never take the worker down
            log.exception("recovery of deployment %s failed", deployment_id)
            try:
                self.store.queue.finish(deployment_id, "interrupted",
                                        "worker died; recovery failed (see the log)")
            except StoreError:
                pass
        finally:
            self._recoveries.pop(deployment_id, None)
        self.wakeup.wake()  # the environment is free again
