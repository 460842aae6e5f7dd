"""SIGTERM stops a worker cleanly; `fraisier webhook send` drives a real server end to end."""

import signal
import subprocess
import sys

import pytest

from fraisier.config import load_config
from fraisier.domain.model import Trigger
from fraisier.engine.service import open_state, request_deployment
from tests.support.waiting import wait_for
from tests.webhooks._server import Server

from .test_burst_and_control import _gated_workspace


def test_sigterm_cancels_what_outlives_the_grace_period(tmp_path):
    ws, gate = _gated_workspace(tmp_path)
    ws.config_path.write_text(ws.config_path.read_text().replace(
        "shutdown_grace_seconds: 5", "shutdown_grace_seconds: 0.5"))
    config = load_config(ws.config_path)
    store = open_state(config)
    record = request_deployment(store, config, "app", "production", trigger=Trigger.CLI)
    worker = subprocess.Popen([sys.executable, "-m", "fraisier.cli.main", "-c",
                               str(ws.config_path), "worker"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: any(s.name == "build" and s.status == "running"
                             for s in store.queue.get(record.id).steps), what="build")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(60) == 0
    finally:
        gate.write_text("open")
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    final = store.queue.get(record.id)
    assert final.status == "cancelled"
    assert {s.name: s.compensation_status for s in final.steps}["release"] == "compensated"
    assert store.workers.alive() == []
    store.close()


@pytest.mark.parametrize("provider", ["github", "gitlab", "gitea", "forgejo", "bitbucket"])
def test_webhook_send_deploys_through_a_real_server(tmp_path, provider):
    ws, gate = _gated_workspace(tmp_path)
    gate.write_text("open")
    secrets = {"github": "github: {webhook_secret: s1}", "gitlab": "gitlab: {secret_token: t1}",
               "gitea": "gitea: {webhook_secret: s2}", "forgejo": "forgejo: {webhook_secret: s3}",
               "bitbucket": "bitbucket: {webhook_secret: s4}"}
    ws.config_path.write_text(ws.config_path.read_text().replace(
        "github: {webhook_secret: burst-secret}", secrets[provider]))
    server = Server(ws.config_path, log=tmp_path / "serve.log")
    try:
        sent = subprocess.run([sys.executable, "-m", "fraisier.cli.main", "-c",
                               str(ws.config_path), "webhook", "send", "--provider", provider,
                               "app", "production", "--url", f"{server.url}/webhook"],
                              capture_output=True, text=True, timeout=60)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert "HTTP 202" in sent.stdout
        store = open_state(load_config(ws.config_path))
        deployment = wait_for(lambda: [r for r in store.views.history(limit=5,
                                                                     with_steps=False)
                                       if r.status not in ("queued", "running")],
                              what="the deployment")[0]
        assert deployment.status == "succeeded", deployment.error
        assert deployment.trigger == "webhook"
        listed = subprocess.run([sys.executable, "-m", "fraisier.cli.main", "-c",
                                 str(ws.config_path), "webhooks", "--json"],
                                capture_output=True, text=True, timeout=60)
        assert f'"provider": "{provider}"' in listed.stdout
        assert '"outcome": "queued"' in listed.stdout
        store.close()
    finally:
        # uvicorn re-raises SIGTERM after its clean shutdown, so -15 is a clean exit too.
        assert server.stop() in (0, -signal.SIGTERM), server.output()
        assert "stopped" in server.output()
