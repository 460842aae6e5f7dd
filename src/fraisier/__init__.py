"""Fraisier: a self-hosted deployment orchestrator."""

__version__ = "0.1.0"
