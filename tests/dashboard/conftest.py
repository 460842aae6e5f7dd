"""A real `fraisier serve` (with its worker) on a sample workspace, and headless Chromium
(Debian's /usr/bin/chromium through Playwright; never a downloaded browser)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from fraisier.config import load_config
from fraisier.demo.workspace import Workspace, free_port
from fraisier.engine.service import open_state
from fraisier.store.tokens import Tokens
from tests.api.conftest import sqlite_api, start_server, stop, wait_until_up  # noqa: F401
from tests.engine.sample import HOOKS_PY, make_sample
from tests.support.services import require
from tests.support.waiting import wait_for

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]

# The sample's build step, held until the test creates <app_path>/build.go (when GATED is
# committed): a deployment that is certainly running while the test does something.
GATED_HOOKS_PY = HOOKS_PY.replace(
    'elif action == "build":\n',
    'elif action == "build":\n'
    '    if (here / "GATED").exists():\n'
    '        print("build waits for build.go", flush=True)\n'
    '        while not (app / "build.go").exists():\n'
    '            time.sleep(0.02)\n')
GITHUB_SECRET = "dashboard-test-secret"



@dataclass
class Dashboard:
    """A running `fraisier serve` and what a test needs to drive it."""
    workspace: Workspace
    port: int
    config: Any
    store: Any
    tokens: dict[str, str]
    worker: bool
    process: subprocess.Popen | None = None
    extra: list[subprocess.Popen] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> None:
        self.process = start_server(self.workspace.config_path, self.port, worker=self.worker)
        wait_until_up(self.process, f"{self.url}graphql")

    def kill(self) -> None:
        """SIGKILL the server's whole process group: no chance to say goodbye."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def status(self, deployment_id: int) -> str:
        return self.store.queue.get(deployment_id, with_steps=False).status

    def deploy_and_wait(self) -> int:
        """Queue a deployment as the CLI would; the server's worker runs it. Its id, once
        it has ended."""
        from fraisier.domain.model import FINAL_STATUSES, Trigger
        from fraisier.engine.service import request_deployment

        record = request_deployment(self.store, self.config, "hello", "production",
                                    trigger=Trigger.CLI)
        wait_for(lambda: self.status(record.id) in FINAL_STATUSES, timeout=120,
                 what=f"deployment {record.id} to end")
        return record.id

    def app_says(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.workspace.port}/", timeout=5).text.strip()


def _with_github_secret(config_path: Path) -> None:
    text = config_path.read_text()
    config_path.write_text(text + f"git:\n  github:\n    webhook_secret: {GITHUB_SECRET}\n")


@pytest.fixture
def make_dashboard(tmp_path) -> Iterator[Callable[..., Dashboard]]:
    made: list[Dashboard] = []

    def make(*, worker: bool = True, anonymous_read: bool = False,
             health_watch: float | None = None) -> Dashboard:
        workspace = make_sample(tmp_path / f"d{len(made)}")
        workspace.commit("Gate the build", {"hooks.py": GATED_HOOKS_PY})
        _with_github_secret(workspace.config_path)
        if health_watch is not None:  # seconds between the worker's checks of the live app
            text = workspace.config_path.read_text()
            workspace.config_path.write_text(text.replace(
                "          timeout: 2\n", f"          timeout: 2\n          watch_interval: {health_watch}\n"))
        if anonymous_read:
            workspace.config_path.write_text(workspace.config_path.read_text()
                                             + "api:\n  anonymous_read: true\n")
        config = load_config(workspace.config_path)
        store = open_state(config)
        tokens = Tokens(store.db)
        dashboard = Dashboard(workspace=workspace, port=free_port(), config=config, store=store,
                              tokens={scope: tokens.create(f"ui-{scope}", scope)
                                      for scope in ("read", "deploy", "admin")},
                              worker=worker)
        made.append(dashboard)
        dashboard.start()
        return dashboard

    yield make
    for dashboard in made:
        for process in [dashboard.process, *dashboard.extra]:
            if process is not None:
                stop(process)
        dashboard.workspace.stop_app()
        dashboard.store.close()


def start_worker(dashboard: Dashboard) -> subprocess.Popen:
    """`fraisier worker` in its own process, so deployments go on while the server is down."""
    process = subprocess.Popen(
        [sys.executable, "-c", "from fraisier.cli.main import main; main()", "-c",
         str(dashboard.workspace.config_path), "worker"], start_new_session=True)
    dashboard.extra.append(process)
    return process


@pytest.fixture(scope="module")
def chromium():
    require(os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} (Debian package chromium) not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    """A fresh browser context (its own sessionStorage); page errors fail the test."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: problems.append(f"console: {message.text}")
            if message.type == "error" and "Content Security Policy" in message.text else None)
    page.set_default_timeout(30_000)
    from playwright.sync_api import expect

    # Deployments of the sample take a second or two, more on a loaded machine.
    expect.set_options(timeout=30_000)
    yield page
    context.close()
    assert not problems, problems


def sign_in(page, dashboard: Dashboard, scope: str) -> None:
    page.goto(dashboard.url)
    page.get_by_label("API token").fill(dashboard.tokens[scope])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Overview").wait_for()
