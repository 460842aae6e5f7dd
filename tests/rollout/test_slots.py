"""Blue-green and canary behind a real nginx, with a client sending requests throughout."""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from fraisier.cli.main import cli
from fraisier.domain.model import StepStatus
from fraisier.engine.context import Observer
from fraisier.engine.service import open_state, request_rollback
from tests.rollout.conftest import PYTHON, RESTART, ssh_section
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

MAX_CLIENT_REQUESTS = 20_000  # the load loop is bounded in count as well as by its stop flag


class Client(threading.Thread):
    """Requests through nginx, one new connection each, until told to stop."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.port = port
        self.stop_flag = threading.Event()
        self.marker = threading.Event()  # set by the test: later requests are "after"
        self.results: list[tuple[bool, int, str]] = []  # (after marker, status, body)

    def run(self) -> None:
        for _ in range(MAX_CLIENT_REQUESTS):
            if self.stop_flag.is_set():
                return
            after = self.marker.is_set()
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                connection.request("GET", "/")
                response = connection.getresponse()
                self.results.append((after, response.status, response.read().decode().strip()))
            except OSError as exc:
                self.results.append((after, 0, f"{type(exc).__name__}: {exc}"))
            finally:
                connection.close()

    def finish(self) -> None:
        self.stop_flag.set()
        self.join(timeout=30)


def _environment(project, nginx, tmp_path: Path, **extra) -> dict:
    blue, green = nginx.slot_ports
    app_path = tmp_path / "srv"
    project.app_paths = [app_path / "blue", app_path / "green"]
    stop = [PYTHON, "control.py", "stop"]
    return {
        "branch": "main", "app_path": str(app_path), "restart": RESTART, "timeout": 60,
        "slots": {"blue": {"port": blue, "stop": stop}, "green": {"port": green, "stop": stop}},
        "load_balancer": nginx.lb_config(),
        "health_check": {"url": "http://127.0.0.1:1/unused", "retries": 25, "interval": 0.2,
                         "timeout": 2},
        **extra,
    }


class SetOn(Observer):
    def __init__(self, step: str, status: StepStatus, event: threading.Event):
        self.step, self.status, self.event = step, status, event

    def on_step(self, position, name, status, error):
        if name == self.step and status == self.status:
            self.event.set()


def test_blue_green_switch_under_load_loses_no_request(project, nginx, tmp_path):
    project.write_config(_environment(project, nginx, tmp_path, strategy="blue_green"))
    first, store = project.deploy()
    store.close()
    assert first.status == "succeeded", first.error

    project.commit("v2", {"VERSION": "v2\n"})
    client = Client(nginx.port)
    client.start()
    try:
        record, store = project.deploy(observer=SetOn("switch", StepStatus.SUCCEEDED,
                                                      client.marker))
        # A little traffic after the switch, then stop the client.
        wait_for(lambda: sum(1 for after, _, _ in client.results if after) >= 50
                 or not client.is_alive(), 60, "50 requests after the switch", interval=0.01)
    finally:
        client.finish()
    try:
        assert record.status == "succeeded", record.error
        before = [r for r in client.results if not r[0]]
        after = [r for r in client.results if r[0]]
        assert len(before) > 10 and len(after) >= 50
        failures = [r for r in client.results if r[1] != 200]
        assert failures == []
        assert {body for _, _, body in after} == {"v2"}
        assert {body for _, _, body in before} <= {"v1", "v2"}
        assert (tmp_path / "srv" / ".fraisier" / "live-slot").read_text().strip() == "green"
    finally:
        store.close()

    # `fraisier rollback` switches back to blue without rebuilding anything.
    releases_before = sorted((tmp_path / "srv" / "blue" / "releases").iterdir())
    back, store = project.deploy(rollback=True)
    try:
        assert back.status == "succeeded", back.error
        connection = http.client.HTTPConnection("127.0.0.1", nginx.port, timeout=10)
        connection.request("GET", "/")
        assert connection.getresponse().read().decode().strip() == "v1"
        connection.close()
        assert sorted((tmp_path / "srv" / "blue" / "releases").iterdir()) == releases_before
        assert [s.name for s in store.ledger.steps(back.id)] == ["slot:choose", "slot:start",
                                                                 "switch"]
    finally:
        store.close()


def test_failing_canary_is_pulled_at_the_first_step(project, nginx, tmp_path):
    environment = _environment(project, nginx, tmp_path, strategy="canary", canary={
        "steps": [{"weight": 10, "pause": "3s"}, {"weight": 50, "pause": "3s"}],
        "analysis": {"interval": 0.05, "max_failed_share": 0.05}})
    project.write_config(environment)
    first, store = project.deploy()
    store.close()
    assert first.status == "succeeded", first.error

    project.commit("v2 answers 500", {"VERSION": "v2\n", "FAIL_ROOT": "yes\n"})
    client = Client(nginx.port)
    client.start()
    try:
        record, store = project.deploy(observer=SetOn("canary:10", StepStatus.RUNNING,
                                                      client.marker))
    finally:
        client.finish()
    try:
        assert record.status == "rolled_back", record.error
        assert "canary at 10%" in record.error
        steps = {s.name: s for s in store.ledger.steps(record.id)}
        assert steps["canary:10"].status == StepStatus.FAILED.value
        assert steps["canary:50"].status == StepStatus.SKIPPED.value
        # Weight back to 0: the upstream names only the stable slot.
        blue, green = nginx.slot_ports
        upstream = nginx.upstream_file.read_text()
        assert f"127.0.0.1:{blue}" in upstream and f"127.0.0.1:{green}" not in upstream
        during = [r for r in client.results if r[0]]
        failed = [r for r in during if r[1] != 200]
        assert len(during) > 20
        assert len(failed) / len(during) < 0.2  # bounded by twice the first weight (10%)
        connection = http.client.HTTPConnection("127.0.0.1", nginx.port, timeout=10)
        connection.request("GET", "/")
        assert connection.getresponse().read().decode().strip() == "v1"
        connection.close()
    finally:
        store.close()


def test_health_checks_and_canary_probes_send_the_auth_token(project, nginx, tmp_path):
    """Every probe Fraisier sends a slot — its health checks and the canary analysis — has
    `Authorization: Bearer <health_check.auth_token>`."""
    seen = tmp_path / "seen.log"
    environment = _environment(project, nginx, tmp_path, strategy="canary", canary={
        "steps": [{"weight": 50, "pause": "1s"}], "analysis": {"interval": 0.1}},
        env={"SEEN_LOG": str(seen)})
    environment["health_check"]["auth_token"] = "slot-probe-token-71c2"
    project.write_config(environment)
    first, store = project.deploy()
    store.close()
    assert first.status == "succeeded", first.error
    project.commit("v2", {"VERSION": "v2\n"})
    record, store = project.deploy()
    try:
        assert record.status == "succeeded", record.error
        steps = {s.name: s.status for s in store.ledger.steps(record.id)}
        assert steps["canary:50"] == StepStatus.SUCCEEDED.value
        logged = "\n".join(r["line"] for r in store.ledger.logs(record.id))
        assert "slot-probe-token-71c2" not in logged
    finally:
        store.close()
    requests = [line.split(" ", 1) for line in seen.read_text().splitlines()]
    paths = {path for path, _ in requests}
    assert "/health" in paths and "/" in paths  # health checks and canary probes
    assert {auth for _, auth in requests} == {"Bearer slot-probe-token-71c2"}


class FakePrometheus(BaseHTTPRequestHandler):
    value = "0.5"

    def do_GET(self):
        body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"job": "web"}, "value": [1700000000.0, self.value]}]}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("value, expected", [("0.5", "succeeded"), ("7", "rolled_back")])
def test_canary_prometheus_threshold(project, nginx, tmp_path, value, expected):
    handler = type("Handler", (FakePrometheus,), {"value": value})
    prometheus = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=prometheus.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{prometheus.server_address[1]}"
        project.write_config(_environment(project, nginx, tmp_path, strategy="canary", canary={
            "steps": [{"weight": 20, "pause": "0.2s"}],
            "analysis": {"prometheus": {"url": url, "query": "rate(errors[1m])", "max": 1}}}))
        first, store = project.deploy()
        store.close()
        assert first.status == "succeeded", first.error
        project.commit("v2", {"VERSION": "v2\n"})
        record, store = project.deploy()
        store.close()
        assert record.status == expected, record.error
        live = (tmp_path / "srv" / ".fraisier" / "live-slot").read_text().strip()
        assert live == ("green" if expected == "succeeded" else "blue")
    finally:
        prometheus.shutdown()
        prometheus.server_close()


def test_blue_green_on_one_ssh_host(project, nginx, ssh_fleet, tmp_path):
    host = ssh_fleet.hosts[0]
    environment = _environment(project, nginx, tmp_path, strategy="blue_green", hosts=[{
        "name": host.name, "address": "127.0.0.1", "port": host.port, "user": ssh_fleet.user,
        "app_path": str(host.base / "app")}], ssh=ssh_section(ssh_fleet), hold=0)
    project.app_paths = [host.base / "app" / "blue", host.base / "app" / "green"]
    project.write_config(environment)
    for version in ("v1", "v2"):
        if version == "v2":
            project.commit("v2", {"VERSION": "v2\n"})
        record, store = project.deploy()
        store.close()
        assert record.status == "succeeded", record.error
        connection = http.client.HTTPConnection("127.0.0.1", nginx.port, timeout=10)
        connection.request("GET", "/")
        assert connection.getresponse().read().decode().strip() == version
        connection.close()
    live = (host.base / "app" / ".fraisier" / "live-slot").read_text().strip()
    assert live == "green"
    # The same commit again: nothing to do, traffic stays where it is.
    again, store = project.deploy()
    store.close()
    assert again.status == "succeeded" and again.release == record.release
    assert (host.base / "app" / ".fraisier" / "live-slot").read_text().strip() == "green"
    assert (host.base / "app" / "green" / "current").is_symlink()
    shown = CliRunner().invoke(cli, ["-c", str(project.config_path), "status", "web",
                                     "production", "--hosts", "--json"])
    assert shown.exit_code == 0, shown.output
    assert {row["host"]: row["serving"] for row in json.loads(shown.output)} == {
        "blue": False, "green": True}
    # hold: 0 stopped the old slot right after the switch...
    assert not (host.base / "app" / "blue" / "app.pid").exists()
    # ...and a rollback after the hold starts it again and switches back, rebuilding nothing.
    back, store = project.deploy(rollback=True)
    try:
        assert back.status == "succeeded", back.error
        steps = {s.name: s for s in store.ledger.steps(back.id)}
        assert steps["slot:start"].data == {"restarted": True}
    finally:
        store.close()
    connection = http.client.HTTPConnection("127.0.0.1", nginx.port, timeout=10)
    connection.request("GET", "/")
    assert connection.getresponse().read().decode().strip() == "v1"
    connection.close()


@contextlib.contextmanager
def _v2_holding(project, nginx, tmp_path):
    """Deploy v1 blue-green with a long hold, then v2 in a thread; yields (while v2 holds
    the old slot) a dict that holds v2's final record once the block has ended."""
    project.write_config(_environment(project, nginx, tmp_path, strategy="blue_green",
                                      hold="5m"))
    first, store = project.deploy()
    store.close()
    assert first.status == "succeeded", first.error
    project.commit("v2", {"VERSION": "v2\n"})
    holding = threading.Event()
    outcome: dict = {}

    def deploy() -> None:
        record, store = project.deploy(observer=SetOn("hold", StepStatus.RUNNING, holding))
        store.close()
        outcome["record"] = record

    worker = threading.Thread(target=deploy)
    worker.start()
    try:
        assert holding.wait(60)
        yield outcome
    finally:
        worker.join(timeout=120)


def test_a_rollback_requested_during_the_hold_switches_back_at_once(project, nginx, tmp_path):
    with _v2_holding(project, nginx, tmp_path) as outcome:
        connection = http.client.HTTPConnection("127.0.0.1", nginx.port, timeout=10)
        connection.request("GET", "/")
        assert connection.getresponse().read().decode().strip() == "v2"
        connection.close()
        config = project.config()
        store = open_state(config)
        try:
            queued = request_rollback(store, config, "web", "production")
        finally:
            store.close()
    record = outcome["record"]
    assert record.status == "rolled_back", record.error
    assert f"rollback {queued.id} requested during the hold" in record.error
    connection = http.client.HTTPConnection("127.0.0.1", nginx.port, timeout=10)
    connection.request("GET", "/")
    assert connection.getresponse().read().decode().strip() == "v1"
    connection.close()
    store = open_state(config)
    try:
        assert store.queue.get(queued.id, with_steps=False).status == "cancelled"
    finally:
        store.close()


def test_an_upstream_nginx_rejects_is_never_left_in_place(nginx):
    from fraisier.config.rollouts import NginxConfig
    from fraisier.rollout.nginx import Nginx, NginxError, Server

    before = nginx.upstream_file.read_text()
    balancer = Nginx(NginxConfig.model_validate(nginx.lb_config()["nginx"]))
    with pytest.raises(NginxError, match="nginx -t"):
        balancer.apply([Server("127.0.0.1:0")])  # nginx refuses port 0
    assert nginx.upstream_file.read_text() == before
    blue, _ = nginx.slot_ports
    balancer.apply([Server(f"127.0.0.1:{blue}", weight=3)])
    assert f"server 127.0.0.1:{blue} weight=3;" in nginx.upstream_file.read_text()


def test_cli_rollback_during_the_hold_is_taken_by_the_holding_deployment(project, nginx,
                                                                         tmp_path):
    with _v2_holding(project, nginx, tmp_path) as outcome:
        result = CliRunner().invoke(cli, ["-c", str(project.config_path), "rollback", "web",
                                          "production", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output[result.output.index("{"):])
    held = outcome["record"]
    assert shown["id"] == held.id and shown["status"] == "rolled_back"
    assert "requested during the hold" in shown["error"]
    connection = http.client.HTTPConnection("127.0.0.1", nginx.port, timeout=10)
    connection.request("GET", "/")
    assert connection.getresponse().read().decode().strip() == "v1"
    connection.close()
