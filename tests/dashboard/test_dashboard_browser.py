"""The dashboard in real Chromium against a real `fraisier serve` and real deployments of the
sample app: sign-in, live deploys, a failed health check, rollback from the releases view,
what a read token is offered (and refused), webhook refusals with their reason, and a server
killed and restarted under a running deployment."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path

import httpx
from playwright.sync_api import expect

from tests.dashboard.conftest import GITHUB_SECRET, sign_in, start_worker
from tests.support.waiting import wait_for

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _deploy_from_page(page, dashboard) -> int:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Deploy", exact=True).click()
    page.get_by_role("button", name="Deploy").click()
    page.wait_for_url(re.compile(r"#/deployment/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def test_sign_in_deploy_live_and_a_failed_health_check_rolls_back(make_dashboard, page):
    dashboard = make_dashboard()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    # A wrong token is refused with a message; the right one opens the overview.
    page.goto(dashboard.url)
    page.get_by_label("API token").fill("frs_not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    sign_in(page, dashboard, "deploy")
    expect(page.get_by_role("region", name="hello", exact=True)).to_contain_text("production")
    expect(page.get_by_role("region", name="hello", exact=True)).to_contain_text("never deployed")

    # Deploy from the page while the build is held: the page shows the deployment running,
    # its steps and log lines arriving live, then its success.
    dashboard.workspace.commit("Hold the build", {"GATED": "1\n"})
    deployment_id = _deploy_from_page(page, dashboard)
    log = page.get_by_role("log", name="Deployment log")
    expect(log).to_contain_text("build waits for build.go")
    expect(page.locator(".step", has_text="install")).to_contain_text("succeeded")
    expect(page.get_by_role("heading", name=f"Deployment #{deployment_id}")).to_contain_text("running")
    assert dashboard.status(deployment_id) == "running"
    (dashboard.workspace.app_path / "build.go").write_text("go")
    expect(page.get_by_role("heading", name=f"Deployment #{deployment_id}")).to_contain_text(
        "succeeded")
    expect(log).to_contain_text("▶ health_check")
    expect(log).to_contain_text("● succeeded")
    expect(page.locator(".step", has_text="health_check")).to_contain_text("succeeded")
    assert dashboard.status(deployment_id) == "succeeded"

    # A release whose health check fails: rolled back, with the error, on the page.
    dashboard.workspace.commit("Break health", {"BROKEN": "1\n"})
    failing_id = _deploy_from_page(page, dashboard)
    heading = page.get_by_role("heading", name=f"Deployment #{failing_id}")
    expect(heading).to_contain_text("rolled back", timeout=60_000)
    expect(page.get_by_role("alert")).to_contain_text("health")
    expect(page.locator(".step", has_text="health_check")).to_contain_text("failed")
    expect(page.locator(".undo").first).to_contain_text("compensated")
    assert dashboard.status(failing_id) == "rolled_back"

    # The overview says so, in "needs attention".
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Overview").click()
    attention = page.get_by_role("region", name="Needs attention")
    expect(attention).to_contain_text("rolled back")
    expect(attention).to_contain_text(f"hello/production #{failing_id}")

    # At 375 px wide the page still fits: nothing wider than the screen but the tables,
    # which scroll inside their own box.
    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    page.get_by_role("heading", name="Overview").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    # Nothing was fetched from anywhere but this server.
    origins = {re.match(r"^[a-z]+://[^/]+", url).group(0) for url in requested
               if not url.startswith("data:")}
    assert origins <= {f"http://127.0.0.1:{dashboard.port}", f"ws://127.0.0.1:{dashboard.port}"}


def test_a_live_release_that_stops_answering_needs_attention(make_dashboard, page):
    dashboard = make_dashboard(health_watch=0.5)
    sign_in(page, dashboard, "read")
    deployed = dashboard.deploy_and_wait()
    assert dashboard.status(deployed) == "succeeded"
    attention = page.get_by_role("region", name="Needs attention")
    expect(attention).to_contain_text("every live release answers")
    dashboard.workspace.stop_app()  # the app dies after its deployment went fine
    # The worker's health watch sees it; the page is told live (no reload).
    expect(attention).to_contain_text("health failing", timeout=30_000)
    expect(attention).to_contain_text("hello/production")
    expect(attention).to_contain_text(f"127.0.0.1:{dashboard.workspace.port}/health")
    health = dashboard.store.health.of([("hello", "production")])[("hello", "production")]
    assert not health.ok


def test_roll_back_from_the_releases_view_serves_the_previous_version(make_dashboard, page):
    dashboard = make_dashboard()
    sign_in(page, dashboard, "deploy")
    first = _deploy_from_page(page, dashboard)
    heading = page.get_by_role("heading", name=f"Deployment #{first}")
    expect(heading).to_contain_text("succeeded")
    assert dashboard.app_says() == "v1"
    dashboard.workspace.commit("Version 2", {"VERSION": "v2\n"})
    second = _deploy_from_page(page, dashboard)
    expect(page.get_by_role("heading", name=f"Deployment #{second}")).to_contain_text("succeeded")
    assert dashboard.app_says() == "v2"

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Releases").click()
    rows = page.get_by_role("region", name="Releases of hello/production").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("current")
    expect(rows.nth(0)).to_contain_text("by ui-deploy (token)")  # who asked, from the audit log
    rows.nth(1).get_by_role("button", name="Roll back to this").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("restarts the app and checks its health")
    dialog.get_by_role("button", name=re.compile("^Roll back to ")).click()
    page.wait_for_url(re.compile(r"#/deployment/\d+$"))
    rollback = int(page.url.rsplit("/", 1)[1])
    expect(page.get_by_role("heading", name=f"Deployment #{rollback}")).to_contain_text(
        "succeeded")
    expect(page.locator("dl.facts")).to_contain_text("rollback")
    assert dashboard.app_says() == "v1"


def test_a_read_token_is_offered_no_action_and_a_forced_mutation_is_refused(make_dashboard,
                                                                            page):
    dashboard = make_dashboard()
    # Two releases, so the releases view would offer a rollback to a deploy token.
    for version in ("v2", "v3"):
        dashboard.workspace.commit(version, {"VERSION": f"{version}\n"})
        done = httpx.post(f"{dashboard.url}graphql", headers={
            "Authorization": f"Bearer {dashboard.tokens['deploy']}"}, json={
            "query": 'mutation { deploy(fraiseId: "hello", environment: "production") { id } }'})
        deployment_id = done.json()["data"]["deploy"]["id"]
        wait_for(lambda i=deployment_id: dashboard.status(i) == "succeeded", what="deploy")

    sign_in(page, dashboard, "read")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Overview")).to_be_visible()
    expect(nav.get_by_role("link", name="Deploy", exact=True)).to_have_count(0)
    expect(nav.get_by_role("link", name="Tokens")).to_have_count(0)
    expect(page.get_by_role("region", name="hello", exact=True)).to_contain_text("Releases")
    expect(page.get_by_role("region", name="hello", exact=True).get_by_role("link", name="Deploy", exact=True)).to_have_count(0)

    page.goto(f"{dashboard.url}#/deployment/{deployment_id}")
    expect(page.get_by_role("heading", name=f"Deployment #{deployment_id}")).to_contain_text(
        "succeeded")
    expect(page.get_by_role("group", name="Actions").get_by_role("button")).to_have_count(0)
    expect(page.get_by_role("group", name="Actions").get_by_role("link")).to_have_count(0)
    page.goto(f"{dashboard.url}#/releases?fraise=hello&env=production")
    rows = page.get_by_role("region", name="Releases of hello/production").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("previous")
    expect(page.get_by_role("button", name="Roll back to this")).to_have_count(0)
    page.goto(f"{dashboard.url}#/deploy")
    expect(page.get_by_role("alert")).to_contain_text("deploy scope")

    # Sent anyway from the page, with the page's token: refused, nothing queued.
    answer = page.evaluate("""async () => {
        const r = await fetch("/graphql", {method: "POST", headers: {
            "Content-Type": "application/json",
            "Authorization": "Bearer " + sessionStorage.getItem("fraisier.token")},
            body: JSON.stringify({query: 'mutation { rollback(fraiseId: "hello", environment: "production") { id } }'})});
        return await r.json(); }""")
    assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert dashboard.store.db.scalar("SELECT COUNT(*) FROM tb_deployment") == 2

    # Revoked while the page is open: the next request returns to sign-in, with a message.
    from fraisier.store.tokens import Tokens

    Tokens(dashboard.store.db).revoke("ui-read")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Deployments").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("expired or was revoked")


class _HeldSubscriptions:
    """Holds the page's GraphQL `subscribe` messages on their way to the server until
    `release()`: what the page misses while its subscriptions are not yet running (a change
    committed between drawing a view and subscribing) happens every time, not by chance."""

    def __init__(self, page) -> None:
        self.page = page
        self.held: list[str] = []
        self.server = None
        self.holding = True
        page.route_web_socket(re.compile(r"/graphql$"), self._route)

    def wait_for_subscribe(self) -> None:
        # Each poll asks the page something, so Playwright runs the route's handler meanwhile.
        wait_for(lambda: self.page.evaluate("1") and self.held, 30, "the page to subscribe")

    def _route(self, ws) -> None:
        self.server = ws.connect_to_server()
        ws.on_message(self._from_page)

    def _from_page(self, message) -> None:
        if self.holding and json.loads(message).get("type") == "subscribe":
            self.held.append(message)
        else:
            self.server.send(message)

    def release(self) -> None:
        self.holding = False
        for message in self.held:
            self.server.send(message)
        self.held.clear()


def _open_holding_subscriptions(page, dashboard, view: str) -> _HeldSubscriptions:
    """Sign in and open `view` from the main navigation, its subscription held back."""
    subscriptions = _HeldSubscriptions(page)
    sign_in(page, dashboard, "read")
    page.get_by_role("navigation", name="Main").get_by_role("link", name=view).click()
    return subscriptions


def test_a_webhook_with_a_bad_signature_appears_with_its_reason(make_dashboard, page):
    dashboard = make_dashboard()
    subscriptions = _open_holding_subscriptions(page, dashboard, "Webhooks")
    table = page.get_by_role("region", name="Webhook deliveries, newest first")
    expect(table).to_contain_text("No webhook request received yet")
    subscriptions.wait_for_subscribe()

    body = (FIXTURES / "github" / "push_payload.json").read_bytes()
    wrong = hmac.new(b"not-" + GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest()
    answer = httpx.post(f"{dashboard.url}webhook", content=body, headers={
        "Content-Type": "application/json", "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "dashboard-1", "X-Hub-Signature-256": f"sha256={wrong}"})
    assert answer.status_code == 401
    # The page subscribes only now, after the request was recorded: from the cursor it read
    # before drawing, so the request still reaches it.
    subscriptions.release()
    # It arrives live (no reload), with its reason and what to fix.
    row = table.locator("tbody tr").first
    expect(row).to_contain_text("rejected")
    expect(row).to_contain_text("signature does not match")
    expect(row).to_contain_text("check git.github.webhook_secret")
    expect(row).to_contain_text("github")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Overview").click()
    expect(page.get_by_role("region", name="Needs attention")).to_contain_text(
        "refused in the last hour")


def test_a_deployment_queued_while_the_history_draws_appears_on_it(make_dashboard, page):
    from fraisier.domain.model import Trigger
    from fraisier.engine.service import request_deployment

    dashboard = make_dashboard(worker=False)  # it stays queued
    subscriptions = _open_holding_subscriptions(page, dashboard, "Deployments")
    history = page.get_by_role("table", name="Deployment history")
    expect(history).to_contain_text("No deployment matches these filters")
    subscriptions.wait_for_subscribe()
    record = request_deployment(dashboard.store, dashboard.config, "hello", "production",
                                trigger=Trigger.CLI)
    subscriptions.release()
    expect(history).to_contain_text(f"#{record.id}")
    expect(history).to_contain_text("queued")


def test_the_page_reconnects_after_a_server_restart_and_shows_the_outcome(make_dashboard, page):
    dashboard = make_dashboard(worker=False)
    start_worker(dashboard)  # deployments go on while the server is down
    dashboard.workspace.commit("Hold the build", {"GATED": "1\n"})
    sign_in(page, dashboard, "deploy")
    deployment_id = _deploy_from_page(page, dashboard)
    heading = page.get_by_role("heading", name=f"Deployment #{deployment_id}")
    log = page.get_by_role("log", name="Deployment log")
    expect(log).to_contain_text("build waits for build.go", timeout=60_000)
    # The heading follows the status on its own request after the event: wait for it too.
    expect(heading).to_contain_text("running")
    expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()

    dashboard.kill()
    expect(page.get_by_text("Connection lost — reconnecting…")).to_be_visible()
    (dashboard.workspace.app_path / "build.go").write_text("go")
    wait_for(lambda: dashboard.status(deployment_id) == "succeeded", what="the deployment's end")
    expect(heading).to_contain_text("running")  # nothing new can reach the page meanwhile

    dashboard.start()
    expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()
    expect(heading).to_contain_text("succeeded")
    # Resumed from the last event seen: the steps run while the server was down arrive once.
    expect(log).to_contain_text("● succeeded")
    assert log.inner_text().count("▶ health_check") == 1
    assert log.inner_text().count("build waits for build.go") == 1
