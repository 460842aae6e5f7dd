"""Rollouts: many hosts over SSH, regions in waves, blue-green and canary behind nginx.

The plan selector (`fraisier.planner`) asks `plan_for(target, rollback)` for any environment
with `hosts` or a `strategy`, and `recovery_plan_for(target)` for the same plan rebuilt from
a dead worker's ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from fraisier.engine.context import DeploymentRun
from fraisier.engine.saga import Step

if TYPE_CHECKING:
    from fraisier.config import Target
    from fraisier.config.rollouts import RolloutFields
    from fraisier.store.records import DeploymentRecord, StepRecord

RolloutPlan = Callable[[DeploymentRun, str | None], list[Step]]
RecoveryPlan = Callable[[DeploymentRun, "DeploymentRecord", dict[str, "StepRecord"]],
                        list[Step]]
_T = TypeVar("_T")


class RolloutNotConfigured(ValueError):
    """A rollout plan was asked for a target whose settings lack what it needs."""


def rollout_settings(target: Target) -> RolloutFields:
    """The target's rollout settings; only environments with `hosts` or a `strategy` have
    them, and only those are given a rollout plan."""
    if target.rollout is None:
        raise RolloutNotConfigured(f"{target.name} has no rollout settings (hosts or strategy)")
    return target.rollout


def required_setting(value: _T | None, target: Target, key: str) -> _T:
    """A rollout setting the configuration's validation requires for this strategy."""
    if value is None:
        raise RolloutNotConfigured(f"{target.name}: the rollout needs `{key}`")
    return value


def plan_for(target: Target, rollback: bool) -> RolloutPlan:
    strategy = rollout_settings(target).effective_strategy
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
    if rollout_settings(target).effective_strategy == "rolling":
        from fraisier.rollout.strategies import rolling

        return rolling.recovery_plan
    from fraisier.rollout.strategies import slots

    return slots.recovery_plan
