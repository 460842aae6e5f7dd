"""Dashboard timings in headless Chromium (Debian's /usr/bin/chromium through Playwright) on a
database seeded by benchmarks/api_queries/seed.py (`api.anonymous_read: true`, so no sign-in).

    python benchmarks/dashboard/run.py DIR [LOADS] [CHANGES]

- first render of the overview and of the history view: from navigation start to the view's
  data drawn (the page's `fraisier:first-view` performance mark), median of LOADS loads, each in a new browser
  context (empty cache);
- baseline in the same run: the GraphQL queries those views send, over HTTP from Python;
- baseline for the browser itself: the packaged query page (no data) loaded the same way;
- transferred size of the first load (documents, scripts, stylesheet, GraphQL answers):
  the Resource Timing `transferSize` of every request, compressed as sent;
- a status change committed as a worker commits it (claim → running, finish → succeeded,
  through the store in this process) until the overview shows it: p50 and p95 over
  2 × CHANGES changes.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from fraisier.demo.workspace import free_port
from fraisier.store import open_store

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
STATIC = Path(__file__).resolve().parents[2] / "src" / "fraisier" / "dashboard" / "static"

WATCH = """([id, status]) => new Promise((resolve) => {
  const seen = () => {
    for (const a of document.querySelectorAll(`a[href="#/deployment/${id}"]`)) {
      if (a.parentElement.querySelector(`.badge.s-${status}`)) return true;
    }
    return false;
  };
  if (seen()) { resolve(Date.now()); return; }
  const observer = new MutationObserver(() => {
    if (seen()) { observer.disconnect(); resolve(Date.now()); }
  });
  observer.observe(document.body, { childList: true, subtree: true, characterData: true });
  window.__watching = true;
})"""


def _query(name: str) -> str:
    """The GraphQL document a view sends, read from its module."""
    text = (STATIC / f"{name}.js").read_text()
    start = text.index("const QUERY = `") + len("const QUERY = `")
    return text[start:text.index("`", start)]


def serve(folder: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", "from fraisier.cli.main import main; main()", "-c",
         str(folder / "fraises.yaml"), "serve", "--no-worker", "--port", str(port)],
        start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": "{ __typename }"})
            return process
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def first_render(browser, url: str, selector: str) -> tuple[float, int]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector(selector)
    # The page marks when its first view has drawn its data (app.js).
    rendered = page.evaluate(
        "performance.getEntriesByName('fraisier:first-view')[0].startTime")
    transferred = page.evaluate(
        "performance.getEntriesByType('navigation').concat(performance.getEntriesByType("
        "'resource')).reduce((n, e) => n + e.transferSize, 0)")
    context.close()
    return rendered, int(transferred)


def static_page(browser, url: str) -> float:
    """The browser's floor on this machine: the packaged query page at GET /graphql (one
    stylesheet, one small module, no data), navigation start to DOMContentLoaded."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(url, wait_until="domcontentloaded")
    loaded = page.evaluate(
        "performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
    context.close()
    return loaded


def api_baseline(url: str, query: str, variables: dict, loads: int) -> float:
    times = []
    with httpx.Client() as client:
        for _ in range(loads):
            start = time.perf_counter()
            body = client.post(url, json={"query": query, "variables": variables}).json()
            times.append((time.perf_counter() - start) * 1000)
            assert "errors" not in body, body
    return statistics.median(times)


def status_changes(browser, base: str, store, changes: int) -> list[float]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(base)
    page.wait_for_selector("section.fraise")
    page.wait_for_selector("#connection.c-live")
    delays = []
    for n in range(changes):
        queued = store.queue.enqueue("app0", "env0", trigger="api")
        page.wait_for_selector(f'a[href="#/deployment/{queued.id}"]')
        steps = (("running", lambda i=queued.id: store.queue.claim(i, "bench", 60)),
                 ("succeeded", lambda i=queued.id: store.queue.finish(i, "succeeded")))
        for status, commit in steps:
            page.evaluate(f"""() => {{ window.__hit = null; ({WATCH})([{queued.id},
                "{status}"]).then((t) => {{ window.__hit = t; }}); }}""")
            started = time.time() * 1000
            commit()
            # The page's CSP forbids eval (and so wait_for_function): poll the time the page
            # itself recorded when the change appeared; polling adds nothing to it.
            deadline = time.monotonic() + 30
            while (hit := page.evaluate("window.__hit")) is None:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"deployment {queued.id} never showed {status}")
                time.sleep(0.01)
            delays.append(hit - started)
        print(f"  change {n + 1}/{changes}: {delays[-2]:.0f} ms, {delays[-1]:.0f} ms", flush=True)
    context.close()
    return delays


def main(folder: Path, loads: int, changes: int) -> None:
    from playwright.sync_api import sync_playwright

    store = open_store(f"sqlite:///{folder / 'state.db'}")
    rows = store.db.scalar("SELECT COUNT(*) FROM tb_deployment")
    port = free_port()
    process = serve(folder, port)
    base = f"http://127.0.0.1:{port}/"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                 args=CHROMIUM_ARGS)
            overview = [first_render(browser, base, "section.fraise") for _ in range(loads)]
            history = [first_render(browser, f"{base}#/deployments", "table tbody td a")
                       for _ in range(loads)]
            floor = [static_page(browser, f"{base}graphql") for _ in range(loads)]
            api_overview = api_baseline(f"{base}graphql", _query("overview"), {"since": 50}, loads)
            api_history = api_baseline(f"{base}graphql", _query("deployments"),
                                       {"limit": 50}, loads)
            delays = status_changes(browser, base, store, changes)
            browser.close()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
        store.close()

    def med(values):
        return statistics.median(values)

    print(f"\n{rows:,} deployments in the database; {loads} loads per view; "
          f"{len(delays)} status changes")
    print("| what | median (ms) | API query alone, median (ms) |")
    print("|---|---|---|")
    print(f"| overview first render | {med([o[0] for o in overview]):.0f} | {api_overview:.0f} |")
    print(f"| history first render | {med([h[0] for h in history]):.0f} | {api_history:.0f} |")
    print(f"| baseline: the static query page, no data | {med(floor):.0f} | |")
    quantiles = statistics.quantiles(delays, n=20)
    print(f"\nstatus change visible: p50 {med(delays):.0f} ms, p95 {quantiles[18]:.0f} ms")
    print(f"first load transferred: overview {overview[0][1] / 1024:.1f} KiB, "
          f"history {history[0][1] / 1024:.1f} KiB")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(Path(args[0]), int(args[1]) if len(args) > 1 else 10,
         int(args[2]) if len(args) > 2 else 10)
