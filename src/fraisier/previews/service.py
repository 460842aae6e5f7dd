"""The rules of preview environments, in one place: the webhook path (ingest), the CLI and
the GraphQL API call these and only translate their answers.

| event / request        | does                                              | refused or ignored when  |
|------------------------|---------------------------------------------------|--------------------------|
| opened, reopened       | records the preview `pr-<n>` and queues a         | from a fork (unless      |
|                        | deployment of the head (database cloned by its    | `allow_forks`), at       |
|                        | first step)                                       | `max_active`, port taken |
| new commits            | queues a deployment of the new head (a queued one | as opened, when the      |
|                        | is superseded: coalesced like pushes)             | preview is not open yet  |
| closed, merged,        | marks the preview `removing` and queues its       | no open preview          |
| `preview destroy`, TTL | teardown (stop, drop database, remove files)      |                          |

`max_active` refuses: the refusal is the webhook's recorded outcome (`ignored` with the
reason); the next event of that pull request (a new commit, reopening it) tries again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from fraisier.domain.audit import AuditOutcome
from fraisier.domain.model import Trigger, WebhookOutcome, utc_now, utc_timestamp
from fraisier.domain.previews import (
    PreviewStatus,
    PullRequestAction,
    PullRequestEvent,
    preview_environment,
)
from fraisier.engine.service import NotFound, record_action

if TYPE_CHECKING:
    from fraisier.config import FraisierConfig
    from fraisier.domain.audit import Actor
    from fraisier.store import Store
    from fraisier.store.previews import PreviewRecord

TEARDOWN_OPTION = "preview_teardown"


@dataclass
class Outcome:
    """What a pull-request event did: the webhook log's outcome, reason and deployments."""

    outcome: WebhookOutcome = WebhookOutcome.IGNORED
    reasons: list[str] = field(default_factory=list)
    deployment_ids: list[int] = field(default_factory=list)

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def preview_fraises(config: FraisierConfig, fraises: list[str]) -> list[str]:
    """Those of `fraises` that have `previews:` configured, in file order, once each."""
    return [name for name in dict.fromkeys(fraises) if config.fraises[name].previews]


def on_pull_request(store: Store, config: FraisierConfig, event: PullRequestEvent,
                    fraises: list[str], *, webhook_event_id: int | None = None,
                    now: datetime | None = None) -> Outcome:
    """Apply one verified pull-request event to the previews of `fraises` (those whose
    repository it is and whose secrets verified it). Runs inside the caller's transaction."""
    outcome = Outcome()
    chosen = preview_fraises(config, fraises)
    if not chosen:
        outcome.reasons.append(f"no fraise of {event.repository!r} has previews configured")
    with store.db.transaction():
        for fraise in chosen:
            deployment_id, reason = _apply(store, config, fraise, event, webhook_event_id,
                                           utc_timestamp(now))
            if deployment_id is not None:
                outcome.deployment_ids.append(deployment_id)
            if reason:
                outcome.reasons.append(reason)
    if outcome.deployment_ids:
        outcome.outcome = WebhookOutcome.QUEUED
    return outcome


def _apply(store: Store, config: FraisierConfig, fraise: str, event: PullRequestEvent,
           webhook_event_id: int | None, now: str) -> tuple[int | None, str]:
    previews = config.fraises[fraise].previews
    assert previews is not None
    number, environment = event.number, preview_environment(event.number)
    existing = store.previews.get(fraise, number)
    is_open = existing is not None and existing.status != PreviewStatus.REMOVED.value
    if event.action is PullRequestAction.CLOSED:
        if not is_open:
            return None, f"{fraise}: pull request #{number} has no open preview"
        what = "merged" if event.merged else "closed"
        return _teardown(store, fraise, number, f"pull request #{number} was {what}",
                         Trigger.WEBHOOK, webhook_event_id), ""
    if event.from_fork and not previews.allow_forks:
        return None, (f"{fraise}: pull request #{number} comes from a fork; its code would run "
                      "with the preview's secrets (set previews.allow_forks: true to deploy "
                      "forks)")
    if not is_open:
        refused = _capacity_problem(store, config, fraise, number)
        if refused:
            return None, refused
        from fraisier.config import UnknownTarget

        try:
            target = config.target(fraise, environment)
        except UnknownTarget as exc:  # e.g. a database name the template makes invalid
            return None, str(exc)
        assert target.preview is not None
        store.previews.save_open(
            fraise=fraise, number=number, environment=environment, provider=event.provider,
            repository=event.repository, title=event.title, pull_url=event.url,
            head_branch=event.head_branch, head_sha=event.head_sha, url=target.preview.url,
            port=target.preview.port,
            database=target.preview.database.name if target.preview.database else "",
            now=now)
    else:
        store.previews.new_head(fraise, number, event.head_sha, now)
    record = store.queue.enqueue(
        fraise, environment, trigger=Trigger.WEBHOOK.value, branch=event.head_branch,
        requested_commit=event.head_sha, options={"preview": number},
        webhook_event_id=webhook_event_id)
    return record.id, ""


def _capacity_problem(store: Store, config: FraisierConfig, fraise: str, number: int
                      ) -> str | None:
    previews = config.fraises[fraise].previews
    assert previews is not None
    open_now = store.previews.open_previews(fraise)
    if len(open_now) >= previews.max_active:
        return (f"{fraise}: {len(open_now)} previews are open (previews.max_active: "
                f"{previews.max_active}); pull request #{number} gets one when a preview is "
                "removed and it is reopened or receives a new commit")
    port = previews.port_of(number)
    holders = [p.number for p in open_now if p.port == port and p.number != number]
    if holders:
        return (f"{fraise}: port {port} of pull request #{number} is held by the preview of "
                f"#{holders[0]} (widen previews.ports)")
    return None


def _teardown(store: Store, fraise: str, number: int, reason: str, trigger: Trigger,
              webhook_event_id: int | None = None) -> int:
    with store.db.transaction():
        store.previews.set_status(fraise, number, PreviewStatus.REMOVING, reason=reason)
        record = store.queue.enqueue(
            fraise, preview_environment(number), trigger=trigger.value,
            options={TEARDOWN_OPTION: True, "reason": reason},
            webhook_event_id=webhook_event_id)
    return record.id


def destroy(store: Store, config: FraisierConfig, fraise: str, number: int, *,
            trigger: Trigger = Trigger.CLI, actor: Actor | None = None) -> int:
    """Queue the removal of an open preview (`fraisier preview destroy`, the API); the
    teardown deployment's id. NotFound when the fraise has no open preview `number`."""
    subject = f"{fraise}/{preview_environment(number)}"
    existing = store.previews.get(fraise, number) if fraise in config.fraises else None
    if existing is None or existing.status == PreviewStatus.REMOVED.value:
        error = (f"unknown fraise {fraise!r}" if fraise not in config.fraises
                 else f"{fraise} has no open preview of pull request #{number} (see "
                 "`fraisier previews`)")
        record_action(store.db, actor, "preview.destroy", subject, AuditOutcome.REFUSED,
                      detail=error)
        raise NotFound(error)
    deployment_id = _teardown(store, fraise, number, f"destroyed by request ({trigger})",
                              trigger)
    record_action(store.db, actor, "preview.destroy", subject, AuditOutcome.OK,
                  deployment_id=deployment_id)
    return deployment_id


def reap(store: Store, config: FraisierConfig, now: datetime | None = None) -> list[int]:
    """Queue the removal of every active preview without a new commit for longer than its
    fraise's `previews.ttl`; the teardown deployments' ids."""
    moment = now or utc_now()
    queued: list[int] = []
    for preview in store.previews.find(status=PreviewStatus.ACTIVE.value):
        fraise = config.fraises.get(preview.fraise)
        ttl = fraise.previews.ttl if fraise is not None and fraise.previews else None
        if ttl is None:
            continue
        if preview.updated_at < utc_timestamp(moment - timedelta(seconds=ttl)):
            queued.append(_teardown(
                store, preview.fraise, preview.number,
                f"no new commit since {preview.updated_at} (previews.ttl: {ttl:g} s)",
                Trigger.SCHEDULE))
    return queued


def list_previews(store: Store, *, fraise: str | None = None,
                  include_removed: bool = False) -> list[PreviewRecord]:
    """Open previews (active or being removed); with `include_removed`, every one."""
    found = store.previews.find(fraise=fraise)
    return found if include_removed else [
        p for p in found if p.status != PreviewStatus.REMOVED.value]
