"""Every example in docs/api.md runs, in order, against a live server."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

from fraisier.cli.remote import LEGACY_WS, TRANSPORT_WS, RemoteApi
from fraisier.domain.model import Trigger
from fraisier.engine.service import request_deployment
from fraisier.worker.inline import deploy_now
from tests.support.services import require_binary

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
BLOCK = re.compile(r"^```(graphql|python|sh)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _run(client: RemoteApi, transport: str, text: str) -> dict:
    """One query or mutation over HTTP or a WebSocket protocol; its data (raises on an
    error)."""
    if transport == "http":
        return client.execute(text)
    (data,) = client.subscribe(text, protocol=transport)  # one result, then complete
    return data


def test_every_example_in_the_api_docs_runs(sqlite_api):
    store, config = sqlite_api.store, sqlite_api.config
    for _ in range(2):
        deploy_now(store, config, request_deployment(
            store, config, "hello", "production", trigger=Trigger.CLI, force=True).id)
    store.webhooks.record(provider="github", event_type="push", outcome="ignored",
                          reason="no mapping", branch="feature", commit_sha="b" * 40)
    store.health.record("hello", "production", True, "GET http://127.0.0.1/health: HTTP 200")
    client = RemoteApi(sqlite_api.url, sqlite_api.tokens["admin"])
    env = dict(os.environ, FRAISIER_SERVER=sqlite_api.url.removesuffix("/graphql"),
               FRAISIER_TOKEN=sqlite_api.tokens["admin"])
    blocks = BLOCK.findall(DOC.read_text())
    assert len(blocks) >= 18
    # Each mutation runs once (they change state), over HTTP and the two WebSocket protocols
    # in turn; queries and subscriptions run over every transport they are served on.
    mutation_transports = itertools.cycle(["http", TRANSPORT_WS, LEGACY_WS])
    for language, text in blocks:
        kind = text.lstrip().split(None, 1)[0] if language == "graphql" else None
        if kind == "subscription":
            for protocol in (TRANSPORT_WS, LEGACY_WS):
                first = next(iter(client.subscribe(text, protocol=protocol)))  # raises on an error
                assert first, (protocol, text)
        elif kind == "mutation":
            assert _run(client, next(mutation_transports), text), text
        elif language == "graphql":
            answers = [_run(client, transport, text)
                       for transport in ("http", TRANSPORT_WS, LEGACY_WS)]
            assert answers[0], text
            assert answers[1] == answers[2] == answers[0], text
        elif language == "python":
            done = subprocess.run([sys.executable, "-c", text], env=env, capture_output=True,
                                  text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            assert "deployment SUCCEEDED" in done.stdout
        else:
            require_binary("curl")
            done = subprocess.run(["bash", "-c", text], env=env, capture_output=True,
                                  text=True, timeout=60)
            assert done.returncode == 0 and '"currentRelease"' in done.stdout, done.stdout
