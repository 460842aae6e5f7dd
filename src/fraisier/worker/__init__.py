"""Workers: claim queued deployments, run them, keep leases alive, recover dead workers' ones."""

from fraisier.worker.worker import Worker

__all__ = ["Worker"]
