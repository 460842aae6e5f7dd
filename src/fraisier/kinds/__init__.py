"""The fraise types beyond the plain api: etl, scheduled, backup, and what they add to api.

Importing this package registers their deployment plans with the engine's runner.
"""

from __future__ import annotations

from fraisier.engine.runner import register_plan
from fraisier.kinds.plans import api_plan, backup_plan, etl_plan, scheduled_plan

register_plan("api", api_plan)
register_plan("etl", etl_plan)
register_plan("scheduled", scheduled_plan)
register_plan("backup", backup_plan)
