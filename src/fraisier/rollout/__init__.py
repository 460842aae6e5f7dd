"""Rollouts: many hosts over SSH, regions in waves, blue-green and canary behind nginx.

The engine asks `plan_for(target, trigger)` for any environment with `hosts` or a
`strategy`; everything else keeps the local `api` plan.
"""

from __future__ import annotations

from collections.abc import Callable

from fraisier.domain.model import Trigger


def plan_for(target, trigger: str) -> Callable | None:
    strategy = target.rollout.effective_strategy
    rollback = trigger == Trigger.ROLLBACK.value
    if strategy == "rolling":
        from fraisier.rollout.strategies import rolling

        return rolling.rollback_plan if rollback else rolling.rolling_plan
    if strategy in ("blue_green", "canary"):
        from fraisier.rollout.strategies import slots

        if rollback:
            return slots.switch_back_plan
        return slots.blue_green_plan if strategy == "blue_green" else slots.canary_plan
    return None
