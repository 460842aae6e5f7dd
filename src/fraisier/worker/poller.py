"""Poll mode: for servers a git provider cannot reach. Each environment with `poll: 60s` has
its branch head checked with `git ls-remote` that often; when it moved since the last check
(or differs from what was last deployed, the first time), a deployment of that commit is
queued with trigger `poll`.

One `git ls-remote` per repository answers for every polled environment deploying from it.
Never two polls of one repository at once: a poll first takes the repository's row in
tb_poll (store/polls.py), which also spaces the polls of every process sharing the state
database; within one process, repositories are polled one after the other.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from typing import TYPE_CHECKING

from fraisier.domain.audit import system_actor
from fraisier.domain.model import Trigger
from fraisier.store import StoreError

if TYPE_CHECKING:
    from fraisier.config.model import FraisierConfig
    from fraisier.config.resolve import Target
    from fraisier.store import Store

log = logging.getLogger("fraisier.poll")

HOLD_SECONDS = 120.0  # a poller that died holding a repository lets go after this
LS_REMOTE_TIMEOUT = 60.0


class Poller:
    def __init__(self, config: FraisierConfig, store: Store, owner: str):
        self.config, self.store, self.owner = config, store, owner

    def polled(self) -> dict[str, list[Target]]:
        """Repository -> its environments with `poll`, from the current configuration."""
        found: dict[str, list[Target]] = defaultdict(list)
        for target in self.config.targets():
            if target.poll is not None:
                found[target.repository].append(target)
        return dict(found)

    def poll_due(self) -> list[int]:
        """Poll every repository that is due and not being polled; returns the ids of the
        deployments queued."""
        queued: list[int] = []
        for repository, targets in self.polled().items():
            every = min(t.poll for t in targets if t.poll is not None)
            try:
                if not self.store.polls.begin(repository, self.owner, every_seconds=every,
                                              hold_seconds=HOLD_SECONDS):
                    continue  # not due, or another poller has it
            except StoreError as exc:
                log.warning("poll of %s: %s", repository, exc)
                continue
            try:
                queued += self._poll(repository, targets)
            finally:
                self.store.polls.end(repository, self.owner)
        return queued

    def _poll(self, repository: str, targets: list[Target]) -> list[int]:
        from fraisier.api.redact import redact_url
        from fraisier.engine.git import GitError, remote_heads
        from fraisier.engine.service import request_deployment

        try:
            heads = remote_heads(repository, timeout=LS_REMOTE_TIMEOUT)
        except GitError as exc:
            log.warning("poll of %s: %s", redact_url(repository), exc)
            return []
        queued = []
        for target in targets:
            head = heads.get(target.branch)
            if head is None:
                log.warning("poll of %s: no branch %r in %s", target.name, target.branch,
                            redact_url(repository))
                continue
            seen = self.store.polls.last_head(target.fraise, target.environment)
            if seen is None:
                seen = self.store.polls.last_commit_deployed(target.fraise, target.environment)
            if seen != head:
                record = request_deployment(
                    self.store, self.config, target.fraise, target.environment,
                    trigger=Trigger.POLL, commit=head, branch=target.branch,
                    actor=system_actor("poll"))
                log.info("poll of %s: %s moved to %s; deployment %s queued", target.name,
                         target.branch, head[:12], record.id,
                         extra={"deployment_id": record.id, "fraise": target.fraise,
                                "environment": target.environment, "commit": head})
                queued.append(record.id)
            self.store.polls.remember(target.fraise, target.environment, head)
        return queued

    def run(self, done: threading.Event, tick: float = 1.0) -> None:
        """Poll what is due every `tick` seconds until `done` is set."""
        while not done.is_set():
            try:
                self.poll_due()
            except Exception:  # a poll that broke must not end polling
                log.exception("poll failed")
            done.wait(tick)
