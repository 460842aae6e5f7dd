"""What `fraisier serve` says: on start, the version, the configuration file, the state
database with its password redacted, and where it listens; then one line per deployment
outcome, job run and backup; with `--log-format json`, one JSON object per line."""

from __future__ import annotations

import json
import logging
import sqlite3
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.cli._cli_support import invoke, run_fraisier
from tests.selfhost._support import one_commit_repository
from tests.support.waiting import wait_for
from tests.webhooks._server import Process, Server

CONFIG = """\
state:
  url: {state_url}
data_dir: {root}/data
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
  nightly:
    type: backup
    repository: {repo}
    backups:
      appdb:
        kind: sqlite
        path: {root}/app.db
    environments:
      production:
        branch: main
        app_path: {root}/srv/nightly
        backup_dir: {root}/backups
"""


def _repository(root: Path) -> Path:
    repo = one_commit_repository(root)
    return repo


def _config(root: Path, state_url: str) -> Path:
    path = root / "fraises.yaml"
    path.write_text(CONFIG.format(state_url=state_url, root=root, repo=_repository(root),
                                  python=sys.executable))
    return path


def test_start_lines_name_version_config_database_and_address(tmp_path, postgres_server,
                                                             postgres_url):
    # Trust authentication ignores the password: it is there to be redacted.
    url = postgres_url.replace("postgres@", "postgres:hunter2-secret@")
    config = _config(tmp_path, url)
    server = Server(config, log=tmp_path / "serve.log")
    try:
        output = server.output()
    finally:
        server.stop()
    assert "hunter2-secret" not in output
    lines = [line.split(": ", 1)[1] for line in output.splitlines() if " fraisier." in line]
    assert lines[:3] == [
        f"fraisier {version('fraisier')}",
        f"configuration {config} (2 fraise(s), 3 environment(s))",
        f"state database {url.replace('hunter2-secret', '***')}",
    ]
    assert (f"listening on http://127.0.0.1:{server.port} — webhooks /webhook, "
            "GraphQL /graphql, dashboard /") in lines


def test_json_log_has_one_object_per_line_and_a_line_per_deployment(tmp_path):
    config = _config(tmp_path, f"sqlite:///{tmp_path}/state.db")
    server = Server(config, "--log-format", "json", log=tmp_path / "serve.log")
    try:
        good = run_fraisier(config, "deploy", "web", "production", "--json")
        bad = run_fraisier(config, "deploy", "web", "broken", "--json")
        assert good.exit_code == 0, good.stderr
        assert bad.exit_code != 0
    finally:
        server.stop()
    entries = [json.loads(line) for line in (tmp_path / "serve.log").read_text().splitlines()]
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    started = next(e for e in entries if e["message"].startswith("listening on"))
    assert started["url"] == f"http://127.0.0.1:{server.port}"
    outcomes = {e["environment"]: e for e in entries if e["logger"] == "fraisier.deployments"}
    assert outcomes["production"]["outcome"] == "succeeded"
    assert outcomes["production"]["level"] == "info"
    assert outcomes["production"]["deployment_id"] == good.json()["id"]
    assert outcomes["production"]["message"].startswith(
        f"deployment {good.json()['id']} web/production succeeded (trigger cli, commit ")
    assert outcomes["broken"]["outcome"] == "failed" and outcomes["broken"]["level"] == "warning"
    assert "build" in outcomes["broken"]["message"]


def test_a_line_per_backup_and_per_job_run(tmp_path, caplog):
    config = _config(tmp_path, f"sqlite:///{tmp_path}/state.db")
    database = sqlite3.connect(tmp_path / "app.db")
    database.execute("CREATE TABLE items (id INTEGER PRIMARY KEY)")
    database.commit()
    database.close()
    caplog.set_level(logging.INFO)
    outcome = invoke(config, "backup", "run", "nightly", "production", "appdb")
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    backups = [r for r in caplog.records if r.name == "fraisier.backups"]
    assert len(backups) == 1
    assert backups[0].getMessage().startswith("backup 1 nightly/production appdb good (")
    assert backups[0].outcome == "good" and backups[0].job == "appdb"

    from fraisier.config import load_config
    from fraisier.kinds.runs import execute_run
    from fraisier.store import open_store

    loaded = load_config(config)
    store = open_store(loaded.state.url)
    try:
        execute_run(store, loaded.target("nightly", "production"), "job", "cleanup",
                    [sys.executable, "-c", "raise SystemExit(4)"], cwd=tmp_path,
                    env={}, timeout=30, trigger="schedule")
    finally:
        store.close()
    runs = [r for r in caplog.records if r.name == "fraisier.runs"]
    assert len(runs) == 1 and runs[0].levelno == logging.WARNING
    assert runs[0].getMessage().startswith("job run 2 nightly/production cleanup failed")
    assert runs[0].outcome == "failed"


@pytest.mark.parametrize("command, first", [("worker", "started with 2 slot(s)"),
                                            ("scheduler", "scheduler running")])
def test_worker_and_scheduler_log_json_too(tmp_path, command, first):
    config = _config(tmp_path, f"sqlite:///{tmp_path}/state.db")
    log = tmp_path / f"{command}.log"
    process = Process(config, command, "--log-format", "json", log=log)
    try:
        def started() -> bool:
            assert process.proc.poll() is None, process.output()
            return first in log.read_text()

        wait_for(started, 60, lambda: f"{first!r} to be logged:\n{process.output()}")
    finally:
        process.stop()
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(first in entry["message"] for entry in entries)
