"""/metrics: the exposition, parsed with prometheus-client's own parser, says what the state
database says — after real deployments (one failing), real webhook deliveries (one refused)
and a live worker — and answers only with the bearer token when one is configured."""

from __future__ import annotations

import math
import socket
import sys
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fraisier.store import open_store
from fraisier.store.metrics import DURATION_BUCKETS
from tests.cli._cli_support import run_fraisier
from tests.selfhost._support import one_commit_repository
from tests.support.waiting import wait_for
from tests.webhooks._server import Server

TOKEN = "m" * 40
CONFIG = """\
state:
  url: sqlite:///{root}/state.db
data_dir: {root}/data
metrics:
  token: "{token}"
# A channel nobody listens on: every deployment outcome makes one failed attempt.
notifications:
  - name: ops
    url: json://127.0.0.1:9/hook
notifier:
  timeout_seconds: 5
  max_attempts: 1
  poll_interval: 0.1
git:
  github:
    webhook_secret: "{secret}"
fraises:
  web:
    repository: {repo}
    environments:
      production:
        branch: main
        app_path: {root}/srv/web
      broken:
        branch: main
        app_path: {root}/srv/broken
        build: [{python}, -c, "raise SystemExit(3)"]
"""


def _project(root: Path) -> Path:
    repo = one_commit_repository(root)
    config = root / "fraises.yaml"
    config.write_text(CONFIG.format(root=root, repo=repo, token=TOKEN, secret="w" * 40,
                                    python=sys.executable))
    return config


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _seconds(start: str, end: str) -> float:
    parse = lambda text: datetime.fromisoformat(text.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


@pytest.fixture
def scraped(tmp_path):
    config = _project(tmp_path)
    server = Server(config, log=tmp_path / "serve.log")
    try:
        for environment in ("production", "production", "broken"):
            run_fraisier(config, "deploy", "web", environment, "--force")
        sent = run_fraisier(config, "webhook", "send", "web", "production", "--provider",
                            "github", "--url", f"{server.url}/webhook")
        assert sent.exit_code == 0, sent.stdout + sent.stderr
        refused = httpx.post(f"{server.url}/webhook", content=b"{}",
                             headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=0"})
        assert refused.status_code in (401, 403)
        # The webhook's deployment finishes before the snapshot is compared.
        store = open_store(f"sqlite:///{tmp_path}/state.db")
        wait_until_idle(store)
        answer = httpx.get(f"{server.url}/metrics",
                           headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200, answer.text
        yield server, store, answer
        store.close()
    finally:
        server.stop()


def wait_until_idle(store) -> None:
    wait_for(lambda: not store.db.scalar("SELECT COUNT(*) FROM tb_deployment WHERE status IN"
                                         " ('queued', 'running')"), what="deployments to finish")


def test_exposition_matches_the_state_database(scraped):
    server, store, answer = scraped
    assert answer.headers["content-type"].startswith("text/plain")
    samples = _samples(answer.text)
    db = store.db

    # Deployments by fraise, environment, trigger and outcome.
    rows = db.fetchall("SELECT fraise, environment, trigger, status FROM tb_deployment")
    expected: dict[tuple, int] = {}
    for row in rows:
        key = (("environment", row["environment"]), ("fraise", row["fraise"]),
               ("outcome", row["status"]), ("trigger", row["trigger"]))
        expected[key] = expected.get(key, 0) + 1
    got = {labels: value for (name, labels), value in samples.items()
           if name == "fraisier_deployments_total"}
    assert got == expected
    assert {dict(k)["outcome"] for k in got} == {"succeeded", "failed"}
    assert {dict(k)["trigger"] for k in got} == {"cli", "webhook"}

    # Deployment durations: count, sum and cumulative buckets per environment.
    for environment in ("production", "broken"):
        durations = [r["duration_seconds"] for r in db.fetchall(
            "SELECT duration_seconds FROM tb_deployment WHERE environment = ?", (environment,))]
        labels = (("environment", environment), ("fraise", "web"))
        assert samples[("fraisier_deployment_duration_seconds_count", labels)] == len(durations)
        assert math.isclose(samples[("fraisier_deployment_duration_seconds_sum", labels)],
                            sum(durations), abs_tol=1e-6)
        for bound in DURATION_BUCKETS:
            bucket = tuple(sorted((*labels, ("le", repr(bound)))))
            assert samples[("fraisier_deployment_duration_seconds_bucket", bucket)] == sum(
                d <= bound for d in durations)

    # Step durations, by step name, from the step ledger's timestamps.
    steps = db.fetchall("SELECT name, started_at, completed_at FROM tb_deployment_step"
                        " WHERE started_at IS NOT NULL AND completed_at IS NOT NULL")
    assert steps
    for name in {s["name"] for s in steps}:
        seconds = [_seconds(s["started_at"], s["completed_at"]) for s in steps
                   if s["name"] == name]
        labels = (("step", name),)
        assert samples[("fraisier_step_duration_seconds_count", labels)] == len(seconds)
        assert math.isclose(samples[("fraisier_step_duration_seconds_sum", labels)],
                            sum(seconds), abs_tol=0.01 * len(seconds))

    # Webhook requests by provider and outcome.
    webhooks: dict[tuple, int] = {}
    for row in db.fetchall("SELECT provider, outcome FROM tb_webhook_event"):
        key = (("outcome", row["outcome"]), ("provider", row["provider"] or "unknown"))
        webhooks[key] = webhooks.get(key, 0) + 1
    got = {labels: value for (name, labels), value in samples.items()
           if name == "fraisier_webhook_requests_total"}
    assert got == webhooks and len(got) == 2

    # The server's own worker is alive and beating; nothing is queued or running.
    workers = db.fetchall("SELECT name FROM tb_worker")
    assert samples[("fraisier_workers", ())] == len(workers) == 1
    beats = [k for k in samples if k[0] == "fraisier_worker_heartbeat_timestamp_seconds"]
    assert [dict(k[1])["worker"] for k in beats] == [workers[0]["name"]]
    assert not [k for k in samples if k[0] in ("fraisier_deployments_queued",
                                               "fraisier_deployments_running")]


def test_notification_attempts_come_from_the_database(scraped):
    server, store, _ = scraped
    # The notifier (a thread of the server's worker) gives up on the dead channel.
    wait_for(lambda: store.db.scalar("SELECT COUNT(*) FROM tb_notification_attempt") and
             not store.db.scalar("SELECT COUNT(*) FROM tb_notification"
                                 " WHERE status = 'pending'"), what="the notifier to give up")
    answer = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    expected: dict[tuple, int] = {}
    for row in store.db.fetchall("SELECT channel, kind, status FROM tb_notification_attempt"):
        key = (("channel", row["channel"]), ("kind", row["kind"]), ("status", row["status"]))
        expected[key] = expected.get(key, 0) + 1
    got = {labels: value for (name, labels), value in _samples(answer.text).items()
           if name == "fraisier_notification_attempts_total"}
    assert got == expected
    assert {dict(k)["status"] for k in got} == {"gave_up"}


def test_queued_and_running_come_from_the_database_not_this_process(scraped):
    server, store, _ = scraped
    # Another process's work: a deployment running under someone else's lease, and one
    # queued behind it on the same target, which no worker may start while it runs (so the
    # server's own worker cannot take it, however slow or fast this machine is).
    with store.db.transaction():  # claimed in the same commit: the server's worker cannot
        running = store.queue.enqueue("web", "production", trigger="api", branch="main")
        assert store.queue.claim(running.id, "worker:elsewhere:1", 3600)
    queued = store.queue.enqueue("web", "production", trigger="api", branch="main")
    try:
        samples = _samples(httpx.get(f"{server.url}/metrics",
                                     headers={"Authorization": f"Bearer {TOKEN}"}).text)
        assert store.queue.get(queued.id).status == "queued"  # still, after the scrape
    finally:
        store.queue.finish(running.id, "cancelled", "test")
        store.queue.cancel_queued(queued.id)
    production = (("environment", "production"), ("fraise", "web"))
    assert samples[("fraisier_deployments_running", production)] == 1
    assert samples[("fraisier_deployments_queued", production)] == 1


def test_the_bearer_token_is_required_when_configured(scraped):
    server, _, _ = scraped
    assert httpx.get(f"{server.url}/metrics").status_code == 401
    wrong = httpx.get(f"{server.url}/metrics", headers={"Authorization": "Bearer " + "x" * 40})
    assert wrong.status_code == 401 and TOKEN not in wrong.text


def test_the_same_snapshot_on_postgresql(postgres_url):
    from fraisier.domain.model import StepStatus
    from fraisier.metrics import exposition

    store = open_store(postgres_url)
    try:
        record = store.queue.enqueue("web", "production", trigger="webhook", branch="main")
        store.queue.claim(record.id, "worker:test:1", 60)
        store.ledger.plan(record.id, ["fetch", "activate"])
        for position in (0, 1):
            store.ledger.mark(record.id, position, StepStatus.RUNNING)
            store.ledger.mark(record.id, position, StepStatus.SUCCEEDED)
        store.queue.finish(record.id, "succeeded")
        store.queue.enqueue("web", "production", trigger="cli", branch="main")
        store.workers.beat("worker:test:1", 60)
        body, _ = exposition(store.db)
        samples = _samples(body.decode())
        steps = store.db.fetchall("SELECT name, started_at, completed_at"
                                  " FROM tb_deployment_step")
        beat = store.db.scalar("SELECT heartbeat_at FROM tb_worker")
    finally:
        store.close()
    web = (("environment", "production"), ("fraise", "web"))
    assert samples[("fraisier_deployments_total",
                    (*web[:1], web[1], ("outcome", "succeeded"), ("trigger", "webhook")))] == 1
    assert samples[("fraisier_deployments_queued", web)] == 1
    for step in steps:
        labels = (("step", step["name"]),)
        assert samples[("fraisier_step_duration_seconds_count", labels)] == 1
        assert math.isclose(samples[("fraisier_step_duration_seconds_sum", labels)],
                            _seconds(step["started_at"], step["completed_at"]), abs_tol=1e-3)
    assert math.isclose(samples[("fraisier_worker_heartbeat_timestamp_seconds",
                                 (("hostname", socket.gethostname()),
                                  ("worker", "worker:test:1")))],
                        datetime.fromisoformat(beat.replace("Z", "+00:00")).timestamp(),
                        abs_tol=1e-3)
