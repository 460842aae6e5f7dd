"""A live API server for the tests: a real uvicorn process on a free loopback port, against a
sample workspace whose state lives in SQLite or in a throwaway PostgreSQL database.

`start_server` is the one place that knows how the server is started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from fraisier.config import load_config
from fraisier.demo.workspace import free_port
from fraisier.engine.service import open_state
from fraisier.store.tokens import Tokens
from tests.engine.sample import make_sample
from tests.support.waiting import wait_for


def start_server(config_path: Path, port: int, *, worker: bool = False) -> subprocess.Popen:
    """`fraisier serve`, by default without its in-process worker: tests run deployments
    themselves, in another process, when they want them run."""
    return subprocess.Popen(
        [sys.executable, "-c", "from fraisier.cli.main import main; main()", "-c",
         str(config_path), "serve", *([] if worker else ["--no-worker"]), "--host",
         "127.0.0.1", "--port", str(port)],
        start_new_session=True)


def wait_until_up(process: subprocess.Popen, url: str) -> None:
    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"API server exited with {process.returncode}")
        try:
            httpx.post(url, json={"query": "{ __typename }"}, timeout=1)
        except httpx.TransportError:
            return False
        return True

    wait_for(answers, 60, f"the API server to answer at {url}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


class GraphQLFailed(AssertionError):
    def __init__(self, errors):
        super().__init__(errors)
        self.errors = errors

    @property
    def codes(self) -> list[str]:
        return [e.get("extensions", {}).get("code") for e in self.errors]


@dataclass
class LiveApi:
    url: str
    ws_url: str
    config_path: Path
    workspace: object
    config: object
    store: object
    tokens: dict[str, str] = field(default_factory=dict)

    def post(self, query: str, variables: dict | None = None, token: str | None = "read",
             **kwargs) -> httpx.Response:
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {self.tokens.get(token, token)}"
        return httpx.post(self.url, json={"query": query, "variables": variables or {}},
                          headers=headers, timeout=30, **kwargs)

    def gql(self, query: str, variables: dict | None = None, token: str | None = "read"):
        """The `data` of a successful request; GraphQLFailed with the errors otherwise."""
        body = self.post(query, variables, token).json()
        if body.get("errors"):
            raise GraphQLFailed(body["errors"])
        return body["data"]

    def codes(self, query: str, variables: dict | None = None, token: str | None = "read"):
        with pytest.raises(GraphQLFailed) as failed:
            self.gql(query, variables, token)
        return failed.value.codes


def _use_state(config_path: Path, url: str) -> None:
    text = config_path.read_text()
    start = text.index("state:\n  url: ")
    end = text.index("\n", start + len("state:\n  url: "))
    config_path.write_text(text[:start] + f"state:\n  url: {url}" + text[end:])


@contextmanager
def running_api(tmp_path: Path, state_url: str | None = None) -> Iterator[LiveApi]:
    """The sample workspace served by a live API server, with a token of each scope. Its
    state lives at `state_url`, or in the sample's own SQLite file when that is None."""
    workspace = make_sample(tmp_path)
    if state_url is not None:
        _use_state(workspace.config_path, state_url)
    config = load_config(workspace.config_path)
    store = open_state(config)
    tokens = Tokens(store.db)
    port = free_port()
    process = start_server(workspace.config_path, port)
    try:
        url = f"http://127.0.0.1:{port}/graphql"
        wait_until_up(process, url)
        yield LiveApi(url=url, ws_url=f"ws://127.0.0.1:{port}/graphql",
                      config_path=workspace.config_path, workspace=workspace, config=config,
                      store=store,
                      tokens={scope: tokens.create(f"test-{scope}", scope)
                              for scope in ("read", "deploy", "admin")})
    finally:
        stop(process)
        workspace.stop_app()
        store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def live_api(request, tmp_path):
    state_url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    with running_api(tmp_path, state_url) as api:
        yield api


@pytest.fixture
def sqlite_api(tmp_path):
    """Only SQLite, for tests about the API surface rather than the backend."""
    with running_api(tmp_path) as api:
        yield api
