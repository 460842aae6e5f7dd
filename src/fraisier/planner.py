"""The one place where a deployment's plan is chosen.

The engine runs sagas and knows nothing of fraise types or rollouts; whoever asks it to run
or recover a deployment hands it this selector. The choice, in order:

1. a rollout strategy (`hosts` or a `strategy` on the environment): rollout/ builds the plan,
   for a deployment or for a rollback (switch back);
2. a rollback (trigger `rollback`) on one machine: engine/rollback.py, with the way back
   of kinds/migrations.py (a preset's or the raw `migrate.down`);
3. the fraise type: api, etl, scheduled or backup, from kinds/plans.py; a pull request's
   preview (`pr-<number>`) wraps it with its database and report steps, and its removal
   (`preview_teardown` in the options) has a plan of its own (previews/steps.py).

The set of types is closed: a type with no plan is a programming error, caught by a test
over `FraiseType`, not a run-time lookup that can miss.

`recovery_plan` builds the same plan for a deployment whose worker died, with the state its
steps had reached put back from the record and the ledger, so that engine/recovery.py can
hand the steps that began to the saga's own compensation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fraisier.domain.model import Trigger
from fraisier.engine.context import DeploymentRun
from fraisier.engine.saga import Step
from fraisier.kinds import plans as kind_plans

if TYPE_CHECKING:
    from fraisier.store.records import DeploymentRecord, StepRecord

TypePlan = Callable[[DeploymentRun, str | None], list[Step]]

TYPE_PLANS: dict[str, TypePlan] = {
    "api": kind_plans.api_plan,
    "etl": kind_plans.etl_plan,
    "scheduled": kind_plans.scheduled_plan,
    "backup": kind_plans.backup_plan,
}


class Planner:
    """Chooses the steps of a deployment; `engine.runner.execute` and
    `engine.recovery.recover` take it as their `planner`."""

    def plan(self, run: DeploymentRun, record: DeploymentRecord) -> list[Step]:
        rollback = record.trigger == Trigger.ROLLBACK.value
        if run.target.rollout is not None:
            from fraisier import rollout

            return rollout.plan_for(run.target, rollback)(run, record.requested_commit)
        if rollback:
            return _rollback_plan(run)
        return _type_plan(run, record)

    def recovery_plan(self, run: DeploymentRun, record: DeploymentRecord,
                      ledger: dict[str, StepRecord]) -> list[Step]:
        rollback = record.trigger == Trigger.ROLLBACK.value
        if run.target.rollout is not None:
            from fraisier import rollout

            return rollout.recovery_plan_for(run.target)(run, record, ledger)
        # The commit and releases come from the record (engine/recovery.py); the revision
        # before `migrate` is in the ledger, noted before `up` began.
        migrate = ledger.get("migrate")
        if migrate is not None and "revision_before" in migrate.data:
            run.options["revision_before"] = migrate.data["revision_before"]
        if rollback:
            return _rollback_plan(run)
        return _type_plan(run, record)


def _type_plan(run: DeploymentRun, record: DeploymentRecord) -> list[Step]:
    base = TYPE_PLANS[run.target.type.value]
    if run.target.preview is None:
        return base(run, record.requested_commit)
    from fraisier.previews import steps as preview_steps
    from fraisier.previews.service import TEARDOWN_OPTION

    if record.options.get(TEARDOWN_OPTION):
        return preview_steps.teardown_plan(run)
    return preview_steps.deploy_plan(run, record.requested_commit,
                                     base(run, record.requested_commit))


def _rollback_plan(run: DeploymentRun) -> list[Step]:
    from fraisier.engine.rollback import rollback_plan
    from fraisier.kinds.migrations import back_to_release

    return rollback_plan(run, run.options.get("to"),
                         migrate_back=back_to_release if run.target.migrate else None)


PLANNER = Planner()
