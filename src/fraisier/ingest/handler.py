"""One webhook request, start to finish: provider, signature, parse, duplicates, routing,
then one transaction that records the event and queues its deployments."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from fraisier.domain.model import Trigger, WebhookOutcome
from fraisier.ingest.group_commit import GroupCommit
from fraisier.ingest.result import IngestResult, WebhookRequest
from fraisier.ingest.routing import repository_candidates, route_all, verified_targets
from fraisier.providers import (
    PROVIDERS,
    Delivery,
    MalformedPayload,
    SignatureError,
    detect_provider,
    get_provider,
    lower_headers,
)
from fraisier.store import StoreError

log = logging.getLogger("fraisier.ingest")

Write = Callable[[], IngestResult]  # runs inside a (shared) transaction


class Ingest:
    """Holds what does not change between requests: the config, its targets, the store."""

    def __init__(self, config, store):
        self.config = config
        self.store = store
        self.targets = list(config.targets())
        self.group_commit = GroupCommit(store.db)

    def close(self) -> None:
        """Commit what is pending and stop the writer thread."""
        self.group_commit.close()

    def handle(self, request: WebhookRequest, now: float | None = None) -> IngestResult:
        try:
            return self.group_commit.run(self.prepare(request, now))
        except StoreError as exc:
            return unavailable(exc)

    def reject(self, request: WebhookRequest, status_code: int, reason: str, *,
               provider: str = "", event_type: str = "") -> IngestResult:
        """Record a refused request (without its body) and answer it."""
        return self.group_commit.run(self.refusal(request, status_code, reason,
                                                  provider=provider, event_type=event_type))

    def prepare(self, request: WebhookRequest, now: float | None = None) -> Write:
        """Everything that needs no database (provider, parse, signature, routing inputs);
        gives back the write that records the request and decides its answer. Run that write
        with `group_commit` (`handle` does); a StoreError from it means "answer 503"."""
        headers = lower_headers(request.headers)  # once; providers reuse it as is
        if request.provider is not None:
            if request.provider not in PROVIDERS:
                return self.refusal(request, 404, f"unknown provider {request.provider[:40]!r}")
            provider = get_provider(request.provider)
        else:
            provider = detect_provider(headers)
            if provider is None:
                return self.refusal(request, 400,
                                    "cannot tell which provider sent this request")
        delivery: Delivery | None = None
        malformed: MalformedPayload | None = None
        try:
            delivery = provider.parse(headers, request.body)
        except MalformedPayload as exc:
            malformed = exc
        # Verify before answering anything else: an unsigned request learns nothing.
        candidates = (repository_candidates(self.targets, delivery.pushes)
                      if delivery is not None and delivery.pushes else [])
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
        return self._accept(request, delivery, verified)

    def refusal(self, request: WebhookRequest, status_code: int, reason: str, *,
                provider: str = "", event_type: str = "") -> Write:
        """The write that records a refused request (without its body) and answers it."""
        log.warning("webhook from %s rejected (%s): %s", request.source_ip or "?", status_code,
                    reason)
        delivery_id = _short(request.headers.get("x-github-delivery"))

        def write() -> IngestResult:
            self.store.webhooks.record(provider=provider, event_type=event_type,
                                       outcome=WebhookOutcome.REJECTED.value,
                                       reason=f"{status_code}: {reason}"[:500],
                                       source_ip=request.source_ip, delivery_id=delivery_id)
            return IngestResult.rejected(status_code, reason)

        return write

    def _accept(self, request: WebhookRequest, delivery: Delivery, verified: list) -> Write:
        digest = hashlib.sha256(request.body).hexdigest()
        window = self.config.webhook.duplicate_window_seconds
        push = delivery.pushes[-1] if delivery.pushes else None
        fields = dict(
            provider=delivery.provider, event_type=delivery.event_type,
            delivery_id=_short(delivery.delivery_id), repository=delivery.repository[:300],
            ref=push.ref if push else "", branch=push.branch if push else None,
            tag=push.tag if push else None, commit_sha=push.after if push else None,
            sender=(push.sender if push else "")[:200], body_digest=digest,
            source_ip=request.source_ip,
        )
        return lambda: self._record(request, delivery, verified, fields, digest, window)

    def _record(self, request: WebhookRequest, delivery: Delivery, verified: list,
                fields: dict, digest: str, window: int) -> IngestResult:
        # Runs inside the (shared) transaction: the event and its deployments commit together.
        if self.store.webhooks.seen(provider=delivery.provider,
                                    delivery_id=fields["delivery_id"],
                                    body_digest=digest if window > 0 else None,
                                    window_seconds=window):
            self.store.webhooks.record(**fields, outcome=WebhookOutcome.DUPLICATE.value,
                                       reason="delivery already received")
            return IngestResult.duplicate()
        if delivery.kind == "ping":
            self.store.webhooks.record(**fields, outcome=WebhookOutcome.PONG.value,
                                       payload=request.body)
            return IngestResult.pong()
        if delivery.kind != "push":
            reason = f"{delivery.event_type} events do not deploy"
        elif not verified:
            reason = (f"repository {delivery.repository!r} is not the repository of any "
                      "configured fraise")
        else:
            routes, reason = route_all(delivery.pushes, verified, self.config.branch_mapping)
            if routes:
                return self._enqueue(request, fields, routes)
        self.store.webhooks.record(**fields, outcome=WebhookOutcome.IGNORED.value,
                                   reason=reason[:500], payload=request.body)
        log.info("webhook %s ignored: %s", fields["delivery_id"] or digest[:12], reason)
        return IngestResult.ignored(reason)

    def _enqueue(self, request: WebhookRequest, fields: dict, routes) -> IngestResult:
        # Called inside the transaction: the event and its deployments commit together.
        event_id = self.store.webhooks.record(**fields, outcome=WebhookOutcome.QUEUED.value,
                                              payload=request.body)
        ids = []
        for r in routes:
            ids.append(self.store.queue.enqueue_id(
                r.fraise, r.environment, trigger=Trigger.WEBHOOK.value,
                branch=r.push.branch or r.push.tag or "", requested_commit=r.push.after,
                webhook_event_id=event_id))
        self.store.webhooks.set_deployments(event_id, ids)
        log.info("webhook %s queued deployments %s", fields["delivery_id"] or event_id, ids)
        return IngestResult.queued(ids)


def unavailable(exc: StoreError) -> IngestResult:
    """The answer when the state database cannot record a request: the sender retries."""
    log.error("webhook not recorded, answering 503: %s", exc)
    return IngestResult.rejected(503, "state database unavailable; retry later")


def _short(value: str | None) -> str | None:
    return value[:200] if value else None


def ingest(request: WebhookRequest, config, store) -> IngestResult:
    """One-shot form of `Ingest(config, store).handle(request)`."""
    handler = Ingest(config, store)
    try:
        return handler.handle(request)
    finally:
        handler.close()
