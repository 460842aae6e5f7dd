"""The ASGI application: webhook routes, health endpoints, and room for more routers."""

from fraisier.server.app import create_app

__all__ = ["create_app"]
