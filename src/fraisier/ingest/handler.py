"""One webhook request, start to finish: provider, signature, parse, routing, then the
write that records the event and queues its deployments (with other requests' writes, in one
transaction; only "is it a duplicate?" is left for that write to settle)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fraisier.domain.model import WebhookOutcome, utc_timestamp
from fraisier.domain.previews import PullRequestEvent
from fraisier.ingest.group_commit import GroupCommit
from fraisier.ingest.result import IngestResult, WebhookRequest
from fraisier.ingest.routing import repository_candidates, route_all, verified_targets
from fraisier.providers import (
    PROVIDERS,
    Delivery,
    MalformedPayload,
    Provider,
    SignatureError,
    detect_provider,
    get_provider,
    lower_headers,
)
from fraisier.store import StoreError
from fraisier.store.intake import NewDeployment, WebhookRecord

if TYPE_CHECKING:
    from fraisier.config import FraisierConfig, Target
    from fraisier.store import Store

log = logging.getLogger("fraisier.ingest")


@dataclass(slots=True)
class Receipt:
    """A prepared request: the row that will record it, and its answer when the answer does
    not depend on the write (None: queued or duplicate, known once written)."""

    record: WebhookRecord
    answer: IngestResult | None = None
    # A verified pull-request event and the fraises it may touch: applied by `write`, in the
    # transaction that records it (previews/service.py decides).
    pull_request: PullRequestEvent | None = None
    pull_request_fraises: list[str] | None = None

    def result(self) -> IngestResult:
        """The answer, once `record` is written."""
        if self.record.duplicate:
            return IngestResult.duplicate()
        if self.answer is not None:
            return self.answer
        return IngestResult.queued(self.record.deployment_ids)


class Ingest:
    """Holds what does not change between requests: the config, its targets, the store."""

    def __init__(self, config: FraisierConfig, store: Store) -> None:
        self.config = config
        self.store = store
        self.targets = list(config.targets())
        self.writer = GroupCommit(store.db, self.write)

    def close(self) -> None:
        """Commit what is pending and stop the writer."""
        self.writer.close()

    def handle(self, request: WebhookRequest, now: float | None = None) -> IngestResult:
        try:
            result: IngestResult = self.writer.run(self.prepare(request, now))
            return result
        except StoreError as exc:
            return unavailable(exc)

    def prepare(self, request: WebhookRequest, now: float | None = None) -> Receipt:
        """Everything that needs no database (provider, parse, signature, routing); gives
        back the receipt to hand to `writer` (`handle` does). A StoreError from
        that write means "answer 503"."""
        received_at = utc_timestamp()
        headers = lower_headers(request.headers)  # once; providers reuse it as is
        provider: Provider | None
        if request.provider is not None:
            if request.provider not in PROVIDERS:
                return self.refusal(request, 404, f"unknown provider {request.provider[:40]!r}")
            provider = get_provider(request.provider)
        else:
            provider = detect_provider(headers)
        if provider is None:
            return self.refusal(request, 400, "cannot tell which provider sent this request")
        delivery: Delivery | None = None
        malformed: MalformedPayload | None = None
        try:
            delivery = provider.parse(headers, request.body)
        except MalformedPayload as exc:
            malformed = exc
        # Verify before answering anything else: an unsigned request learns nothing.
        heads = (delivery.pushes or tuple(p.head_push() for p in delivery.pull_requests)
                 if delivery is not None else ())
        candidates = repository_candidates(self.targets, heads) if heads else []
        try:
            verified = verified_targets(provider, headers, request.body,
                                        candidates or self.targets, now=now)
        except SignatureError as exc:
            return self.refusal(request, 401, exc.reason, provider=provider.name,
                                event_type=delivery.event_type if delivery else "")
        if delivery is None:
            assert malformed is not None
            return self.refusal(request, 400, malformed.reason, provider=provider.name)
        if not candidates:
            verified = []  # verified against another fraise's secret: it may trigger nothing
        return self._accept(request, delivery, verified, received_at)

    def refusal(self, request: WebhookRequest, status_code: int, reason: str, *,
                provider: str = "", event_type: str = "") -> Receipt:
        """The receipt of a refused request: recorded without its body, answered as such."""
        log.warning("webhook from %s rejected (%s): %s", request.source_ip or "?", status_code,
                    reason)
        record = WebhookRecord(
            received_at=utc_timestamp(), provider=provider, event_type=event_type,
            outcome=WebhookOutcome.REJECTED.value, reason=f"{status_code}: {reason}"[:500],
            source_ip=request.source_ip,
            delivery_id=_short(request.headers.get("x-github-delivery")))
        return Receipt(record, IngestResult.rejected(status_code, reason))

    def _accept(self, request: WebhookRequest, delivery: Delivery, verified: list[Target],
                received_at: str) -> Receipt:
        push = delivery.pushes[-1] if delivery.pushes else None
        record = WebhookRecord(
            received_at=received_at, provider=delivery.provider,
            event_type=delivery.event_type, outcome=WebhookOutcome.IGNORED.value,
            delivery_id=_short(delivery.delivery_id), repository=delivery.repository[:300],
            ref=push.ref if push else "", branch=push.branch if push else None,
            tag=push.tag if push else None, commit_sha=push.after if push else None,
            sender=(push.sender if push else "")[:200],
            source_ip=request.source_ip, payload=request.body)  # digest: by the writer
        if delivery.kind == "ping":
            record.outcome = WebhookOutcome.PONG.value
            return Receipt(record, IngestResult.pong())
        if delivery.kind == "pull_request" and verified:
            pull = delivery.pull_requests[-1]
            record.ref, record.branch = f"refs/heads/{pull.head_branch}", pull.head_branch
            record.commit_sha, record.sender = pull.head_sha, pull.sender[:200]
            record.reason = f"pull request #{pull.number} {pull.action}"
            return Receipt(record, pull_request=pull,
                           pull_request_fraises=[t.fraise for t in verified])
        if delivery.kind == "pull_request":
            reason = (f"repository {delivery.repository!r} is not the repository of any "
                      "configured fraise")
        elif delivery.kind != "push":
            reason = f"{delivery.event_type} events do not deploy"
        elif not delivery.pushes:
            # e.g. a Bitbucket push whose `changes` is empty (signature already checked).
            reason = "no ref changed in this push: nothing to deploy"
        elif not verified:
            reason = (f"repository {delivery.repository!r} is not the repository of any "
                      "configured fraise")
        else:
            routes, reason = route_all(delivery.pushes, verified, self.config.branch_mapping)
            if routes:
                record.outcome = WebhookOutcome.QUEUED.value
                record.deployments = [
                    NewDeployment(r.fraise, r.environment, r.push.branch or r.push.tag or "",
                                  r.push.after) for r in routes]
                return Receipt(record)
        record.reason = reason[:500]
        return Receipt(record, IngestResult.ignored(reason))

    def write(self, receipts: list[Receipt]) -> list[IngestResult]:
        """Record a batch of receipts and give their answers; runs inside the transaction
        of a group commit (`writer`, or the ingest process's)."""
        self.store.webhooks.intake.record(
            [r.record for r in receipts],
            duplicate_window=self.config.webhook.duplicate_window_seconds)
        for receipt in receipts:
            if receipt.pull_request is not None and not receipt.record.duplicate:
                self._apply_pull_request(receipt)
        results = [r.result() for r in receipts]
        _log_batch(receipts)
        return results


    def _apply_pull_request(self, receipt: Receipt) -> None:
        """The previews' rules applied to a recorded pull-request event; its row then says
        what they did (queued, or ignored with the reason)."""
        from fraisier.previews.service import on_pull_request

        assert receipt.pull_request is not None and receipt.pull_request_fraises is not None
        record = receipt.record
        done = on_pull_request(self.store, self.config, receipt.pull_request,
                               receipt.pull_request_fraises, webhook_event_id=record.id)
        record.outcome, record.deployment_ids = done.outcome.value, done.deployment_ids
        record.reason = (done.reason or record.reason)[:500]
        self.store.webhooks.set_outcome(record.id, record.outcome, record.reason,
                                        record.deployment_ids)
        receipt.answer = (IngestResult.queued(done.deployment_ids) if done.deployment_ids
                          else IngestResult.ignored(record.reason))


def _log_batch(receipts: list[Receipt]) -> None:
    """One line per batch for what was queued (a batch is one request when traffic is light),
    one per ignored request with its reason; refusals were logged when they were made."""
    if not log.isEnabledFor(logging.INFO):
        return
    queued: list[int] = []
    counts: dict[str, int] = {}
    for receipt in receipts:
        record = receipt.record
        outcome = record.recorded_outcome
        if outcome == WebhookOutcome.QUEUED:
            queued.extend(record.deployment_ids)
        elif outcome == WebhookOutcome.IGNORED:
            log.info("webhook %s ignored: %s", record.delivery_id or record.id, record.reason)
        elif outcome != WebhookOutcome.REJECTED:
            counts[outcome] = counts.get(outcome, 0) + 1
    parts = [f"queued deployment{'s' if len(queued) > 1 else ''} {_ids(queued)}"] if queued else []
    parts += [f"{n} {outcome}" for outcome, n in sorted(counts.items())]
    if parts:
        log.info("webhooks recorded: %s", ", ".join(parts))


def _ids(ids: list[int]) -> str:
    if len(ids) > 3 and ids == list(range(ids[0], ids[0] + len(ids))):
        return f"{ids[0]}-{ids[-1]}"
    return ", ".join(map(str, ids))


def unavailable(exc: StoreError) -> IngestResult:
    """The answer when the state database cannot record a request: the sender retries."""
    log.error("webhook not recorded, answering 503: %s", exc)
    return IngestResult.rejected(503, "state database unavailable; retry later")


def _short(value: str | None) -> str | None:
    return value[:200] if value else None
