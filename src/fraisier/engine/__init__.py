"""The deployment engine: saga, steps, releases, processes, health checks.

Entry points: `execute` runs a claimed deployment; `deploy_now` queues and runs one in this
process (the CLI without a worker).
"""

from fraisier.engine.context import DeploymentRun, Observer
from fraisier.engine.runner import execute, register_plan
from fraisier.engine.service import deploy_now, request_deployment, request_rollback

__all__ = ["DeploymentRun", "Observer", "deploy_now", "execute", "register_plan",
           "request_deployment", "request_rollback"]
