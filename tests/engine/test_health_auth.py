"""`health_check.auth_token`: every HTTP health check attempt carries `Authorization: Bearer
<token>`, and the token shows nowhere Fraisier writes (logs, `--json`, errors, the API)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fraisier.config import load_config
from fraisier.demo.workspace import free_port
from tests.cli._cli_support import invoke, run_fraisier

from .conftest import Harness
from .sample import make_sample

TOKEN = "hc-token-5f1d9a27c3"


class GuardedHealth:
    """The app's /health behind a bearer token, as an app with a protected health
    endpoint serves it: 401 without the token; 503 for the first `failures` requests that
    carry it (the check must retry, and retry with it), then 200."""

    def __init__(self, failures: int) -> None:
        self.seen: list[str | None] = []
        self.failures = failures
        guard = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                guard.seen.append(self.headers.get("Authorization"))
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    code = 401
                elif guard.failures > 0:
                    guard.failures -= 1
                    code = 503
                else:
                    code = 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/health"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def guarded():
    server = GuardedHealth(failures=2)
    yield server
    server.close()


def _with_token(harness: Harness, url: str, token_line: str) -> None:
    text = harness.ws.config_path.read_text()
    start = text.index("        health_check:\n          url: ")
    end = text.index("\n", start + len("        health_check:\n          url: "))
    harness.ws.config_path.write_text(
        text[:start] + f"        health_check:\n          url: {url}\n          {token_line}"
        + text[end:])
    harness.reload_config()


@pytest.mark.parametrize("source", ["variable", "secret reference"])
def test_every_attempt_sends_the_token_and_it_is_shown_nowhere(tmp_path, guarded,
                                                               monkeypatch, source):
    monkeypatch.setenv("HEALTH_TOKEN", TOKEN)
    token_file = tmp_path / "health-token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    harness = Harness(make_sample(tmp_path))
    try:
        written = ("auth_token: ${HEALTH_TOKEN}" if source == "variable"
                   else f'auth_token: "${{secret:file:{token_file}}}"')
        _with_token(harness, guarded.url, written)
        record = harness.deploy()
        assert record.status == "succeeded", record.error
        # Three attempts (two 503s, then 200), every one with the token.
        assert guarded.seen == [f"Bearer {TOKEN}"] * 3

        logged = "\n".join(r["line"] for r in harness.store.ledger.logs(record.id))
        assert "health check attempt 3/6" in logged and TOKEN not in logged
        # In separate processes (a redactor that has seen nothing yet): the doctor's probe
        # sends the token and reports what it saw.
        for command in (("history", "--json"), ("logs", str(record.id)), ("validate",),
                        ("doctor", "--json")):
            shown = run_fraisier(harness.ws.config_path, *command)
            assert TOKEN not in shown.stdout + shown.stderr, command
        assert "health" in run_fraisier(harness.ws.config_path, "doctor", "--json").stdout
        # The configuration as a program sees it keeps the value out of its text forms.
        config = load_config(harness.ws.config_path)
        check = config.target("hello", "production").health_check
        assert check is not None and TOKEN not in repr(check)
        assert TOKEN not in json.dumps(check.model_dump(mode="json"))
    finally:
        harness.ws.stop_app()
        harness.store.close()


def test_a_wrong_token_fails_the_deployment_without_showing_it(tmp_path, monkeypatch):
    wrong = "wrong-token-8e41b0"
    server = GuardedHealth(failures=0)
    monkeypatch.setenv("HEALTH_TOKEN", wrong)
    harness = Harness(make_sample(tmp_path))
    try:
        harness.deploy()  # a first release to roll back to
        _with_token(harness, server.url, "auth_token: ${HEALTH_TOKEN}")
        record = harness.deploy(force=True)
        # Undoing restarts the previous release, whose check has the same wrong token.
        assert record.status in ("rolled_back", "rollback_failed")
        assert "HTTP 401" in (record.error or "") and wrong not in (record.error or "")
        assert set(server.seen) == {f"Bearer {wrong}"}
        logged = "\n".join(r["line"] for r in harness.store.ledger.logs(record.id))
        assert wrong not in logged
        shown = invoke(harness.ws.config_path, "history", "--json")
        assert wrong not in shown.stdout and str(record.id) in shown.stdout
    finally:
        server.close()
        harness.ws.stop_app()
        harness.store.close()
