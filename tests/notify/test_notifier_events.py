"""Events besides deployments: a failed ETL run (its on_failure command still runs), a
rejected webhook; and `fraisier notifier` as a process of its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from fraisier.config import load_config
from fraisier.domain.model import Trigger
from fraisier.engine.service import open_state, request_deployment
from fraisier.notify.notifier import Notifier
from fraisier.worker.inline import deploy_now
from tests.notify._support import StandIn, make_repository
from tests.support.waiting import wait_for


def _etl_config(tmp_path, stand_in: StandIn) -> str:
    repo = make_repository(tmp_path)
    marker = tmp_path / "on_failure.txt"
    return textwrap.dedent(f"""\
        state:
          url: sqlite:///{tmp_path}/state.db
        notifications:
          - name: ops
            url: json://127.0.0.1:{stand_in.port}/ops
            events: [run.failed, deployment.rolled_back, deployment.failed]
            title: "$fraise/$environment run $run: exit $exit_code"
        fraises:
          loader:
            type: etl
            repository: {repo}
            script: [{sys.executable}, -c, "import sys; sys.exit(4)"]
            on_failure: [{sys.executable}, -c, "open('{marker}', 'w').write('ran')"]
            environments:
              production:
                branch: main
                app_path: {tmp_path}/app
        """), marker


def test_a_failed_etl_run_is_announced_and_on_failure_still_runs(tmp_path, stand_in):
    text, marker = _etl_config(tmp_path, stand_in)
    (tmp_path / "fraises.yaml").write_text(text)
    config = load_config(tmp_path / "fraises.yaml")
    store = open_state(config)
    record = request_deployment(store, config, "loader", "production", trigger=Trigger.CLI)
    done = deploy_now(store, config, record.id)
    assert done.status in ("failed", "rolled_back")
    assert marker.read_text() == "ran"  # the etl on_failure command kept working
    notifier = Notifier(config, store)
    wait_for(lambda: notifier.step() == 0 and not store.notifications.due(), what="idle")
    titles = sorted(r.body["title"] for r in stand_in.matching("POST", "/ops"))
    assert "loader/production run script: exit 4" in titles
    assert len(titles) == 2  # the run, and the deployment it failed


def test_a_rejected_webhook_is_announced(tmp_path, stand_in):
    repo = make_repository(tmp_path)
    (tmp_path / "fraises.yaml").write_text(textwrap.dedent(f"""\
        state:
          url: sqlite:///{tmp_path}/state.db
        git:
          github:
            webhook_secret: right
        notifications:
          - name: security
            url: json://127.0.0.1:{stand_in.port}/security
            events: [webhook.rejected]
        fraises:
          web:
            repository: {repo}
            environments:
              production: {{branch: main, app_path: {tmp_path}/app}}
        """))
    config = load_config(tmp_path / "fraises.yaml")
    store = open_state(config)
    _post_forged_push(config, store)
    notifier = Notifier(config, store)
    wait_for(lambda: notifier.step() == 0 and not store.notifications.due(), what="idle")
    [message] = stand_in.matching("POST", "/security")
    assert message.body["title"] == "webhook from github rejected"
    assert "Reason: " in message.body["message"]


def _post_forged_push(config, store) -> None:
    import json

    from fraisier.ingest.handler import Ingest
    from fraisier.ingest.result import WebhookRequest

    body = json.dumps({"ref": "refs/heads/main", "after": "a" * 40, "before": "b" * 40,
                       "repository": {"full_name": "acme/web"}}).encode()
    headers = {"x-github-event": "push", "x-github-delivery": "d-1",
               "x-hub-signature-256": "sha256=" + "0" * 64,
               "content-type": "application/json"}
    ingest = Ingest(config, store)
    try:
        result = ingest.handle(WebhookRequest(headers=headers, body=body,
                                              source_ip="127.0.0.1", provider="github"))
    finally:
        ingest.close()
    assert result.status_code == 401


def test_fraisier_notifier_runs_alone_and_stops_on_sigterm(tmp_path, stand_in):
    repo = make_repository(tmp_path)
    (tmp_path / "fraises.yaml").write_text(textwrap.dedent(f"""\
        state:
          url: sqlite:///{tmp_path}/state.db
        notifier:
          poll_interval: 0.1
        notifications:
          - name: ops
            url: json://127.0.0.1:{stand_in.port}/ops
            events: [deployment.succeeded]
        fraises:
          web:
            repository: {repo}
            environments:
              production: {{branch: main, app_path: {tmp_path}/app}}
        """))
    config = load_config(tmp_path / "fraises.yaml")
    store = open_state(config)
    process = subprocess.Popen(
        [sys.executable, "-c", "from fraisier.cli.main import main; main()", "-c",
         str(tmp_path / "fraises.yaml"), "notifier"], start_new_session=True,
        stderr=subprocess.PIPE, text=True)
    try:
        record = request_deployment(store, config, "web", "production", trigger=Trigger.CLI)
        deploy_now(store, config, record.id)
        [message] = wait_for(lambda: stand_in.matching("POST", "/ops"), what="the message")
        assert message.body["title"] == "web/production: deployment succeeded"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
