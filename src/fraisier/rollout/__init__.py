"""Rollouts: many hosts over SSH, regions in waves, blue-green and canary behind nginx.

The plan selector (`fraisier.planner`) asks `plan_for(target, rollback)` for any environment
with `hosts` or a `strategy`, and `recovery_plan_for(target)` for the same plan rebuilt from
a dead worker's ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fraisier.engine.context import DeploymentRun
from fraisier.engine.saga import Step

if TYPE_CHECKING:
    from fraisier.config import Target
    from fraisier.store.records import DeploymentRecord, StepRecord

RolloutPlan = Callable[[DeploymentRun, str | None], list[Step]]
RecoveryPlan = Callable[[DeploymentRun, "DeploymentRecord", dict[str, "StepRecord"]],
                        list[Step]]


def plan_for(target: Target, rollback: bool) -> RolloutPlan:
    assert target.rollout is not None
    strategy = target.rollout.effective_strategy
    if strategy == "rolling":
        from fraisier.rollout.strategies import rolling

        return rolling.rollback_plan if rollback else rolling.rolling_plan
    if strategy in ("blue_green", "canary"):
        from fraisier.rollout.strategies import slots

        if rollback:
            return slots.switch_back_plan
        return slots.blue_green_plan if strategy == "blue_green" else slots.canary_plan
    raise ValueError(f"unknown rollout strategy {strategy!r}")


def recovery_plan_for(target: Target) -> RecoveryPlan:
    """(run, record, ledger) -> the steps of an interrupted deployment of `target`, their
    state reloaded from the ledger (see engine/recovery.py)."""
    assert target.rollout is not None
    if target.rollout.effective_strategy == "rolling":
        from fraisier.rollout.strategies import rolling

        return rolling.recovery_plan
    from fraisier.rollout.strategies import slots

    return slots.recovery_plan
