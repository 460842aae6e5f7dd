"""Blue-green and canary: two slots on one machine, traffic steered through nginx.

Each slot is a releases layout of its own (`<app_path>/blue`, `<app_path>/green`) with its
own port and service. The slot nginx sends traffic to is *live*; the other is *idle*. Which
slot is live is recorded on the machine in `<app_path>/.fraisier/live-slot`.

blue_green: fetch → package → slot:release → migrate → slot:activate → slot:start →
    slot:health → switch (nginx to the idle slot) → hold (then stop the old slot)
canary: the same up to slot:health, then one `canary:<weight>` step per configured weight
    (nginx weights between the live slot and the canary, then the analysis during the
    pause) → promote. A failed analysis sets the canary weight back to 0 and the saga
    rolls everything back.
rollback: the other slot still holds the release that was live before: start it if it is
    not running, check it, switch nginx back. Nothing is rebuilt.
"""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Any

from fraisier.config.commands import CommandSpec
from fraisier.domain.model import DeploymentStatus, ReleaseStatus, Trigger
from fraisier.engine.context import DeploymentRun
from fraisier.engine.health import probe_http
from fraisier.engine.process import ProcessResult
from fraisier.engine.saga import Irreversible, SkipStep, Step, StepFailed
from fraisier.kinds import migrations
from fraisier.rollout import required_setting, rollout_settings
from fraisier.rollout.analysis import AnalysisFailed, check_prometheus, probe_during
from fraisier.rollout.fleet import Fleet
from fraisier.rollout.hosts import HostRun
from fraisier.rollout.nginx import Nginx, NginxError, Server
from fraisier.store.records import StepRecord

if TYPE_CHECKING:
    from fraisier.config.rollouts import SlotConfig
    from fraisier.store.records import DeploymentRecord

OTHER = {"blue": "green", "green": "blue"}
HOLD_POLL_SECONDS = 0.5  # how often the hold looks for a queued rollback


class Slots:
    def __init__(self, run: DeploymentRun):
        self.run = run
        self.fleet = Fleet(run)
        self.settings = rollout_settings(run.target)
        self.slots_config = required_setting(self.settings.slots, run.target, "slots")
        load_balancer = required_setting(self.settings.load_balancer, run.target,
                                         "load_balancer")
        self.nginx = Nginx(load_balancer.nginx, log=run.log)
        self.base: HostRun | None = None
        self.live: str | None = None  # slot live before this deployment
        self.new: str | None = None  # slot receiving the new release
        self.slot_hosts: dict[str, HostRun] = {}

    @property
    def new_slot(self) -> str:
        """The slot receiving the release, once `slot:choose` chose it (or it was reloaded)."""
        if self.new is None:
            raise StepFailed("no slot chosen yet (slot:choose has not run)")
        return self.new

    def slot_config(self, name: str) -> SlotConfig:
        config: SlotConfig = getattr(self.slots_config, name)
        return config

    def upstream(self, name: str) -> str:
        config = self.slot_config(name)
        return f"{config.address}:{config.port}"

    def health_url(self, name: str) -> str:
        return self.slot_config(name).health_url or f"http://{self.upstream(name)}/health"

    # -- where the slots live -----------------------------------------------------------
    def machine(self) -> HostRun:
        if self.base is None:
            if self.settings.hosts:
                self.base = self.fleet.attach(self.settings.hosts[0].name)
            else:
                self.base = self.fleet.local()
                self.base.connected().put_env(self.fleet.private_env(self.base), "")
        return self.base

    def slot(self, name: str) -> HostRun:
        """A view of one slot: same machine, the slot's own directory and port."""
        if name not in self.slot_hosts:
            base = self.machine()
            config = self.slot_config(name)
            self.slot_hosts[name] = HostRun(
                name=name, executor=base.executor, app_path=f"{base.app_path}/{name}",
                timeout=base.timeout, log=self.run.log,
                exported={"PORT": str(config.port), "FRAISIER_SLOT": name},
                health_url=self.health_url(name), upstream=self.upstream(name))
        return self.slot_hosts[name]

    def read_live(self) -> str | None:
        base = self.machine()
        result = base.sh("read live slot", 'cat "$1/.fraisier/live-slot" 2>/dev/null || true',
                         base.app_path)
        value = result.output_tail.strip()
        return value if value in OTHER else None

    def write_live(self, name: str) -> None:
        base = self.machine()
        base.sh("record live slot", 'mkdir -p "$1/.fraisier" && printf "%s\\n" "$2" > '
                '"$1/.fraisier/live-slot.tmp" && mv -f "$1/.fraisier/live-slot.tmp" '
                '"$1/.fraisier/live-slot"', base.app_path, name)

    def route(self, weights: dict[str, int]) -> None:
        """Send traffic to slots by weight (a slot with weight 0 gets none)."""
        servers = [Server(self.upstream(name), weight=weight)
                   for name, weight in weights.items() if weight > 0]
        try:
            self.nginx.apply(servers)
        except NginxError as exc:
            raise StepFailed(str(exc)) from exc

    # -- steps ----------------------------------------------------------------------------
    def choose(self) -> dict[str, Any]:
        self.live = self.read_live()
        self.new = OTHER[self.live] if self.live else "blue"
        self.run.log(f"live slot: {self.live or 'none'}; deploying to {self.new}")
        return {"live": self.live, "new": self.new}

    def release(self) -> dict[str, Any]:
        slot = self.slot(self.new_slot)
        slot.previous_release_id = slot.current_release_id()
        self.fleet.place_release(slot)
        return {"slot": self.new, "release": slot.release_id,
                "previous": slot.previous_release_id}

    def discard(self) -> None:
        slot = self.slot(self.new_slot)
        if slot.release_id and slot.release_id != slot.previous_release_id:
            slot.remove(slot.release_id)
            self.fleet.mark(slot, slot.release_id, ReleaseStatus.FAILED)

    def migrate_up(self) -> dict[str, Any]:
        return migrations.migrate_up(self.run, self._migrate_commands())

    def migrate_down(self) -> None:
        migrations.take_back(self.run, self._migrate_commands())

    def _migrate_commands(self) -> migrations.Commands:
        """The migration commands run in the new slot's release."""
        def execute(label: str, command: CommandSpec, extra: dict[str, str]) -> ProcessResult:
            slot = self.slot(self.new_slot)
            release = slot.release_id
            return slot.run(label, command.argv,
                            cwd=slot.release_dir(release) if release else slot.app_path,
                            env=self.fleet.public_env(slot, release, **extra),
                            cancel=self.run.cancel)
        return execute

    def activate(self) -> dict[str, Any]:
        slot = self.slot(self.new_slot)
        slot.activate(slot.placed_release())
        self.fleet.mark_active(slot, slot.placed_release())
        return {"slot": self.new}

    def deactivate(self) -> None:
        slot = self.slot(self.new_slot)
        if slot.previous_release_id:
            slot.activate(slot.previous_release_id)
        else:
            slot.deactivate()

    def start(self, name: str) -> dict[str, Any]:
        slot = self.slot(name)
        command = self.slot_config(name).restart or self.run.target.restart
        if command is None:
            raise StepFailed(f"slot {name}: no restart command configured")
        release = slot.release_id or slot.current_release_id()
        self.fleet.run_command(slot, f"start {name}", command, release)
        return {"slot": name}

    def stop(self, name: str) -> None:
        slot = self.slot(name)
        command = self.slot_config(name).stop
        if command is None:
            self.run.log(f"slot {name}: no stop command configured; left running")
            return
        self.fleet.run_command(slot, f"stop {name}", command,
                               slot.release_id or slot.current_release_id())

    def _probe_headers(self) -> dict[str, str]:
        """What the health check sends (its headers and auth_token) goes with every probe
        of a slot too: an app that wants a token for /health wants it from all of them."""
        check = self.fleet.target.health_check
        return check.request_headers() if check is not None else {}

    def health(self, name: str) -> dict[str, Any]:
        slot = self.slot(name)
        return {"slot": name, "result": self.fleet.check_health(slot, slot.release_id or "")}

    def switch(self, to: str) -> dict[str, Any]:
        self.route({to: 1})
        self.write_live(to)
        slot = self.slot(to)
        release = slot.release_id or slot.current_release_id()
        if release:
            self.fleet.mark_active_fleet_if_known(release)
        self.run.log(f"traffic switched to {to}")
        return {"live": to}

    def switch_back(self) -> None:
        if self.live is None:
            raise Irreversible("no earlier slot to send traffic back to")
        # The old slot runs until the hold ends; a worker that died late in the hold may
        # already have stopped it.
        self.ensure_running(self.live)
        self.switch(self.live)

    def ensure_running(self, name: str) -> dict[str, Any]:
        """Start slot `name` and check it, unless it already answers its health URL."""
        self.slot(name)  # reaches the machine first, like every other slot step
        ok, detail = probe_http(self.health_url(name), 2.0, headers=self._probe_headers())
        if ok:
            self.run.log(f"slot {name} still running: {detail}")
            return {"restarted": False}
        self.start(name)
        self.health(name)
        return {"restarted": True}

    def hold_then_stop_old(self) -> dict[str, Any]:
        """Keep the old slot running for `hold` seconds, then stop it.

        A rollback queued for this environment during the hold ends the hold: this
        deployment fails, and its compensation switches traffic back to the old slot, which
        is still running. The queued rollback is then cancelled, its work done.
        """
        hold = self.settings.hold
        if self.live is None or hold is None:
            raise SkipStep("old slot keeps running until the next deployment replaces it")
        deadline = time.monotonic() + hold
        while True:
            requested = self._queued_rollback()
            if requested is not None:
                self.run.store.queue.cancel_queued(requested)
                raise StepFailed(f"rollback {requested} requested during the hold")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if self.run.cancel.wait(min(HOLD_POLL_SECONDS, remaining)):
                raise StepFailed("deployment cancelled during the hold")
        self.stop(self.live)
        return {"stopped": self.live}

    def _queued_rollback(self) -> int | None:
        target = self.run.target
        for record in self.run.store.views.history(
                fraise=target.fraise, environment=target.environment,
                status=DeploymentStatus.QUEUED.value, with_steps=False):
            if record.trigger == Trigger.ROLLBACK.value:
                return record.id
        return None

    def canary_step(self, weight: int, pause: float) -> dict[str, Any]:
        if self.live is None:
            raise SkipStep("no stable slot yet: the first release takes all traffic at once")
        new = self.new_slot
        self.route({self.live: 100 - weight, new: weight} if weight < 100 else {new: 100})
        analysis = required_setting(self.settings.canary, self.run.target, "canary").analysis
        slot = self.slot(new)
        probe_url = f"http://{slot.upstream}{analysis.probe_path}"
        try:
            tally = probe_during(probe_url, seconds=pause, interval=analysis.interval,
                                 max_failed_share=analysis.max_failed_share,
                                 cancel=self.run.cancel, log=self.run.log,
                                 headers=self._probe_headers())
            if analysis.prometheus is not None:
                check_prometheus(analysis.prometheus, self.run.log)
        except AnalysisFailed as exc:
            raise StepFailed(f"canary at {weight}%: {exc}") from exc
        return {"weight": weight, "probes": tally.sent, "failed": tally.failed}

    def canary_abort(self) -> None:
        """Canary weight back to 0: only the stable slot takes traffic."""
        if self.live is not None:
            self.route({self.live: 1})
            self.run.log(f"canary weight 0: all traffic back on {self.live}")

    # -- recovery -------------------------------------------------------------------------
    def reload(self, ledger: dict[str, StepRecord]) -> None:
        """Put back, from the ledger of a deployment whose worker died, which slot was live
        and which took the new release (and what that slot held before), so that the
        compensations can run. Before `slot:choose` recorded its choice nothing had changed."""
        chosen = ledger.get("slot:choose")
        data = chosen.data if chosen is not None else {}
        # A deployment's choice is recorded as live/new, a switch back's as from/to.
        new = data.get("new", data.get("to"))
        if new not in OTHER:
            return
        self.live, self.new = data.get("live", data.get("from")), new
        slot = self.slot(new)
        slot.release_id = self.run.release_id
        released = ledger.get("slot:release")
        if released is not None and released.data:
            slot.previous_release_id = released.data.get("previous")

    # -- plans ----------------------------------------------------------------------------
    def common(self, requested_commit: str | None) -> list[Step]:
        return [
            Step("fetch", lambda: self.fleet.fetch(requested_commit)),
            Step("package", lambda: self.fleet.package(need_tree=False)),
            Step("slot:choose", self.choose),
            Step("slot:release", self.release, compensate=self.discard),
            Step("migrate", self.migrate_up, compensate=self.migrate_down),
            Step("slot:activate", self.activate, compensate=self.deactivate),
            Step("slot:start", lambda: self.start(self.new_slot),
                 compensate=lambda: self.stop(self.new_slot), compensate_on_failure=True),
            Step("slot:health", lambda: self.health(self.new_slot)),
        ]

    def blue_green(self, requested_commit: str | None) -> list[Step]:
        return [*self.common(requested_commit),
                Step("switch", lambda: self.switch(self.new_slot), compensate=self.switch_back),
                Step("hold", self.hold_then_stop_old)]

    def canary(self, requested_commit: str | None) -> list[Step]:
        steps = self.common(requested_commit)
        for step in required_setting(self.settings.canary, self.run.target, "canary").steps:
            steps.append(Step(f"canary:{step.weight}",
                              partial(self.canary_step, step.weight, step.pause),
                              compensate=self.canary_abort, compensate_on_failure=True))
        steps += [Step("promote", lambda: self.switch(self.new_slot), compensate=self.switch_back),
                  Step("hold", self.hold_then_stop_old)]
        return steps

    def rollback(self) -> list[Step]:
        def choose() -> dict[str, Any]:
            self.live = self.read_live()
            if self.live is None:
                raise StepFailed("no live slot: nothing to roll back")
            self.new = new = OTHER[self.live]
            release = self.slot(new).current_release_id()
            if release is None:
                raise StepFailed(f"slot {new} holds no release to switch back to")
            self.slot(new).release_id = release
            self.run.release_id = release
            self.run.store.queue.update(self.run.deployment_id, release=release)
            return {"from": self.live, "to": self.new, "release": release}

        return [Step("slot:choose", choose),
                Step("slot:start", lambda: self.ensure_running(self.new_slot)),
                Step("switch", lambda: self.switch(self.new_slot),
                     compensate=self.switch_to_live)]

    def switch_to_live(self) -> None:
        """Traffic back to the slot that was live before a switch back."""
        if self.live is None:
            raise Irreversible("no earlier slot to send traffic back to")
        self.switch(self.live)


def recovery_plan(run: DeploymentRun, record: DeploymentRecord,
                  ledger: dict[str, StepRecord]) -> list[Step]:
    """The plan of a blue-green or canary deployment (or switch back) whose worker died,
    with the state its steps had reached reloaded from the ledger."""
    slots = Slots(run)
    slots.reload(ledger)
    if record.trigger == Trigger.ROLLBACK.value:
        return slots.rollback()
    if rollout_settings(run.target).effective_strategy == "canary":
        return slots.canary(record.requested_commit)
    return slots.blue_green(record.requested_commit)


def _previous_fleet_release(run: DeploymentRun) -> None:
    active = run.store.releases.active(run.target.fraise, run.target.environment)
    run.previous_release_id = active.release_id if active else None
    run.store.queue.update(run.deployment_id, previous_release=run.previous_release_id)


def blue_green_plan(run: DeploymentRun, requested_commit: str | None) -> list[Step]:
    _previous_fleet_release(run)
    return Slots(run).blue_green(requested_commit)


def canary_plan(run: DeploymentRun, requested_commit: str | None) -> list[Step]:
    _previous_fleet_release(run)
    return Slots(run).canary(requested_commit)


def switch_back_plan(run: DeploymentRun, _requested_commit: str | None) -> list[Step]:
    _previous_fleet_release(run)
    return Slots(run).rollback()
