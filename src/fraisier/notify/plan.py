"""The deliveries one outbox event produces: a message per channel that wants it, and the
provider calls (commit status, GitHub deployment, issue) of a deployment event."""

from __future__ import annotations

import logging
from typing import Any

from fraisier.config.errors import UnknownTarget
from fraisier.config.model import FraisierConfig
from fraisier.notify.channels import channels_for
from fraisier.notify.events import notification_event
from fraisier.notify.git import provider_deliveries, provider_target
from fraisier.store.notifications import NewDelivery

log = logging.getLogger("fraisier.notifier")


def deliveries_for(config: FraisierConfig, row: dict[str, Any]) -> list[NewDelivery]:
    event = notification_event(row)
    if event is None:
        return []
    fraise, environment = row.get("fraise"), row.get("environment")

    def new(channel: str, kind: str) -> NewDelivery:
        return NewDelivery(event_id=int(row["id"]), event=event, channel=channel, kind=kind,
                           deployment_id=row.get("deployment_id"), fraise=fraise,
                           environment=environment, payload=dict(row.get("payload") or {}))

    wanted = [new(channel.name, "message")
              for channel in channels_for(config, fraise, environment)
              if channel.wants(event, fraise, environment)]
    if fraise and environment and event.startswith("deployment."):
        try:
            target = config.target(fraise, environment)
        except UnknownTarget:
            log.info("event %s: %s/%s is not configured here; no provider call",
                     row["id"], fraise, environment)
            return wanted
        provider = provider_target(target)
        if provider is not None:
            wanted += [new(channel, kind) for channel, kind in provider_deliveries(provider,
                                                                                  event)]
    return wanted
