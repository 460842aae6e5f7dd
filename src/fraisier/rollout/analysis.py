"""Canary analysis: is the new release behaving while it takes part of the traffic?

Two signals, either or both:
- HTTP probes sent straight to the canary during the pause; the share that fail (an error
  or a 5xx) must stay at or under `max_failed_share`. The analysis stops as soon as that
  share is exceeded after a handful of probes, so a bad canary is pulled out early;
- a Prometheus instant query (`/api/v1/query`) whose every returned value must stay at or
  under `max`. A query that returns nothing fails: no data is not good news.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from fraisier.config.rollouts import PrometheusCheck

MIN_PROBES_BEFORE_VERDICT = 5


class AnalysisFailed(Exception):
    pass


@dataclass
class ProbeTally:
    sent: int = 0
    failed: int = 0
    last_failure: str = ""

    @property
    def failed_share(self) -> float:
        return self.failed / self.sent if self.sent else 0.0


def probe_once(client: httpx.Client, url: str) -> str | None:
    """None when the probe passed, otherwise what went wrong."""
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    if response.status_code >= 500:
        return f"HTTP {response.status_code}"
    return None


def probe_during(url: str, *, seconds: float, interval: float, max_failed_share: float,
                 cancel: threading.Event, log: Callable[[str], None],
                 headers: dict[str, str] | None = None) -> ProbeTally:
    """Probe `url` for `seconds` (at least once), each probe with `headers`; raise
    AnalysisFailed on too many failures."""
    tally = ProbeTally()
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=5.0, headers=headers or {}) as client:
        while True:
            problem = probe_once(client, url)
            tally.sent += 1
            if problem is not None:
                tally.failed += 1
                tally.last_failure = problem
            over = tally.failed_share > max_failed_share
            if over and (tally.sent >= MIN_PROBES_BEFORE_VERDICT or time.monotonic() >= deadline):
                raise AnalysisFailed(
                    f"{tally.failed}/{tally.sent} probes of {url} failed "
                    f"({tally.failed_share:.0%} > {max_failed_share:.0%}); "
                    f"last: {tally.last_failure}")
            if time.monotonic() >= deadline:
                break
            if cancel.wait(min(interval, max(0.0, deadline - time.monotonic()))):
                raise AnalysisFailed("deployment cancelled")
    log(f"analysis: {tally.failed}/{tally.sent} probes of {url} failed "
        f"(limit {max_failed_share:.0%})")
    return tally


def prometheus_values(url: str, query: str, *, timeout: float = 10.0) -> list[float]:
    """Values of an instant query, from Prometheus's HTTP API."""
    try:
        response = httpx.get(url.rstrip("/") + "/api/v1/query", params={"query": query},
                             timeout=timeout)
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise AnalysisFailed(f"prometheus query failed: {exc}") from exc
    if response.status_code != 200 or body.get("status") != "success":
        raise AnalysisFailed(f"prometheus query failed: HTTP {response.status_code} "
                             f"{body.get('error', '')}".rstrip())
    data = body.get("data", {})
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar":
        return [float(result[1])]
    if kind == "vector":
        return [float(sample["value"][1]) for sample in result]
    raise AnalysisFailed(f"prometheus query returned a {kind!r}, expected a vector or scalar")


def check_prometheus(check: PrometheusCheck, log: Callable[[str], None]) -> list[float]:
    values = prometheus_values(str(check.url), check.query)
    if not values:
        raise AnalysisFailed(f"prometheus query {check.query!r} returned no data")
    worst = max(values)
    if worst > check.max:
        raise AnalysisFailed(f"prometheus query {check.query!r} = {worst:g} > {check.max:g}")
    log(f"analysis: prometheus {check.query!r} = {worst:g} (limit {check.max:g})")
    return values
