"""Channels through Apprise against real receivers: a local `json://` webhook receiver and
an SMTP server (aiosmtpd) for `mailto://`; `fraisier notify test`; URLs never shown."""

from __future__ import annotations

import json
import time
from email import message_from_bytes
from pathlib import Path

from click.testing import CliRunner

from fraisier.cli.main import cli
from fraisier.config.notifications import ChannelConfig
from fraisier.demo.workspace import free_port
from fraisier.notify.channels import bounded, redact, send
from fraisier.store.notifications import Outcome
from tests.notify._support import Reply, make_repository, write_config
from tests.support.waiting import wait_for


def channel(url: str, **keys) -> ChannelConfig:
    return ChannelConfig.model_validate({"name": "c", "url": url, **keys})


def test_json_receiver_gets_title_and_body(stand_in):
    outcome = send(channel(f"json://127.0.0.1:{stand_in.port}/hook"), "T", "B", timeout=30)
    assert outcome.ok and outcome.error is None
    [request] = stand_in.matching("POST", "/hook")
    assert request.body["title"] == "T" and request.body["message"] == "B"


def test_a_refusing_receiver_is_a_failed_attempt_without_the_url(stand_in):
    stand_in.route("POST", "/hook", Reply(403, {"error": "forbidden"}))
    url = f"json://hookuser:s3cr3tpass@127.0.0.1:{stand_in.port}/hook"
    outcome = send(channel(url), "T", "B", timeout=30)
    assert not outcome.ok
    assert outcome.http_status == 403
    assert "s3cr3tpass" not in (outcome.error or "") and url not in (outcome.error or "")


def test_email_reaches_a_real_smtp_server():
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd calls it so
            self.messages.append((envelope.rcpt_tos, envelope.content))
            return "250 OK"

    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        url = (f"mailto://127.0.0.1:{port}?from=fraisier@example.com"
               "&to=oncall@example.com")
        outcome = send(channel(url), "web/production: deployment failed", "Error: boom",
                       timeout=30)
        assert outcome.ok, outcome.error
        [(recipients, content)] = inbox.messages
    finally:
        controller.stop()
    assert recipients == ["oncall@example.com"]
    mail = message_from_bytes(content)
    assert mail["Subject"] == "web/production: deployment failed"
    body = mail.get_payload(decode=True) if not mail.is_multipart() else (
        mail.get_payload()[0].get_payload(decode=True))
    assert b"Error: boom" in body


def test_an_attempt_is_cut_at_the_timeout_whatever_the_work_does():
    started = time.monotonic()
    outcome = bounded(lambda: (time.sleep(30), Outcome(True, 0.0))[1], 0.2, started, "slow")
    assert not outcome.ok
    assert outcome.error == "no answer within 0.2 s (notifier.timeout_seconds)"


def test_redact_removes_every_secret_part_of_a_url():
    url = "slack://T0AAAA/B0BBBBBB/XXXXsecretXXXX/#deploys"
    text = f"failed to post to {url} (token XXXXsecretXXXX) at B0BBBBBB"
    cleaned = redact(text, url)
    assert "XXXXsecretXXXX" not in cleaned and "B0BBBBBB" not in cleaned
    assert "slack://" not in cleaned


def _config(tmp_path: Path, extra: str) -> Path:
    return write_config(tmp_path, make_repository(tmp_path), extra)


def test_notify_test_prints_what_the_channel_answered(tmp_path, stand_in, monkeypatch):
    stand_in.route("POST", "/bad", Reply(500, {}))
    monkeypatch.setenv("HOOK_TOKEN", "tok-12345678")
    path = _config(tmp_path, f"""\
notifications:
  - name: good
    url: json://127.0.0.1:{stand_in.port}/good?token=${{HOOK_TOKEN}}
  - name: bad
    url: json://127.0.0.1:{stand_in.port}/bad
""")
    runner = CliRunner()
    result = runner.invoke(cli, ["-c", str(path), "notify", "test", "good"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("good (json://): delivered in ")
    [request] = stand_in.matching("POST", "/good")
    assert request.body["title"] == "Fraisier test notification"

    result = runner.invoke(cli, ["-c", str(path), "notify", "test", "--json"])
    assert result.exit_code == 1
    answers = {a["channel"]: a for a in json.loads(result.output)}
    assert answers["good"]["ok"] is True and answers["bad"]["ok"] is False
    assert answers["bad"]["http_status"] == 500 and answers["bad"]["scheme"] == "json://"
    assert "tok-12345678" not in result.output and str(stand_in.port) not in result.output

    result = runner.invoke(cli, ["-c", str(path), "notify", "test", "nope"])
    assert result.exit_code == 1
    assert "no channel named 'nope' (channels: good, bad)" in result.output


def test_notifications_lists_the_attempts(tmp_path, stand_in):
    from fraisier.config import load_config
    from fraisier.domain.model import Trigger
    from fraisier.engine.service import open_state, request_deployment
    from fraisier.notify.notifier import Notifier
    from fraisier.worker.inline import deploy_now

    stand_in.route("POST", "/bad", Reply(500, {}))
    path = _config(tmp_path, f"""\
notifications:
  - name: bad
    url: json://127.0.0.1:{stand_in.port}/bad
    events: [deployment.succeeded]
""")
    config = load_config(path)
    store = open_state(config)
    record = request_deployment(store, config, "web", "production", trigger=Trigger.CLI)
    deploy_now(store, config, record.id)
    notifier = Notifier(config, store)
    wait_for(lambda: notifier.step() == 0 and store.notifications.attempts(), what="an attempt")
    result = CliRunner().invoke(cli, ["-c", str(path), "notifications", "--json"])
    assert result.exit_code == 0, result.output
    [attempt] = json.loads(result.output)
    assert attempt["channel"] == "bad" and attempt["event"] == "deployment.succeeded"
    assert attempt["deployment_id"] == record.id and attempt["status"] == "failed"
    assert attempt["http_status"] == 500 and attempt["attempt"] == 1
    assert attempt["next_retry_at"] is not None
    table = CliRunner().invoke(cli, ["-c", str(path), "notifications"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "deployment.succeeded" in table.output


def test_apprise_lines_never_reach_the_process_log(stand_in):
    import logging

    class Seen(logging.Handler):
        def __init__(self):
            super().__init__(logging.DEBUG)
            self.records = []

        def emit(self, record):
            self.records.append(record)

    seen, root = Seen(), logging.getLogger()
    level, root.level = root.level, logging.DEBUG
    root.addHandler(seen)
    try:
        stand_in.route("POST", "/hook", Reply(500, {}))
        url = f"json://user:pw-0123456789@127.0.0.1:{stand_in.port}/hook"
        outcome = send(channel(url), "T", "B", timeout=30)
    finally:
        root.removeHandler(seen)
        root.setLevel(level)
    assert not outcome.ok and outcome.http_status == 500
    assert not [r for r in seen.records if r.name.startswith("apprise")]
    assert not any("pw-0123456789" in r.getMessage() for r in seen.records)
