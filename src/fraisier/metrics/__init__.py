"""Prometheus metrics of Fraisier, derived from the state database (see store/metrics.py)."""

from fraisier.metrics.collector import StateCollector, exposition

__all__ = ["StateCollector", "exposition"]
