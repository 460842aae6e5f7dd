"""Regenerate the screenshots of docs/dashboard.md (`make screenshots`).

Builds a throwaway workspace — the demo app deployed for real (two good releases, one whose
health check fails and is rolled back), a backup fraise with a real SQLite backup, webhook
requests (one refused for its signature), a month of earlier finished deployments and the
host rows of a three-host fleet (seeded: this machine has no fleet to deploy to) — serves it
with `fraisier serve`, and photographs each view in headless Chromium (Debian's
/usr/bin/chromium; never a downloaded browser).

Usage: python scripts/screenshots.py [OUT_DIR]     (default docs/images)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx

from fraisier.config import load_config
from fraisier.demo.workspace import free_port, make_workspace
from fraisier.domain.model import utc_now, utc_timestamp
from fraisier.engine.service import open_state
from fraisier.store.tokens import Tokens

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
SECRET = "screenshot-secret"



def cli(config: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "fraisier", "-c", str(config), *args],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"fraisier {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def write_config(workspace, root: Path) -> None:
    data_db = root / "app-data" / "app.db"
    data_db.parent.mkdir(parents=True)
    with sqlite3.connect(data_db) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)")
        conn.executemany("INSERT INTO orders (total) VALUES (?)", [(i * 1.5,) for i in range(50)])
    ssh = root / "ssh"
    ssh.mkdir()
    (ssh / "known_hosts").write_text("")
    (ssh / "deploy_key").write_text("")
    text = workspace.config_path.read_text()
    text = text.replace("state:\n", "git:\n  github:\n    webhook_secret: " + SECRET
                        + "\nstate:\n", 1)
    text = text.replace("    repository: " + str(workspace.repo),
                        "    repository: " + str(workspace.repo), 1)
    text += f"""\
  nightly:
    type: backup
    description: Backups of the shop's SQLite database
    repository: {workspace.repo}
    backups:
      app-sqlite:
        kind: sqlite
        path: {data_db}
        schedule: "0 * * * *"
        verify: list
        keep_last: 48
    environments:
      production:
        branch: main
        app_path: {root / 'srv' / 'nightly'}
        backup_dir: {root / 'backups'}
  web:
    description: The public site, on three hosts
    repository: git@github.com:acme/web.git
    environments:
      production:
        branch: main
        app_path: /srv/web
        restart: [systemctl, restart, web]
        health_check: {{url: "http://127.0.0.1:8000/health"}}
        ssh:
          identity_file: {ssh / 'deploy_key'}
          known_hosts: {ssh / 'known_hosts'}
        strategy: rolling
        waves: [[eu], [us]]
        hosts:
          - {{name: web1, address: 10.0.1.11, user: deploy, region: eu}}
          - {{name: web2, address: 10.0.1.12, user: deploy, region: eu}}
          - {{name: web3, address: 10.0.2.11, user: deploy, region: us}}
"""
    workspace.config_path.write_text(text)


def seed_history(store) -> None:
    """A month of earlier finished deployments of hello and web, for history and statistics."""
    rng = random.Random(3)
    now = utc_now()
    rows = []
    for day in range(30, 0, -1):
        for _ in range(rng.randint(2, 6)):
            queued = now - timedelta(days=day, minutes=rng.randint(0, 600))
            status = rng.choice(["succeeded"] * 9 + ["failed", "rolled_back"])
            duration = rng.uniform(20, 90) if status == "succeeded" else rng.uniform(5, 40)
            sha = f"{rng.getrandbits(160):040x}"
            fraise = rng.choice(["web", "web", "hello"])
            rows.append((fraise, "production", status, rng.choice(["webhook", "webhook", "cli"]),
                         sha, sha, "main", utc_timestamp(queued), utc_timestamp(queued),
                         utc_timestamp(queued + timedelta(seconds=duration)), duration,
                         None if status == "succeeded" else "health check failed: HTTP 500"))
    with store.db.transaction():
        for row in sorted(rows, key=lambda r: r[7]):
            store.db.execute(
                "INSERT INTO tb_deployment (fraise, environment, status, trigger,"
                " requested_commit, commit_sha, branch, queued_at, started_at, completed_at,"
                " duration_seconds, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)


def seed_fleet(store) -> None:
    """Host rows of the `web` fleet: web3 still runs the previous release."""
    now = utc_now()
    releases = [("web1", "20261120T101500Z-4f2a9c1", "active"),
                ("web2", "20261120T101500Z-4f2a9c1", "active"),
                ("web3", "20261118T083000Z-9b1d7e0", "active"),
                ("", "20261120T101500Z-4f2a9c1", "active")]
    with store.db.transaction():
        for host, release, status in releases:
            store.db.execute(
                "INSERT INTO tb_release (fraise, environment, host, release_id, commit_sha,"
                " path, status, created_at, activated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ("web", "production", host, release, release[-7:] + "e" * 33,
                 f"/srv/web/releases/{release}", status, utc_timestamp(now - timedelta(days=9)),
                 utc_timestamp(now - timedelta(days=9))))


def gql(url: str, token: str, query: str, variables: dict | None = None) -> dict:
    body = httpx.post(url, json={"query": query, "variables": variables or {}}, timeout=60,
                      headers={"Authorization": f"Bearer {token}"}).json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]


def deploy(url: str, token: str, store) -> int:
    data = gql(url, token, 'mutation { deploy(fraiseId: "hello", environment: "production",'
               ' force: true) { id } }')
    deployment_id = data["deploy"]["id"]
    deadline = time.monotonic() + 120
    while store.queue.get(deployment_id, with_steps=False).status in ("queued", "running"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"deployment {deployment_id} did not end")
        time.sleep(0.1)
    return deployment_id


def send_webhooks(base: str, repo: str) -> None:
    body = json.dumps({"ref": "refs/heads/feature/login", "after": "a" * 40,
                       "repository": {"full_name": "acme/hello", "clone_url": repo},
                       "head_commit": {"id": "a" * 40, "message": "Try login"},
                       "pusher": {"name": "dana"}, "sender": {"login": "dana"}}).encode()
    good = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    for delivery, signature in (("d-1", good), ("d-2", "0" * 64)):
        httpx.post(f"{base}webhook", content=body, headers={
            "Content-Type": "application/json", "X-GitHub-Event": "push",
            "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": f"sha256={signature}"})


def main(out: Path) -> None:

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fraisier-shots-") as tmp:
        root = Path(tmp)
        workspace = make_workspace(root)
        write_config(workspace, root)
        config = load_config(workspace.config_path)
        store = open_state(config)
        seed_history(store)
        seed_fleet(store)
        token = Tokens(store.db).create("ops", "admin")
        Tokens(store.db).create("ci", "deploy")
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "fraisier", "-c", str(workspace.config_path), "serve",
             "--port", str(port)], start_new_session=True, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"{base}healthz")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            url = f"{base}graphql"
            deploy(url, token, store)
            workspace.commit("Greet in French", {"VERSION": "v2\n"})
            deploy(url, token, store)
            workspace.commit("Make the health check stricter", {"BROKEN": "1\n"})
            failed = deploy(url, token, store)
            workspace.commit("Fix the health check", {"BROKEN": None, "VERSION": "v3\n"})
            cli(workspace.config_path, "backup", "run", "nightly", "production")
            send_webhooks(base, str(workspace.repo))
            shoot(base, token, out, failed)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(60)
            workspace.stop_app()
            store.close()


def shoot(base: str, token: str, out: Path, failed: int) -> None:
    from playwright.sync_api import sync_playwright

    views = [
        ("overview", "#/", "section.fraise"),
        ("deployments", "#/deployments", "table tbody td a"),
        ("deployment", f"#/deployment/{failed}", ".log .line"),
        ("releases", "#/releases?fraise=hello&env=production", "tbody tr button"),
        ("deploy", "#/deploy", "form.deploy"),
        ("webhooks", "#/webhooks", ".hint"),
        ("jobs", "#/jobs?fraise=nightly&env=production", ".copy"),
        ("statistics", "#/stats", ".chart rect"),
        ("hosts", "#/hosts", "section.fraise"),
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=CHROMIUM_ARGS)
        for scheme in ("light", "dark"):
            context = browser.new_context(viewport={"width": 1280, "height": 800},
                                          color_scheme=scheme)
            page = context.new_page()
            page.goto(base)
            page.get_by_label("API token").fill(token)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_selector("section.fraise")
            chosen = views if scheme == "light" else views[:1]
            for name, route, ready in chosen:
                page.goto(base + route)
                page.wait_for_selector(ready)
                page.wait_for_selector("#connection.c-live")
                suffix = "" if scheme == "light" else "-dark"
                page.screenshot(path=str(out / f"dashboard-{name}{suffix}.png"))
            if scheme == "light":
                page.goto(base + "#/releases?fraise=hello&env=production")
                page.get_by_role("button", name="Roll back to this").first.click()
                page.wait_for_selector("dialog[open]")
                page.screenshot(path=str(out / "dashboard-rollback-confirm.png"))
                page.keyboard.press("Escape")
                page.set_viewport_size({"width": 375, "height": 800})
                page.goto(base + "#/")
                page.wait_for_selector("section.fraise")
                page.wait_for_selector("#connection.c-live")
                page.screenshot(path=str(out / "dashboard-overview-375.png"))
                page.goto(base + "graphql")
                page.set_viewport_size({"width": 1280, "height": 800})
                page.get_by_role("button", name="Run").click()
                page.wait_for_selector("#result:has-text('data')")
                page.screenshot(path=str(out / "dashboard-query.png"))
            context.close()
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images")
