"""Rollouts: many hosts over SSH, regions in waves, blue-green and canary behind nginx.

The engine asks `plan_for(target, trigger)` for any environment with `hosts` or a
`strategy`; everything else keeps the local `api` plan. Recovery asks
`recovery_plan_for(target)` for the same plan rebuilt from a dead worker's ledger.
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


def recovery_plan_for(target) -> Callable:
    """(run, record, ledger) -> the steps of an interrupted deployment of `target`, their
    state reloaded from the ledger (see rollout/recovery.py)."""
    if target.rollout.effective_strategy == "rolling":
        from fraisier.rollout.strategies import rolling

        return rolling.recovery_plan
    from fraisier.rollout.strategies import slots

    return slots.recovery_plan
