"""kill -9 a worker in the middle of a rollout; a new worker undoes, from the ledger alone,
what the dead one had done to the hosts, the slots and nginx."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fraisier.cli.main import cli
from fraisier.domain.model import StepStatus, Trigger
from fraisier.engine.service import open_state, request_deployment, request_rollback
from fraisier.worker import Worker
from tests.rollout.test_rolling import _environment as rolling_environment
from tests.rollout.test_rolling import _version_on
from tests.rollout.test_slots import _environment as slots_environment
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

CRASH_WORKER = Path(__file__).with_name("crash_worker.py")
FAST_LEASES = {"lease_seconds": 1, "poll_interval": 0.1, "shutdown_grace_seconds": 5}


def _write_config(project, environment: dict) -> None:
    project.write_config(environment)
    config = json.loads(project.config_path.read_text())
    config["worker"] = FAST_LEASES
    project.config_path.write_text(json.dumps(config, indent=2))


def _deploy_first(project, environment: dict):
    """Write the configuration (fast leases) and deploy v1; returns its record."""
    _write_config(project, environment)
    first, store = project.deploy()
    store.close()
    assert first.status == "succeeded", first.error
    return first


def _assert_all_undone(record) -> None:
    assert record.status == "interrupted", record.error
    assert "compensated" in record.error and "not undone" not in record.error


def _current_links(hosts: list[dict]) -> dict[str, str]:
    return {h["name"]: os.readlink(Path(h["app_path"]) / "current") for h in hosts}


def _crash_then_recover(project, where: str, only: str | None = None, *,
                        rollback: bool = False, meanwhile=None):
    """Queue a deployment (or a rollback), run it in a worker that dies at `where`, call
    `meanwhile()`, then let a new worker (on the configuration as it is then) find the
    expired lease. Returns the recovered record and an open store."""
    config = project.config()
    store = open_state(config)
    if rollback:
        queued = request_rollback(store, config, "web", "production")
    else:
        queued = request_deployment(store, config, "web", "production", trigger=Trigger.CLI)
    crashed = subprocess.Popen([sys.executable, str(CRASH_WORKER), str(project.config_path),
                                where, *([only] if only else [])],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        # It dies at `where`; a deployment that ended before getting there never will.
        ended = wait_for(lambda: crashed.poll() is not None or store.queue.get(
            queued.id, with_steps=False).status not in ("queued", "running"),
            what=f"the worker to die at {where}", timeout=300)
        assert ended and crashed.poll() is not None, (
            f"the deployment ended before {where}: {store.queue.get(queued.id).error}")
    finally:
        if crashed.poll() is None:
            crashed.kill()
        stderr = crashed.communicate(timeout=30)[1]
    assert crashed.returncode == -signal.SIGKILL, stderr.decode()[-2000:]
    assert store.queue.get(queued.id, with_steps=False).status == "running"
    if meanwhile is not None:
        meanwhile()
    worker = Worker(project.config(), store).start()
    try:
        record = wait_for(lambda: (r := store.queue.get(queued.id)).status != "running" and r,
                          what="recovery", timeout=120)
    finally:
        worker.stop()
    return record, store


def _through_nginx(port: int) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/")
        return connection.getresponse().read().decode().strip()
    finally:
        connection.close()


def test_worker_killed_mid_rolling_deploy_every_host_is_put_back(
        project, ssh_fleet, nginx, tmp_path):
    environment, hosts = rolling_environment(project, ssh_fleet, tmp_path,
                                             load_balancer=nginx.lb_config())
    for host in environment["hosts"]:
        host["upstream"] = host["health_url"].split("/")[2]
    first = _deploy_first(project, environment)
    v1_links = _current_links(hosts)
    (tmp_path / "migrations.log").unlink()

    # web1 is done, web2 is drained, switched and restarted on v2 when the worker dies.
    project.commit("v2", {"VERSION": "v2\n"})
    record, store = _crash_then_recover(project, "rolling.Rolling.restart", "web2")
    try:
        _assert_all_undone(record)
        assert [_version_on(h) for h in hosts] == ["v1", "v1", "v1"]
        assert _current_links(hosts) == v1_links
        # No host is left out of nginx, and web3 was never touched.
        assert " down;" not in nginx.upstream_file.read_text()
        assert os.listdir(Path(hosts[2]["app_path"]) / "releases") == \
            [v1_links["web3"].split("/")[-1]]
        assert (tmp_path / "migrations.log").read_text().splitlines() == ["up web1",
                                                                         "down web1"]
        steps = {s.name: s for s in store.ledger.steps(record.id)}
        assert steps["host:web2:restart"].status == StepStatus.RUNNING.value
        for name in ("host:web2:restart", "host:web2:activate", "host:web2:drain",
                     "host:web1:activate", "host:web1:reattach", "migrate"):
            assert steps[name].compensation_status == StepStatus.COMPENSATED.value, name
        assert steps["host:web3:release"].compensation_status is None
        for name in ("web1", "web2"):
            by_status = {r.release_id: r.status for r in store.releases.list(
                "web", "production", host=name)}
            assert by_status[record.release] == "failed"
            assert by_status[v1_links[name].split("/")[-1]] == "active"
        assert store.releases.active("web", "production").release_id == first.release
    finally:
        store.close()

    shown = CliRunner().invoke(cli, ["-c", str(project.config_path), "status", "web",
                                     "production", "--hosts", "--json"])
    assert shown.exit_code == 0, shown.output
    outcome = {row["host"]: row["last_outcome"] for row in json.loads(shown.output)}
    assert outcome == {"web1": "rolled_back", "web2": "interrupted, rolled back",
                       "web3": "untouched"}

    again, store = project.deploy()
    store.close()
    assert again.status == "succeeded", again.error
    assert [_version_on(h) for h in hosts] == ["v2", "v2", "v2"]


def test_worker_killed_right_after_the_blue_green_switch(project, nginx, tmp_path):
    first = _deploy_first(project, slots_environment(project, nginx, tmp_path,
                                                     strategy="blue_green", hold=30))
    assert _through_nginx(nginx.port) == "v1"

    # Traffic is on green (v2), the ledger still says `switch` is running.
    project.commit("v2", {"VERSION": "v2\n"})
    record, store = _crash_then_recover(project, "slots.Slots.switch", "green")
    try:
        _assert_all_undone(record)
        assert _through_nginx(nginx.port) == "v1"
        live_slot = tmp_path / "srv" / ".fraisier" / "live-slot"
        assert live_slot.read_text().strip() == "blue"
        assert not (tmp_path / "srv" / "green" / "app.pid").exists()  # the new slot stopped
        assert store.releases.active("web", "production").release_id == first.release
        steps = {s.name: s for s in store.ledger.steps(record.id)}
        assert steps["switch"].compensation_status == StepStatus.COMPENSATED.value
        assert steps["slot:release"].compensation_status == StepStatus.COMPENSATED.value
    finally:
        store.close()

    again, store = project.deploy()
    store.close()
    assert again.status == "succeeded", again.error
    assert _through_nginx(nginx.port) == "v2"


def test_worker_killed_with_the_canary_at_half_the_traffic(project, nginx, tmp_path):
    _deploy_first(project, slots_environment(project, nginx, tmp_path, strategy="canary", canary={
        "steps": [{"weight": 10, "pause": "0.2s"}, {"weight": 50, "pause": "0.2s"},
                  {"weight": 100}],
        "analysis": {"interval": 0.05}}))

    project.commit("v2", {"VERSION": "v2\n"})
    record, store = _crash_then_recover(project, "slots.Slots.canary_step", "50")
    try:
        _assert_all_undone(record)
        upstream = nginx.upstream_file.read_text()
        blue, green = nginx.slot_ports
        assert f"127.0.0.1:{blue}" in upstream and f"127.0.0.1:{green}" not in upstream
        assert {_through_nginx(nginx.port) for _ in range(10)} == {"v1"}
        assert not (tmp_path / "srv" / "green" / "app.pid").exists()
    finally:
        store.close()


def test_a_plan_changed_since_the_crash_is_not_undone_and_the_outcome_says_what_began(
        project, ssh_fleet, tmp_path):
    environment, hosts = rolling_environment(project, ssh_fleet, tmp_path)
    _deploy_first(project, environment)

    def take_web1_out_of_the_configuration():
        environment["hosts"] = environment["hosts"][1:]
        _write_config(project, environment)

    project.commit("v2", {"VERSION": "v2\n"})
    record, store = _crash_then_recover(project, "rolling.Rolling.activate", "web1",
                                        meanwhile=take_web1_out_of_the_configuration)
    store.close()
    assert record.status == "interrupted"
    assert "not compensated: the configuration changed since the deployment started" \
        in record.error
    assert record.error.endswith("steps that had begun: fetch, package, host:web1:release, "
                                 "migrate, host:web1:activate")
    # Nothing was done to any host by recovery: web1 stays where the dead worker left it.
    assert [_version_on(h) for h in hosts] == ["v1", "v1", "v1"]
    assert os.readlink(Path(hosts[0]["app_path"]) / "current").endswith(record.release)


def test_a_host_unreachable_at_recovery_fails_its_undo_and_the_others_are_still_put_back(
        project, ssh_fleet, tmp_path):
    environment, hosts = rolling_environment(project, ssh_fleet, tmp_path)
    _deploy_first(project, environment)

    project.commit("v2", {"VERSION": "v2\n"})
    # web2 goes away with the worker.
    record, store = _crash_then_recover(project, "rolling.Rolling.restart", "web2",
                                        meanwhile=ssh_fleet.hosts[1].stop)
    try:
        # An undo that failed is never reported as a plain interruption.
        assert record.status == "rollback_failed"
        assert "undo host:web2:restart" in record.error and "web2" in record.error
        assert "unreachable" in record.error
        steps = {s.name: s for s in store.ledger.steps(record.id)}
        assert steps["host:web2:restart"].compensation_status == \
            StepStatus.COMPENSATION_FAILED.value
        # web1 was still put back, and web3 never touched.
        assert steps["host:web1:activate"].compensation_status == StepStatus.COMPENSATED.value
        assert _version_on(hosts[0]) == "v1" and _version_on(hosts[2]) == "v1"
    finally:
        store.close()


def test_an_interrupted_switch_back_is_undone_too(project, nginx, tmp_path):
    _write_config(project, slots_environment(project, nginx, tmp_path, strategy="blue_green"))
    for version in ("v1", "v2"):
        if version == "v2":
            project.commit("v2", {"VERSION": "v2\n"})
        record, store = project.deploy()
        store.close()
        assert record.status == "succeeded", record.error
    assert _through_nginx(nginx.port) == "v2"  # green is live, blue still holds v1

    def switched_by_the_dead_worker():
        assert _through_nginx(nginx.port) == "v1"

    record, store = _crash_then_recover(project, "slots.Slots.switch", "blue", rollback=True,
                                        meanwhile=switched_by_the_dead_worker)
    try:
        _assert_all_undone(record)
        # Back where it was before the rollback began: green, v2.
        assert _through_nginx(nginx.port) == "v2"
        live_slot = tmp_path / "srv" / ".fraisier" / "live-slot"
        assert live_slot.read_text().strip() == "green"
    finally:
        store.close()


def test_worker_killed_while_a_whole_batch_restarts_every_host_is_put_back(
        project, ssh_fleet, tmp_path):
    environment, hosts = rolling_environment(project, ssh_fleet, tmp_path, batch_size=3)
    _deploy_first(project, environment)
    v1_links = _current_links(hosts)

    # The three hosts restart at once; the worker dies as soon as web2's restart is done.
    project.commit("v2", {"VERSION": "v2\n"})
    record, store = _crash_then_recover(project, "rolling.Rolling.restart", "web2")
    try:
        _assert_all_undone(record)
        assert [_version_on(h) for h in hosts] == ["v1", "v1", "v1"]
        assert _current_links(hosts) == v1_links
        for host in hosts:
            assert os.listdir(Path(host["app_path"]) / "releases") == \
                [v1_links[host["name"]].split("/")[-1]]
        steps = {s.name: s for s in store.ledger.steps(record.id)}
        for name in ("web1", "web2", "web3"):
            assert steps[f"host:{name}:activate"].compensation_status == \
                StepStatus.COMPENSATED.value
    finally:
        store.close()
