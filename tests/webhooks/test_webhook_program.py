"""`fraisier-webhook`: the console script runs the webhook server, with `fraisier serve`'s
options, as a real process."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx

from fraisier.store import open_store

from ._server import Server
from ._support import signed, write_config

PROGRAM = Path(sys.executable).parent / "fraisier-webhook"


def _options(help_text: str) -> list[str]:
    return [line.split()[0] for line in help_text.splitlines()
            if line.strip().startswith("-")]


def test_it_has_the_options_of_fraisier_serve():
    own = subprocess.run([str(PROGRAM), "--help"], capture_output=True, text=True, timeout=60)
    serve = subprocess.run([sys.executable, "-m", "fraisier.cli.main", "serve", "--help"],
                           capture_output=True, text=True, timeout=60)
    assert own.returncode == 0 and serve.returncode == 0, own.stderr + serve.stderr
    assert _options(own.stdout) == ["-c,", *_options(serve.stdout)]


def test_it_receives_webhooks(tmp_path):
    config = write_config(tmp_path)
    server = Server(config, "--no-worker", log=tmp_path / "webhook.log",
                    program=[str(PROGRAM)])
    try:
        headers, body = signed("github", "push_with-new-branch.payload.json")
        response = httpx.post(f"{server.url}/webhook?provider=github", content=body,
                              headers=headers)
        assert response.status_code in (200, 202), response.text
        store = open_store(f"sqlite:///{tmp_path}/state.db")
        try:
            recorded = store.webhooks.list(limit=10)
        finally:
            store.close()
        assert [e["provider"] for e in recorded] == ["github"]
        assert "Traceback" not in server.output()
    finally:
        assert server.stop() in (0, -signal.SIGTERM), server.output()
