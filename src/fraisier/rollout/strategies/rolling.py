"""Rolling deployment over hosts, in waves of regions and batches of hosts.

fetch → package → [migrate on the orchestrator] → for each wave, for each batch:
    host:H:release (upload or git fetch, install, build) → [migrate once, on the first host]
    → host:H:drain → host:H:activate → host:H:restart → host:H:health → host:H:reattach
→ finish (record the fleet release, prune old releases)

The hosts of a batch go through release, activate, restart and health at the same time
(one thread per host, see the saga's `parallel`); drain and reattach take them one by one.

Every host step is a saga step, so a failure rolls back, in reverse, the failing batch and
every earlier batch; later hosts are never touched. Each host is restored completely (link
switched back, previous release restarted and checked) before the next one, and the
migration goes down once, after every host is back on the code that matches it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any

from fraisier.config.commands import CommandSpec
from fraisier.domain.model import ReleaseStatus, Trigger
from fraisier.engine.context import DeploymentRun
from fraisier.engine.process import ProcessResult
from fraisier.engine.saga import STARTED, SkipStep, Step, StepFailed
from fraisier.kinds import migrations
from fraisier.kinds.migration_tools import step_timeout
from fraisier.rollout import rollout_settings
from fraisier.rollout.fleet import Fleet
from fraisier.rollout.hosts import HostRun
from fraisier.rollout.nginx import Nginx, Server
from fraisier.store.records import StepRecord

if TYPE_CHECKING:
    from fraisier.config.commands import CommandSpec
    from fraisier.config.rollouts import RolloutFields
    from fraisier.store.records import DeploymentRecord


def batch_size(settings: RolloutFields) -> int:
    """How many hosts are worked on at once."""
    return settings.batch_size or settings.max_unavailable or 1


def waves_of(settings: RolloutFields) -> list[list[list[str]]]:
    """Host names grouped into waves (by region) and batches, in config order."""
    hosts = settings.hosts or []
    if settings.waves:
        waves = [[h.name for h in hosts if h.region in wave] for wave in settings.waves]
    else:
        waves = [[h.name for h in hosts]]
    size = batch_size(settings)
    return [[wave[i:i + size] for i in range(0, len(wave), size)] for wave in waves if wave]


class Rolling:
    def __init__(self, run: DeploymentRun) -> None:
        self.run = run
        self.fleet = Fleet(run)
        self.settings = rollout_settings(run.target)
        self.down: set[str] = set()
        lb = self.settings.load_balancer
        self.nginx = Nginx(lb.nginx, log=run.log) if lb is not None else None

    # -- steps ------------------------------------------------------------------------
    def release(self, name: str) -> dict[str, Any]:
        host = self.fleet.attach(name)
        host.previous_release_id = host.current_release_id()
        self.fleet.place_release(host)
        return {"host": name, "release": host.release_id, "previous": host.previous_release_id}

    def discard(self, name: str) -> None:
        host = self.fleet.attach(name)
        if host.release_id and host.release_id != host.previous_release_id:
            host.remove(host.release_id)
            self.fleet.mark(host, host.release_id, ReleaseStatus.FAILED)

    def migrate_up(self, where: str | None) -> dict[str, Any]:
        return {"on": where or "orchestrator",
                **migrations.migrate_up(self.run, self._migrate_commands(where))}

    def migrate_down(self, where: str | None) -> None:
        migrations.take_back(self.run, self._migrate_commands(where))

    def _migrate_commands(self, where: str | None) -> migrations.Commands:
        """Where the migration commands run: on the orchestrator, in the packaged tree, or
        on the first host, in its new release."""
        run = self.run

        def execute(label: str, command: CommandSpec, extra: dict[str, str]) -> ProcessResult:
            timeout = step_timeout(run)
            if where is None:
                assert self.fleet.local_tree is not None
                return run.run(label, command, cwd=self.fleet.local_tree, timeout=timeout,
                               env=run.env(release_dir=self.fleet.local_tree, **extra))
            if run.release_id is None:
                raise StepFailed("no release to migrate from: the package step has not run")
            host = self.fleet.attach(where)
            return host.run(label, command.argv, cwd=host.release_dir(run.release_id),
                            env=self.fleet.public_env(host, run.release_id, **extra),
                            timeout=timeout, cancel=run.cancel)
        return execute

    def set_down(self, names: list[str], down: bool) -> None:
        if self.nginx is None:
            raise SkipStep("no load_balancer configured")
        changed = set(names)
        self.down = (self.down | changed) if down else (self.down - changed)
        servers = [Server(h.upstream, down=h.name in self.down)
                   for h in (self.fleet.hosts[n] for n in self.fleet.configs) if h.upstream]
        if not servers:
            raise SkipStep("no host has an upstream address")
        self.nginx.apply(servers)

    def activate(self, name: str) -> dict[str, Any]:
        host = self.fleet.hosts[name]
        assert host.release_id
        host.activate(host.release_id)
        self.fleet.mark_active(host, host.release_id)
        self.run.log(f"[{name}] current -> releases/{host.release_id}")
        return {"host": name, "previous_release": host.previous_release_id}

    def switch_back(self, host: HostRun) -> None:
        if host.previous_release_id:
            host.activate(host.previous_release_id)
            if self.run.store.releases.get(self.run.target.fraise, self.run.target.environment,
                                           host.previous_release_id, host=host.name):
                self.fleet.mark_active(host, host.previous_release_id)
        else:
            host.deactivate()

    def restart(self, name: str) -> dict[str, Any]:
        if self.run.target.restart is None:
            raise SkipStep("no restart command configured")
        host = self.fleet.hosts[name]
        self.fleet.run_command(host, "restart", self.run.target.restart, host.release_id)
        return {"host": name}

    def restore(self, name: str) -> None:
        """Undo activate + restart on one host: previous link, previous process, healthy."""
        host = self.fleet.attach(name)
        self.switch_back(host)
        if self.run.target.restart is None:
            return
        if not host.previous_release_id:
            self.run.log(f"[{name}] no previous release to restart")
            return
        self.fleet.run_command(host, "restart (previous release)", self.run.target.restart,
                               host.previous_release_id)
        try:
            self.fleet.check_health(host, host.previous_release_id)
        except SkipStep:
            pass

    def health(self, name: str) -> dict[str, Any]:
        host = self.fleet.hosts[name]
        assert host.release_id
        return {"host": name, "result": self.fleet.check_health(host, host.release_id)}

    def pause(self, seconds: float, label: str) -> dict[str, Any]:
        self.run.log(f"{label}: pausing {seconds:g}s")
        if self.run.cancel.wait(seconds):
            raise StepFailed("deployment cancelled")
        return {}

    def finish(self) -> dict[str, Any]:
        """Record the fleet release and prune what each host no longer needs (as many hosts
        at once as a batch holds)."""
        fleet = self.fleet
        fleet.record_fleet_release()
        at_once = max(1, min(len(fleet.configs), batch_size(self.settings)))
        with ThreadPoolExecutor(at_once, thread_name_prefix="prune") as pool:
            pruned = dict(zip(fleet.configs, pool.map(self._prune, fleet.configs),
                              strict=True))
        return {"pruned": {name: ids for name, ids in pruned.items() if ids}}

    def _prune(self, name: str) -> list[str]:
        run, host = self.run, self.fleet.hosts[name]
        good = [r.release_id for r in run.store.releases.good(
            run.target.fraise, run.target.environment, host=name)]
        keep = run.target.keep_releases
        pruned: list[str] = []
        try:
            for release_id in host.release_ids():
                if release_id in good[:keep] or release_id == host.release_id:
                    continue
                host.remove(release_id)
                pruned.append(release_id)
                if release_id in good:
                    self.fleet.mark(host, release_id, ReleaseStatus.PRUNED)
        except StepFailed as exc:
            run.log(f"[{name}] cleanup skipped: {exc}")
        return pruned

    def unfinish(self) -> None:
        """Undo `finish`'s record: the fleet release is no longer the one the hosts run."""
        run, target = self.run, self.run.target
        if not run.release_id or run.store.releases.get(target.fraise, target.environment,
                                                        run.release_id) is None:
            return
        run.store.releases.set_status(target.fraise, target.environment, run.release_id,
                                      ReleaseStatus.FAILED)
        if run.previous_release_id:
            self.fleet.mark_active_fleet(run.previous_release_id)

    # -- recovery -----------------------------------------------------------------------
    def reload(self, ledger: dict[str, StepRecord]) -> None:
        """Put back, from the ledger of a deployment whose worker died, what its steps had
        learnt (each host's new and previous release, the revision before the migration),
        so that their compensations can run. A host whose first step never started keeps
        no state: nothing was done to it."""
        run = self.run
        migrate = ledger.get("migrate")
        if migrate is not None and migrate.data:
            run.options["revision_before"] = migrate.data.get("revision_before", "")
        for name, host in self.fleet.hosts.items():
            first = ledger.get(f"host:{name}:release") or ledger.get(f"host:{name}:rollback")
            if first is None or first.status not in STARTED:
                continue
            # A step still `running` recorded nothing: its release is the deployment's,
            # and the host ran the fleet's previous release before it.
            host.release_id = first.data.get("release", run.release_id)
            host.previous_release_id = first.data.get("previous", run.previous_release_id)

    # -- the plan ---------------------------------------------------------------------
    def plan(self, requested_commit: str | None) -> list[Step]:
        settings = self.settings
        steps = [Step("fetch", lambda: self.fleet.fetch(requested_commit)),
                 Step("package", lambda: self.fleet.package(
                     need_tree=settings.migrate_on == "orchestrator"))]
        if settings.migrate_on == "orchestrator":
            steps.append(Step("migrate", lambda: self.migrate_up(None),
                              compensate=lambda: self.migrate_down(None)))
        first_batch = True
        for wave_number, batches in enumerate(waves_of(settings)):
            if wave_number and settings.pause_between_waves:
                steps.append(Step(f"wave:{wave_number + 1}:pause",
                                  partial(self.pause, settings.pause_between_waves,
                                          f"before wave {wave_number + 1}")))
            for batch_number, batch in enumerate(batches):
                batch_key = f"wave {wave_number + 1} batch {batch_number + 1}"
                for name in batch:
                    steps.append(Step(f"host:{name}:release", partial(self.release, name),
                                      compensate=partial(self.discard, name),
                                      parallel=f"{batch_key} release"))
                if first_batch and settings.migrate_on == "first_host":
                    steps.append(Step("migrate", partial(self.migrate_up, batch[0]),
                                      compensate=partial(self.migrate_down, batch[0])))
                first_batch = False
                steps += self._batch_steps(batch, batch_key)
        steps.append(Step("finish", self.finish, compensate=self.unfinish))
        return steps

    def _batch_steps(self, batch: list[str], batch_key: str) -> list[Step]:
        """The hosts of a batch are worked on at once (`parallel`), except for drain and
        reattach: those rewrite the one nginx upstream file, quickly, one host at a time."""
        steps: list[Step] = []
        for name in batch:
            steps.append(Step(f"host:{name}:drain", partial(self._drain, [name], True),
                              compensate=partial(self._undrain, name, False)))
        for name in batch:
            steps.append(Step(f"host:{name}:activate", partial(self.activate, name),
                              compensate=partial(self._switch_back_on, name),
                              parallel=f"{batch_key} activate"))
        for name in batch:
            steps.append(Step(f"host:{name}:restart", partial(self.restart, name),
                              compensate=partial(self.restore, name),
                              compensate_on_failure=True, parallel=f"{batch_key} restart"))
        for name in batch:
            steps.append(Step(f"host:{name}:health", partial(self.health, name),
                              parallel=f"{batch_key} health"))
        for name in batch:
            steps.append(Step(f"host:{name}:reattach", partial(self._drain, [name], False),
                              compensate=partial(self._undrain, name, True)))
        return steps

    def _switch_back_on(self, name: str) -> None:
        self.switch_back(self.fleet.attach(name))

    def _undrain(self, name: str, down: bool) -> None:
        try:
            self.set_down([name], down)
        except SkipStep:
            pass

    def _drain(self, names: list[str], down: bool) -> dict[str, Any]:
        try:
            self.set_down(names, down)
        except SkipStep:
            if down is False:
                return {}
            raise
        return {"down": sorted(self.down)}


def rolling_plan(run: DeploymentRun, requested_commit: str | None) -> list[Step]:
    active = run.store.releases.active(run.target.fraise, run.target.environment)
    run.previous_release_id = active.release_id if active else None
    run.store.queue.update(run.deployment_id, previous_release=run.previous_release_id)
    return Rolling(run).plan(requested_commit)


class FleetRollback(Rolling):
    """`fraisier rollback` on a fleet: every host back to one earlier release, host by host."""

    def plan(self, to: str | None) -> list[Step]:
        run = self.run
        fleet_releases = run.store.releases.good(run.target.fraise, run.target.environment)
        if to:
            chosen = to
        elif len(fleet_releases) >= 2:
            chosen = fleet_releases[1].release_id
        else:
            chosen = None
        steps = [Step("choose", lambda: self._choose(chosen))]
        for wave_number, batches in enumerate(waves_of(self.settings)):
            for batch_number, batch in enumerate(batches):
                for name in batch:
                    steps.append(Step(f"host:{name}:rollback", partial(self.roll, name),
                                      compensate=partial(self.restore, name),
                                      compensate_on_failure=True,
                                      parallel=f"wave {wave_number + 1} batch "
                                               f"{batch_number + 1} rollback"))
        steps.append(Step("finish", self._finish_rollback))
        return steps

    def _finish_rollback(self) -> dict[str, Any]:
        """The chosen release (set by `choose`) is the one the whole fleet now runs."""
        if self.run.release_id is None:
            raise StepFailed("no release chosen to roll back to")
        self.fleet.mark_active_fleet(self.run.release_id)
        return {}

    def _choose(self, chosen: str | None) -> dict[str, Any]:
        if chosen is None:
            raise StepFailed("no earlier good release to roll back to")
        target = self.run.target
        record = self.run.store.releases.get(target.fraise, target.environment, chosen)
        if record is None:  # `--to` may name a commit instead of a release id
            record = next((r for r in self.run.store.releases.good(
                target.fraise, target.environment) if r.commit_sha.startswith(chosen)), None)
            chosen = record.release_id if record else chosen
        if record is None or record.status not in (ReleaseStatus.ACTIVE.value,
                                                   ReleaseStatus.PREVIOUS.value):
            raise StepFailed(f"release {chosen} is not a good release of this environment")
        self.run.release_id, self.run.commit_sha = chosen, record.commit_sha
        self.run.store.queue.update(self.run.deployment_id, release=chosen,
                                    commit_sha=record.commit_sha)
        return {"release": chosen}

    def roll(self, name: str) -> dict[str, Any]:
        """Re-activate the chosen release on one host (never rebuilt), restart, check."""
        host = self.fleet.attach(name)
        host.previous_release_id = host.current_release_id()
        host.release_id = self.run.release_id
        assert host.release_id
        if host.release_id not in host.release_ids():
            raise StepFailed(f"[{name}] release {host.release_id} is no longer on the host")
        self.activate(name)
        if self.run.target.restart is not None:
            self.restart(name)
        try:
            self.fleet.check_health(host, host.release_id)
        except SkipStep:
            pass  # no health check configured: nothing more to confirm
        return {"host": name, "release": host.release_id, "previous": host.previous_release_id}


def recovery_plan(run: DeploymentRun, record: DeploymentRecord,
                  ledger: dict[str, StepRecord]) -> list[Step]:
    """The plan of a rolling deployment (or fleet rollback) whose worker died, with the
    state its steps had reached reloaded from the ledger."""
    rollback = record.trigger == Trigger.ROLLBACK.value
    strategy = FleetRollback(run) if rollback else Rolling(run)
    strategy.reload(ledger)
    return strategy.plan(record.options.get("to") if rollback else record.requested_commit)


def rollback_plan(run: DeploymentRun, _requested_commit: str | None) -> list[Step]:
    active = run.store.releases.active(run.target.fraise, run.target.environment)
    run.previous_release_id = active.release_id if active else None
    run.store.queue.update(run.deployment_id, previous_release=run.previous_release_id)
    return FleetRollback(run).plan(run.options.get("to"))
