"""Per-host state of an environment, read from the releases table and the step ledger.

A host's live release comes from tb_release (host = its name); how the last deployment
treated it comes from that deployment's `host:<name>:*` steps.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from fraisier.domain.model import DeploymentStatus, StepStatus

if TYPE_CHECKING:
    from fraisier.config import Target
    from fraisier.store import Store
    from fraisier.store.records import StepRecord


def _outcome(steps: Iterable[StepRecord], deployment_running: bool) -> str:
    statuses = {step.status for step in steps}
    compensations = {step.compensation_status for step in steps if step.compensation_status}
    if StepStatus.RUNNING.value in statuses:
        if deployment_running:
            return "in_progress"
        # Its worker died in this host's step; recovery then undid what the ledger showed.
        if StepStatus.COMPENSATION_FAILED.value in compensations:
            return "interrupted, rollback_failed"
        return "interrupted, rolled back" if compensations else "interrupted"
    if StepStatus.COMPENSATION_FAILED.value in compensations:
        return "rollback_failed"
    if StepStatus.FAILED.value in statuses:
        return "failed, rolled back" if compensations else "failed"
    if StepStatus.COMPENSATED.value in compensations:
        return "rolled_back"
    if statuses <= {StepStatus.SKIPPED.value, StepStatus.PENDING.value}:
        return "untouched"
    return "updated"


def host_states(store: Store, target: Target) -> list[dict[str, Any]]:
    settings = target.rollout
    if settings is None:
        return []
    names: list[tuple[str, Any]] = [(host.name, host) for host in (settings.hosts or [])]
    if settings.effective_strategy in ("blue_green", "canary"):
        names = [(slot, None) for slot in ("blue", "green")]
    last = store.views.history(fraise=target.fraise, environment=target.environment, limit=1,
                               with_steps=False)
    steps = store.ledger.steps(last[0].id) if last else []
    fleet = store.releases.active(target.fraise, target.environment)
    states = []
    for name, host in names:
        active = store.releases.active(target.fraise, target.environment, host=name)
        mine = [step for step in steps if step.name.startswith(f"host:{name}:")]
        error = next((step.error for step in mine if step.status == StepStatus.FAILED.value),
                     None) or next((step.compensation_error for step in mine
                                    if step.compensation_error), None)
        states.append({
            "host": name,
            "region": host.region if host else None,
            "address": f"{host.address}:{host.port}" if host else None,
            "live_release": active.release_id if active else None,
            # For slots: the slot whose release is the environment's live one takes traffic.
            "serving": bool(active and fleet and active.release_id == fleet.release_id),
            "commit_sha": active.commit_sha if active else None,
            "last_deployment_id": last[0].id if last else None,
            "last_outcome": _outcome(mine, last[0].status == DeploymentStatus.RUNNING.value)
                            if mine else None,
            "error": error,
        })
    return states
