"""End to end on a real PostgreSQL: a role set up with `fraisier graphql grant-role` requests,
cancels and retries deployments with psql alone, and a running `fraisier worker` process
deploys them (woken by the functions' NOTIFY); refusals raise the documented SQLSTATE and
record nothing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from fraisier.config import load_config
from fraisier.engine.service import open_state
from tests.cli._cli_support import run_fraisier
from tests.engine.sample import make_sample
from tests.support.postgres import find_postgres_bin_dir
from tests.support.services import require
from tests.support.waiting import wait_for


def _psql() -> str:
    bin_dir = find_postgres_bin_dir()
    found = shutil.which("psql") or (str(bin_dir / "psql") if bin_dir else None)
    require(found is not None and Path(found).exists(), "psql is not installed")
    assert found is not None
    return found


class Client:
    """psql as the restricted role, one statement per call."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.psql = _psql()

    def run(self, statement: str) -> subprocess.CompletedProcess[str]:
        # VERBOSITY=verbose: errors show their SQLSTATE.
        return subprocess.run([self.psql, self.url, "-v", "ON_ERROR_STOP=1", "-v",
                               "VERBOSITY=verbose", "-XAtc", statement],
                              capture_output=True, text=True, timeout=60)

    def call(self, statement: str) -> dict:
        done = self.run(statement)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def refused(self, statement: str) -> str:
        done = self.run(statement)
        assert done.returncode != 0, done.stdout
        return done.stderr


@pytest.fixture
def setup(tmp_path, postgres_url):
    workspace = make_sample(tmp_path)
    text = workspace.config_path.read_text().replace("\n  hello:\n", "\n  web:\n")
    start = text.index("state:\n  url: ")
    end = text.index("\n", start + len("state:\n  url: "))
    workspace.config_path.write_text(text[:start] + f"state:\n  url: {postgres_url}" + text[end:])
    config = load_config(workspace.config_path)
    store = open_state(config)
    role = f"fraiseql_{uuid.uuid4().hex[:8]}"
    store.db.execute(f"CREATE ROLE {role} LOGIN")
    granted = run_fraisier(workspace.config_path, "graphql", "grant-role", role)
    assert granted.exit_code == 0, granted.stderr
    assert "EXECUTE fn_request_deployment" in granted.stdout
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(
        [sys.executable, "-m", "fraisier.cli.main", "-c", str(workspace.config_path),
         "worker"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        yield workspace, store, Client(postgres_url.replace("://postgres@", f"://{role}@"))
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
        log.close()
        workspace.stop_app()
        store.db.execute(f"DROP OWNED BY {role}")
        store.db.execute(f"DROP ROLE {role}")
        store.close()


def _serving(port: int) -> str:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/", timeout=2).text.strip()
    except httpx.HTTPError as exc:
        return f"nothing: {exc}"


def _status(store, deployment_id: int) -> str:
    return store.queue.get(deployment_id, with_steps=False).status


def test_request_cancel_retry_from_psql(setup):
    workspace, store, client = setup
    port = workspace.port

    first = client.call("select * from fn_request_deployment('web', 'production', null, false)")
    assert first["status"] == "queued" and first["trigger"] == "api"
    wait_for(lambda: _status(store, first["id"]) == "succeeded", what="the first deployment")
    assert _serving(port) == "v1"

    workspace.commit("v2", {"VERSION": "v2\n"})
    second = client.call("select * from fn_request_deployment('web', 'production', null, false)")
    wait_for(lambda: _status(store, second["id"]) == "succeeded", what="the second deployment")
    assert _serving(port) == "v2"  # the app serves the new release

    # Cancel: a slow build keeps one running while another waits.
    workspace.commit("slow", {"SLOW_BUILD": "1", "VERSION": "v3\n"})
    running = client.call("select * from fn_request_deployment('web', 'production', null, true)")
    wait_for(lambda: (workspace.app_path / "build.pid").exists(), what="the slow build")
    waiting = client.call("select * from fn_request_deployment('web', 'production', null, true)")
    assert waiting["status"] == "queued"
    cancelled = client.call(f"select * from fn_cancel_deployment({waiting['id']})")
    assert cancelled["status"] == "cancelled"
    stopping = client.call(f"select * from fn_cancel_deployment({running['id']})")
    assert stopping["status"] == "running"
    wait_for(lambda: _status(store, running["id"]) == "cancelled", what="the cancelled build")
    assert _serving(port) == "v2"

    # Retry the cancelled one, once the slow build is gone from the branch.
    workspace.commit("v4", {"SLOW_BUILD": None, "VERSION": "v4\n"})
    retried = client.call(f"select * from fn_retry_deployment({waiting['id']})")
    assert retried["trigger"] == "retry" and retried["retry_of"] == waiting["id"]
    wait_for(lambda: _status(store, retried["id"]) == "succeeded", what="the retry")
    assert _serving(port) == "v4"

    # Refusals: the documented SQLSTATE and a message naming what is at fault; nothing
    # recorded.
    count = store.db.scalar("SELECT count(*) FROM tb_deployment")
    error = client.refused("select * from fn_request_deployment('nope', 'production', null, false)")
    assert "FRA04" in error and "unknown fraise 'nope'" in error
    error = client.refused("select * from fn_request_deployment('web', 'qa', null, false)")
    assert "FRA04" in error and "'qa'" in error
    error = client.refused(f"select * from fn_cancel_deployment({second['id']})")
    assert "FRA09" in error and f"deployment {second['id']} is already succeeded" in error
    error = client.refused(f"select * from fn_retry_deployment({second['id']})")
    assert "FRA09" in error and f"deployment {second['id']} succeeded" in error
    error = client.refused("select * from fn_retry_deployment(424242)")
    assert "FRA04" in error and "no deployment 424242" in error
    error = client.refused("insert into tb_deployment (fraise) values ('web')")
    assert "permission denied" in error
    assert store.db.scalar("SELECT count(*) FROM tb_deployment") == count
