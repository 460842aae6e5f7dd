"""Webhook request → verified delivery → routed targets → one transaction: event + deployments.

The web server hands `Ingest` the raw request (headers, body bytes, source address) and sends
back whatever `IngestResult` says; every decision is made here, in plain functions.
"""

from fraisier.ingest.limits import RateLimiter, client_address
from fraisier.ingest.result import IngestResult, WebhookRequest

__all__ = ["IngestResult", "RateLimiter", "WebhookRequest", "client_address"]
