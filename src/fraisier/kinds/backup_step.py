"""The `backup` step an api or etl deployment runs before `migrate` when the environment says
`backup_before_deploy: true` (or `pending`: only when migrations are pending). The ids of the backups taken are kept in the step's ledger data.

Which database: the fraise's `backups` jobs when it has any, else `migrate.database_url`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fraisier.config.kinds import BackupJobConfig
from fraisier.engine.context import DeploymentRun
from fraisier.engine.saga import SkipStep, Step, StepFailed
from fraisier.kinds.backups import take_backup

if TYPE_CHECKING:
    from fraisier.config.resolve import Target


def pre_deploy_jobs(target: Target) -> dict[str, BackupJobConfig]:
    if target.kind.backups:
        return dict(target.kind.backups)
    url = target.migrate.database_url if target.migrate is not None else None
    if url and url.startswith(("postgresql://", "postgres://")):
        return {"pre-deploy": BackupJobConfig(kind="postgres", database_url=url)}
    if url and url.startswith("sqlite:///"):
        return {"pre-deploy": BackupJobConfig(kind="sqlite",
                                              path=url.removeprefix("sqlite:///"))}
    return {}


def backup_before_deploy(run: DeploymentRun) -> dict[str, Any]:
    if run.target.kind.backup_before_deploy == "pending":
        from fraisier.kinds.migrations import pending

        found = pending(run)
        if found == []:
            raise SkipStep("no pending migrations: no backup needed "
                           "(backup_before_deploy: pending)")
    jobs = pre_deploy_jobs(run.target)
    if not jobs:
        raise StepFailed("backup_before_deploy is set but there is nothing to back up "
                         "(add `backups` or migrate.database_url)")
    taken: dict[str, int] = {}
    for name, job in jobs.items():
        record = take_backup(run.store, run.target, name, job, trigger="deploy",
                             deployment_id=run.deployment_id, log=run.log)
        taken[name] = record.id
        if record.status != "good":
            raise StepFailed(f"backup {name} failed: {record.error}")
    return {"backups": taken}


def backup_steps(run: DeploymentRun) -> list[Step]:
    if not run.target.kind.backup_before_deploy:
        return []
    return [Step("backup", lambda: backup_before_deploy(run))]
