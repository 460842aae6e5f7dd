"""A prometheus-client custom collector: every scrape reads one snapshot of the state
database and turns it into metric families. Nothing is counted in this process's memory, so
the numbers include the work of workers in other processes and on other machines."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from fraisier.store.db import Database
from fraisier.store.metrics import DURATION_BUCKETS, Histogram, read_snapshot


def _buckets(histogram: Histogram) -> list[tuple[str, float]]:
    bounds = [(repr(bound), float(count))
              for bound, count in zip(DURATION_BUCKETS, histogram.cumulative, strict=True)]
    return [*bounds, ("+Inf", float(histogram.count))]


class StateCollector(Collector):
    def __init__(self, db: Database):
        self.db = db

    def collect(self) -> Iterator[Metric]:
        snapshot = read_snapshot(self.db)
        deployments = CounterMetricFamily(
            "fraisier_deployments", "Finished deployments by fraise, environment, trigger and "
            "outcome.", labels=["fraise", "environment", "trigger", "outcome"])
        for fraise, environment, trigger, outcome, count in snapshot.deployments:
            deployments.add_metric([fraise, environment, trigger, outcome], count)
        yield deployments

        queued = GaugeMetricFamily("fraisier_deployments_queued",
                                   "Deployments waiting for a worker.",
                                   labels=["fraise", "environment"])
        running = GaugeMetricFamily("fraisier_deployments_running",
                                    "Deployments running now.", labels=["fraise", "environment"])
        for fraise, environment, status, count in snapshot.in_progress:
            (queued if status == "queued" else running).add_metric([fraise, environment], count)
        yield queued
        yield running

        durations = HistogramMetricFamily(
            "fraisier_deployment_duration_seconds", "Duration of finished deployments.",
            labels=["fraise", "environment"])
        for histogram in snapshot.deployment_durations:
            durations.add_metric(list(histogram.labels), _buckets(histogram), histogram.total)
        yield durations

        steps = HistogramMetricFamily("fraisier_step_duration_seconds",
                                      "Duration of deployment steps, by step name.",
                                      labels=["step"])
        for histogram in snapshot.step_durations:
            steps.add_metric(list(histogram.labels), _buckets(histogram), histogram.total)
        yield steps

        webhooks = CounterMetricFamily(
            "fraisier_webhook_requests", "Webhook requests by provider and outcome (recorded "
            "requests; those older than webhook.retention_days are deleted).",
            labels=["provider", "outcome"])
        for provider, outcome, count in snapshot.webhooks:
            webhooks.add_metric([provider or "unknown", outcome], count)
        yield webhooks

        attempts = CounterMetricFamily(
            "fraisier_notification_attempts", "Notification delivery attempts by channel, "
            "kind and status (delivered, failed and retried later, gave_up, skipped).",
            labels=["channel", "kind", "status"])
        for channel, kind, status, count in snapshot.notification_attempts:
            attempts.add_metric([channel, kind, status], count)
        yield attempts

        heartbeats = GaugeMetricFamily(
            "fraisier_worker_heartbeat_timestamp_seconds",
            "Last heartbeat of each live worker (Unix time).", labels=["worker", "hostname"])
        for name, hostname, beat in snapshot.workers:
            heartbeats.add_metric([name, hostname], beat)
        yield heartbeats
        yield GaugeMetricFamily("fraisier_workers", "Live workers.",
                                value=len(snapshot.workers))


def exposition(db: Database, accept: str | None = None) -> tuple[bytes, str]:
    """The text exposition (body, content type) of one scrape."""
    from prometheus_client.exposition import choose_encoder

    registry = CollectorRegistry(auto_describe=False)
    registry.register(StateCollector(db))
    encoder, content_type = choose_encoder(accept or "")
    body: Any = encoder(registry)
    return bytes(body), content_type
