"""Rolling deployments across three real sshd hosts on loopback."""

from __future__ import annotations

import json
import os
import stat
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from fraisier.cli.main import cli
from fraisier.domain.model import StepStatus
from fraisier.engine.context import Observer
from tests.rollout.conftest import RESTART, host_entries, ssh_section

pytestmark = pytest.mark.slow


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode().strip()


def _version_on(entry: dict) -> str:
    return _get(entry["health_url"].replace("/health", "/"))


def _environment(project, fleet, tmp_path: Path, **extra) -> tuple[dict, list[dict]]:
    hosts = host_entries(fleet)
    project.app_paths = [h["app_path"] for h in hosts]
    migrate_log = tmp_path / "migrations.log"
    environment = {
        "branch": "main", "app_path": str(tmp_path / "unused"), "restart": RESTART,
        "timeout": 60, "ssh": ssh_section(fleet), "hosts": hosts,
        "env": {"MIGRATE_LOG": str(migrate_log), "API_SECRET": "s3cr3t-value"},
        "migrate": {"up": ["sh", "-c", 'echo "up $FRAISIER_HOST" >> "$MIGRATE_LOG"'],
                    "down": ["sh", "-c",
                             'echo "down $FRAISIER_HOST" >> "$MIGRATE_LOG"']},
        "health_check": {"url": "http://127.0.0.1:1/unused", "retries": 8, "interval": 0.2,
                         "timeout": 2},
        **extra,
    }
    return environment, hosts


def test_rolling_deploy_then_failure_on_second_host_rolls_back_the_first(
        project, ssh_fleet, tmp_path):
    environment, hosts = _environment(project, ssh_fleet, tmp_path)
    project.write_config(environment)

    first, store = project.deploy()
    assert first.status == "succeeded", first.error
    assert [_version_on(h) for h in hosts] == ["v1", "v1", "v1"]
    for host in hosts:
        assert (Path(host["app_path"]) / "current").is_symlink()
        env_file = Path(host["app_path"]) / ".fraisier" / "env"
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        assert "s3cr3t-value" in env_file.read_text()
    v1_links = {h["name"]: os.readlink(Path(h["app_path"]) / "current") for h in hosts}
    store.close()
    (tmp_path / "migrations.log").unlink()

    project.commit("v2, broken on web2", {"VERSION": "v2\n", "BROKEN_ON": "web2\n"})
    record, store = project.deploy()
    try:
        assert record.status == "rolled_back", record.error
        assert "web2" in record.error
        assert record.previous_release == first.release
        # web1 was upgraded, then put back; web2 failed and was put back; web3 untouched.
        assert [_version_on(h) for h in hosts] == ["v1", "v1", "v1"]
        for host in hosts:
            assert os.readlink(Path(host["app_path"]) / "current") == v1_links[host["name"]]
        web3_releases = os.listdir(Path(hosts[2]["app_path"]) / "releases")
        assert web3_releases == [v1_links["web3"].split("/")[-1]]
        # The migration ran once up (on the first host) and once down.
        assert (tmp_path / "migrations.log").read_text().splitlines() == ["up web1",
                                                                         "down web1"]
        steps = {s.name: s for s in store.ledger.steps(record.id)}
        assert steps["host:web1:activate"].status == StepStatus.SUCCEEDED.value
        assert steps["host:web1:activate"].compensation_status == StepStatus.COMPENSATED.value
        assert steps["host:web2:health"].status == StepStatus.FAILED.value
        assert steps["host:web3:release"].status == StepStatus.SKIPPED.value
        # Per-host releases: v2 failed everywhere it went, v1 active again.
        for name in ("web1", "web2"):
            by_status = {r.release_id: r.status for r in store.releases.list(
                "web", "production", host=name)}
            assert by_status[record.release] == "failed"
            assert by_status[v1_links[name].split("/")[-1]] == "active"
        assert store.releases.list("web", "production", host="web3")[0].release_id != \
            record.release
    finally:
        store.close()

    shown = CliRunner().invoke(cli, ["-c", str(project.config_path), "status", "web",
                                     "production", "--hosts", "--json"])
    assert shown.exit_code == 0, shown.output
    rows = {row["host"]: row for row in json.loads(shown.output)}
    outcome = {name: row["last_outcome"] for name, row in rows.items()}
    assert "health check failed" in rows["web2"]["error"] and rows["web1"]["error"] is None
    assert rows["web1"]["live_release"] == v1_links["web1"].split("/")[-1]
    assert outcome == {"web1": "rolled_back", "web2": "failed, rolled back",
                       "web3": "untouched"}


def test_waves_from_host_git_with_nginx_drain_roll_back_every_wave_done(
        project, ssh_fleet, nginx, tmp_path):
    environment, hosts = _environment(project, ssh_fleet, tmp_path, release_source="host_git",
                                      migrate_on="orchestrator", batch_size=2,
                                      waves=[["canary"], ["main"]], pause_between_waves="0.1s",
                                      load_balancer=nginx.lb_config())
    for host, region in zip(environment["hosts"], ["canary", "main", "main"], strict=True):
        host["region"] = region
        host["upstream"] = host["health_url"].split("/")[2]
    project.write_config(environment)
    first, store = project.deploy()
    store.close()
    assert first.status == "succeeded", first.error
    assert [_version_on(h) for h in hosts] == ["v1", "v1", "v1"]
    (tmp_path / "migrations.log").unlink()

    seen: dict[str, str] = {}

    class Watch(Observer):
        def on_step(self, position, name, status, error):
            if name.endswith(":activate") and status == StepStatus.RUNNING:
                seen[name] = nginx.upstream_file.read_text()

    project.commit("v2, broken on web3", {"VERSION": "v2\n", "BROKEN_ON": "web3\n"})
    record, store = project.deploy(observer=Watch())
    try:
        assert record.status == "rolled_back", record.error
        names = [s.name for s in store.ledger.steps(record.id)]
        assert names.index("host:web1:reattach") < names.index("wave:2:pause") \
            < names.index("host:web2:release")
        # web2 and web3 form one batch: both drained before either is activated.
        assert names.index("host:web3:drain") < names.index("host:web2:activate")
        web = {h["name"]: h["upstream"] for h in environment["hosts"]}
        assert f"server {web['web1']} down;" in seen["host:web1:activate"]
        assert f"server {web['web2']} down;" in seen["host:web2:activate"]
        assert f"server {web['web3']} down;" in seen["host:web2:activate"]
        assert f"server {web['web1']};" in seen["host:web2:activate"]
        # After the rollback every host is back in the upstream.
        final = nginx.upstream_file.read_text()
        assert "down" not in final and all(f"server {a};" in final for a in web.values())
        assert [_version_on(h) for h in hosts] == ["v1", "v1", "v1"]
        # The migration ran on the orchestrator, once each way.
        assert [line.strip() for line in
                (tmp_path / "migrations.log").read_text().splitlines()] == ["up", "down"]
        steps = {s.name: s for s in store.ledger.steps(record.id)}
        assert steps["host:web1:restart"].compensation_status == StepStatus.COMPENSATED.value
    finally:
        store.close()

    project.commit("v3", {"VERSION": "v3\n", "BROKEN_ON": None})
    third, store = project.deploy()
    store.close()
    assert third.status == "succeeded", third.error
    assert [_version_on(h) for h in hosts] == ["v3", "v3", "v3"]

    # `fraisier rollback`: every host back on v1 (v2 never went live), nothing rebuilt.
    back, store = project.deploy(rollback=True)
    try:
        assert back.status == "succeeded", back.error
        assert back.release == first.release
        assert [_version_on(h) for h in hosts] == ["v1", "v1", "v1"]
        assert store.releases.active("web", "production").release_id == first.release
    finally:
        store.close()


def test_unreachable_host_mid_deployment_is_rolled_back_not_hung(project, ssh_fleet, tmp_path):
    environment, hosts = _environment(project, ssh_fleet, tmp_path)
    project.write_config(environment)
    first, store = project.deploy()
    assert first.status == "succeeded", first.error
    store.close()

    web2 = ssh_fleet.hosts[1]

    class StopWeb2(Observer):
        def on_step(self, position, name, status, error):
            if name == "host:web2:release" and status == StepStatus.RUNNING:
                web2.stop()  # the host disappears while the deployment runs

    project.commit("v2", {"VERSION": "v2\n"})
    record, store = project.deploy(observer=StopWeb2())
    try:
        assert record.status == "rolled_back", record.error
        assert "web2" in record.error and "unreachable" in record.error
        steps = {s.name: s for s in store.ledger.steps(record.id)}
        assert steps["host:web2:release"].status == StepStatus.FAILED.value
        assert steps["host:web1:restart"].compensation_status == StepStatus.COMPENSATED.value
        assert _version_on(hosts[0]) == "v1"
        assert _version_on(hosts[2]) == "v1"
    finally:
        store.close()


def test_the_hosts_of_a_batch_restart_at_the_same_time(project, ssh_fleet, tmp_path):
    # Each host's restart waits until all three have begun theirs: one after another, the
    # first would wait until its command timed out and the deployment would roll back.
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    restart = ["sh", "-c", 'touch "$BARRIER/$FRAISIER_HOST"; '
               'while [ "$(ls "$BARRIER" | wc -l)" -lt 3 ]; do sleep 0.05; done; '
               'exec "$0" control.py restart', RESTART[0]]
    environment, hosts = _environment(project, ssh_fleet, tmp_path, batch_size=3,
                                      restart=restart, timeout=30)
    environment["env"]["BARRIER"] = str(barrier)
    project.write_config(environment)
    record, store = project.deploy()
    try:
        assert record.status == "succeeded", record.error
        assert sorted(p.name for p in barrier.iterdir()) == ["web1", "web2", "web3"]
        assert [_version_on(h) for h in hosts] == ["v1", "v1", "v1"]
        names = [s.name for s in store.ledger.steps(record.id)]
        # One batch: every host released before the migration, drained before any switch.
        assert names.index("host:web3:release") < names.index("migrate") \
            < names.index("host:web1:drain")
        assert names.index("host:web3:drain") < names.index("host:web1:activate")
        assert all(s.status == StepStatus.SUCCEEDED.value for s in store.ledger.steps(record.id)
                   if s.name.endswith((":release", ":activate", ":restart")))
    finally:
        store.close()
