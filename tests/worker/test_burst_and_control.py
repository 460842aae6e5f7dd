"""A burst of pushes coalesces; cancel and retry; `deploy` follows a live worker."""

import json
import subprocess
import sys

from click.testing import CliRunner

from fraisier.cli.main import cli
from fraisier.config import load_config
from fraisier.demo import make_workspace
from fraisier.domain.model import Trigger
from fraisier.engine.service import open_state, request_deployment
from fraisier.ingest import WebhookRequest
from fraisier.ingest.handler import Ingest
from fraisier.ingest.sample_push import build_push
from fraisier.providers import Secrets
from fraisier.worker import Worker
from tests.support.waiting import wait_for

# A build that waits for a gate file: the first deployment is held while the burst arrives.
GATED = """\
git:
  github: {{webhook_secret: burst-secret}}
worker: {{concurrency: 2, lease_seconds: 5, poll_interval: 0.1, shutdown_grace_seconds: 5}}
fraises:
  app:
    repository: {repo}
    build: [sh, -c, 'while [ ! -e "$GATE" ]; do sleep 0.02; done']
    env: {{GATE: "{gate}"}}
    environments:
      production: {{branch: main, app_path: {root}/srv/app}}
state: {{url: "sqlite:///{root}/state.db"}}
"""


def _many_commits(repo, count: int) -> list[str]:
    """`count` commits on main in one git process (fast-import), oldest first."""
    stream = []
    for n in range(count):
        content = f"burst {n}\n".encode()
        stream.append(b"commit refs/heads/main\n")
        stream.append(b"committer Burst <burst@localhost> 1700000000 +0000\n")
        message = f"burst {n}".encode()
        stream.append(b"data %d\n%s\n" % (len(message), message))
        if n == 0:
            stream.append(b"from refs/heads/main^0\n")
        stream.append(b"M 100644 inline BURST\ndata %d\n%s\n" % (len(content), content))
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(stream),
                   check=True)
    out = subprocess.run(["git", "rev-list", "--reverse", f"-{count}", "main"], cwd=repo,
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def _gated_workspace(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    gate = tmp_path / "gate"
    ws.config_path.write_text(GATED.format(repo=ws.repo, gate=gate, root=tmp_path))
    return ws, gate


def test_burst_of_100_pushes_runs_at_most_two_deployments(tmp_path):
    ws, gate = _gated_workspace(tmp_path)
    config = load_config(ws.config_path)
    store = open_state(config)
    shas = _many_commits(ws.repo, 100)
    ingest = Ingest(config, store)
    worker = Worker(config, store).start()
    try:
        before = "0" * 40
        for n, sha in enumerate(shas):
            headers, body = build_push("github", Secrets(webhook_secret="burst-secret"),
                                       repository=str(ws.repo), branch="main", after=sha,
                                       before=before, delivery=f"burst-{n}")
            before = sha
            result = ingest.handle(WebhookRequest({k.lower(): v for k, v in headers.items()},
                                                  body, "127.0.0.1"))
            assert result.status_code == 202, result.body
        gate.write_text("open")
        wait_for(lambda: not store.queue.running() and not store.db.fetchall(
            "SELECT id FROM tb_deployment WHERE status = 'queued'"), what="the queue to drain")
    finally:
        gate.write_text("open")
        worker.stop()
    records = sorted(store.views.history(limit=200, with_steps=False), key=lambda r: r.id)
    assert len(records) == 100
    ran = [r for r in records if r.started_at is not None]
    assert 1 <= len(ran) <= 2
    assert ran[-1].status == "succeeded", ran[-1].error
    assert ran[-1].commit_sha == shas[-1]
    skipped = [r for r in records if r.started_at is None]
    assert {r.status for r in skipped} == {"superseded"}
    assert all(r.superseded_by is not None for r in skipped)
    store.close()


def test_cancel_running_and_queued_then_retry(tmp_path):
    ws, gate = _gated_workspace(tmp_path)
    config = load_config(ws.config_path)
    store = open_state(config)
    worker = Worker(config, store).start()
    runner = CliRunner()
    args = ["-c", str(ws.config_path)]
    try:
        running = request_deployment(store, config, "app", "production", trigger=Trigger.CLI)
        wait_for(lambda: any(s.name == "build" and s.status == "running"
                             for s in store.queue.get(running.id).steps), what="build")
        queued = request_deployment(store, config, "app", "production", trigger=Trigger.CLI)
        result = runner.invoke(cli, [*args, "cancel", str(queued.id), "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["status"] == "cancelled"
        result = runner.invoke(cli, [*args, "cancel", str(running.id), "--json"])
        assert result.exit_code == 0, result.output
        final = store.queue.get(running.id)
        assert final.status == "cancelled"
        assert {s.name: s.status for s in final.steps}["build"] == "failed"
        # The release made before the build was undone.
        assert {s.name: s.compensation_status for s in final.steps}["release"] == "compensated"
        assert not list((tmp_path / "srv" / "app" / "releases").glob("2*"))
        again = runner.invoke(cli, [*args, "cancel", str(running.id)])
        assert again.exit_code != 0 and "already cancelled" in again.output

        gate.write_text("open")
        result = runner.invoke(cli, [*args, "retry", str(running.id), "--json"])
        assert result.exit_code == 0, result.output
        retried = json.loads(result.stdout)
        assert retried["status"] == "succeeded"
        record = store.queue.get(retried["id"])
        assert (record.trigger, record.retry_of) == ("retry", running.id)
        assert record.commit_sha == final.commit_sha
    finally:
        gate.write_text("open")
        worker.stop()
        store.close()


def test_deploy_follows_a_live_worker(tmp_path):
    ws, gate = _gated_workspace(tmp_path)
    gate.write_text("open")
    server = subprocess.Popen([sys.executable, "-m", "fraisier.cli.main", "-c",
                               str(ws.config_path), "worker"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        config = load_config(ws.config_path)
        store = open_state(config)
        wait_for(lambda: store.workers.alive(), what="the worker's heartbeat")
        result = subprocess.run([sys.executable, "-m", "fraisier.cli.main", "-c",
                                 str(ws.config_path), "deploy", "app", "production"],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "queued for it, following" in result.stdout
        assert "fetch" in result.stdout and "cleanup" in result.stdout
        (record,) = store.views.history(limit=5, with_steps=False)
        assert record.status == "succeeded"
        assert record.lease_owner is None
        status_events = store.events.after(0, deployment_id=record.id,
                                           types=("deployment.status",))
        assert [e["payload"]["status"] for e in status_events] == ["queued", "running",
                                                                   "succeeded"]
        store.close()
    finally:
        server.terminate()
        server.wait(30)
    assert server.returncode == 0


def test_a_stalled_worker_does_not_overwrite_recovery(tmp_path):
    from fraisier.engine.recovery import recover
    from fraisier.planner import PLANNER

    ws, gate = _gated_workspace(tmp_path)
    config = load_config(ws.config_path)
    store = open_state(config)
    worker = Worker(config, store, concurrency=1)
    worker.start()
    try:
        record = request_deployment(store, config, "app", "production", trigger=Trigger.CLI)
        wait_for(lambda: any(s.name == "build" and s.status == "running"
                             for s in store.queue.get(record.id).steps), what="build")
        # As if the worker had stalled past its lease: another one takes the deployment over.
        with store.db.transaction():
            store.db.execute("UPDATE tb_deployment SET lease_expires_at = ? WHERE id = ?",
                             ("2000-01-01T00:00:00.000000Z", record.id))
        assert store.queue.take_over(record.id, "recovering-worker", 600)
        wait_for(lambda: not worker.running, what="the stalled run to give up")
        assert store.queue.get(record.id).status == "running"  # still the recoverer's
        final = recover(store, config, record.id, planner=PLANNER)
    finally:
        gate.write_text("open")
        worker.stop()
    assert final.status == "interrupted"
    assert store.queue.get(record.id).status == "interrupted"
    store.close()
