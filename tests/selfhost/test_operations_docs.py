"""docs/operations.md: the alert rules pass `promtool check rules` and fire (or stay quiet)
under `promtool test rules`; the scrape configuration passes `promtool check config`; every
query of the Grafana dashboard and of the rules names a metric /metrics serves; the metrics
table lists exactly those metrics."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from fraisier.domain.model import StepStatus
from fraisier.metrics import exposition
from fraisier.store import open_store
from tests.support.services import require_binary

DOC = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
METRIC = re.compile(r"\bfraisier_[a-z_]+")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, re.DOTALL)


def _webhook_row(store) -> None:
    with store.db.transaction():
        store.db.execute(
            "INSERT INTO tb_webhook_event (received_at, provider, event_type, outcome)"
            " VALUES ('2026-01-01T00:00:00.000000Z', 'github', 'push', 'rejected')")


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> tuple[set[str], set[str]]:
    """(sample names, family names) of a real exposition with every metric present."""
    root = tmp_path_factory.mktemp("metrics")
    store = open_store(f"sqlite:///{root}/state.db")
    try:
        record = store.queue.enqueue("web", "production", trigger="cli", branch="main")
        store.queue.claim(record.id, "worker:docs:1", 60)
        store.ledger.plan(record.id, ["fetch"])
        store.ledger.mark(record.id, 0, StepStatus.RUNNING)
        store.ledger.mark(record.id, 0, StepStatus.SUCCEEDED)
        store.queue.finish(record.id, "succeeded")
        store.queue.enqueue("web", "production", trigger="cli", branch="main")
        with store.db.transaction():
            running = store.queue.enqueue("web", "staging", trigger="cli", branch="main")
            store.queue.claim(running.id, "worker:docs:1", 60)
        _webhook_row(store)
        store.workers.beat("worker:docs:1", 60)
        body, _ = exposition(store.db)
    finally:
        store.close()
    families = list(text_string_to_metric_families(body.decode()))
    samples = {sample.name for family in families for sample in family.samples}
    return samples, {family.name for family in families}


def test_dashboard_loads_and_every_panel_query_names_served_metrics(served):
    samples, _ = served
    dashboard = json.loads(_blocks("json")[0])
    assert dashboard["title"] == "Fraisier" and dashboard["panels"]
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = METRIC.findall(target["expr"])
            assert names, f"{panel['title']}: {target['expr']}"
            unknown = set(names) - samples
            assert not unknown, f"{panel['title']}: {unknown} not served"


def test_alert_rules_name_served_metrics(served):
    samples, _ = served
    rules = yaml.safe_load(_blocks("yaml")[1])["groups"][0]["rules"]
    for rule in rules:
        assert set(METRIC.findall(rule["expr"])) <= samples, rule["alert"]


def test_metrics_table_lists_exactly_the_served_families(served):
    _, families = served
    table = set(re.findall(r"^\| `(fraisier_[a-z_]+)` \|", DOC, re.MULTILINE))
    # The parser names counters without their _total suffix.
    documented = {name.removesuffix("_total") for name in table}
    assert documented == families


def test_promtool_accepts_the_rules_and_they_fire_when_they_should(tmp_path):
    promtool = require_binary("promtool")
    rules = tmp_path / "fraisier.rules.yml"
    rules.write_text(_blocks("yaml")[1])
    checked = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True,
                             text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 6 rules found" in checked.stdout

    cases = {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                {"series": 'fraisier_deployments_total{fraise="web",environment="production",'
                           'trigger="webhook",outcome="rollback_failed"}',
                 "values": "0 0 1 1 1"},
                {"series": 'fraisier_deployments_total{fraise="web",environment="staging",'
                           'trigger="webhook",outcome="succeeded"}',
                 "values": "0 1 2 3 4"},
                {"series": "fraisier_workers", "values": "1 0 0 0 0 0 0 0"},
            ],
            "alert_rule_test": [
                {"eval_time": "4m", "alertname": "FraisierRollbackFailed",
                 "exp_alerts": [{"exp_labels": {"severity": "critical", "fraise": "web",
                                                "environment": "production"},
                                 "exp_annotations": {"summary": "web/production: a rollback "
                                                     "failed; the service may be "
                                                     "half-deployed"}}]},
                {"eval_time": "4m", "alertname": "FraisierDeploymentsFailing",
                 "exp_alerts": [{"exp_labels": {"severity": "warning", "fraise": "web",
                                                "environment": "production"},
                                 "exp_annotations": {"summary": "web/production: a deployment"
                                                     " did not succeed in the last hour"}}]},
                {"eval_time": "3m", "alertname": "FraisierNoWorker", "exp_alerts": []},
                {"eval_time": "7m", "alertname": "FraisierNoWorker",
                 "exp_alerts": [{"exp_labels": {"severity": "critical"},
                                 "exp_annotations": {"summary": "no Fraisier worker has sent a"
                                                     " heartbeat for 5 minutes: nothing gets"
                                                     " deployed"}}]},
            ],
        }],
    }
    case_file = tmp_path / "cases.yml"
    case_file.write_text(yaml.safe_dump(cases))
    tested = subprocess.run([promtool, "test", "rules", str(case_file)], capture_output=True,
                            text=True, timeout=60)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_promtool_accepts_the_scrape_configuration(tmp_path):
    promtool = require_binary("promtool")
    token = tmp_path / "token"
    token.write_text("m" * 40)
    config = tmp_path / "prometheus.yml"
    # The one change: the token file lives in the test's directory, not /etc/prometheus.
    config.write_text(_blocks("yaml")[0].replace("/etc/prometheus/fraisier-metrics-token",
                                                  str(token)))
    checked = subprocess.run([promtool, "check", "config", str(config)], capture_output=True,
                             text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
