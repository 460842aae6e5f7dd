"""Two worker processes sharing one real PostgreSQL: 200 deployments over 50 environments."""

import subprocess
import sys
from collections import defaultdict

from fraisier.config import load_config
from fraisier.demo import make_workspace
from fraisier.domain.model import utc_timestamp
from fraisier.engine.service import open_state
from tests.support.waiting import wait_for

ENVIRONMENTS = 50
PER_ENVIRONMENT = 4


def _config(ws, url: str) -> str:
    envs = "\n".join(f"      e{n}: {{branch: main, app_path: {ws.root}/srv/e{n}}}"
                     for n in range(ENVIRONMENTS))
    return (f"state: {{url: \"{url}\"}}\n"
            "worker: {concurrency: 4, lease_seconds: 10, poll_interval: 0.2}\n"
            f"fraises:\n  cheap:\n    repository: {ws.repo}\n    environments:\n{envs}\n")


def _why_not_succeeded(store, rows) -> list[dict]:
    """For a failure message: the first deployments that did not succeed, with their error,
    their status events and the end of their log (the workers' own output is not kept)."""
    return [{"id": r["id"], "environment": r["environment"], "status": r["status"],
             "error": r["error"],
             "events": [e["payload"] for e in store.events.after(0, limit=10_000,
                                                                types=("deployment.status",))
                        if e["deployment_id"] == r["id"]],
             "log": [row["line"] for row in store.db.fetchall(
                 "SELECT line FROM tb_deployment_log WHERE deployment_id = ? ORDER BY id",
                 (r["id"],))][-15:]}
            for r in rows if r["status"] != "succeeded"][:3]


def test_two_workers_run_each_deployment_once_and_one_per_environment(tmp_path, postgres_url):
    ws = make_workspace(tmp_path / "ws")
    ws.config_path.write_text(_config(ws, postgres_url))
    config = load_config(ws.config_path)
    store = open_state(config)
    # Inserted directly: enqueue() would (rightly) coalesce the four per environment.
    with store.db.transaction():
        for _round in range(PER_ENVIRONMENT):
            for n in range(ENVIRONMENTS):
                store.db.execute(
                    "INSERT INTO tb_deployment (fraise, environment, status, trigger, branch,"
                    " force, options, queued_at) VALUES (?, ?, 'queued', 'cli', 'main', 1,"
                    " '{}', ?)", ("cheap", f"e{n}", utc_timestamp()))
    workers = [subprocess.Popen([sys.executable, "-m", "fraisier.cli.main", "-c",
                                 str(ws.config_path), "worker"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
               for _ in range(2)]
    try:
        wait_for(lambda: store.db.scalar(
            "SELECT COUNT(*) FROM tb_deployment WHERE status IN ('queued', 'running')") == 0,
            timeout=120, what="200 deployments")
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(30)
    rows = store.db.fetchall("SELECT id, environment, status, started_at, completed_at,"
                             " error FROM tb_deployment ORDER BY id")
    assert len(rows) == ENVIRONMENTS * PER_ENVIRONMENT
    assert {r["status"] for r in rows} == {"succeeded"}, _why_not_succeeded(store, rows)
    starts = store.db.fetchall(
        "SELECT deployment_id, COUNT(*) AS n FROM tb_event WHERE type = 'deployment.status'"
        " AND payload LIKE '%\"running\"%' GROUP BY deployment_id")
    assert len(starts) == len(rows)
    assert {int(r["n"]) for r in starts} == {1}
    by_env = defaultdict(list)
    for r in rows:
        by_env[r["environment"]].append((r["started_at"], r["completed_at"]))
    for environment, spans in by_env.items():
        spans.sort()
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert start >= end, f"{environment}: overlapping deployments"
    running = store.events.after(0, limit=10_000, types=("deployment.status",))
    processes = {e["payload"]["owner"].rsplit("/", 1)[0] for e in running
                 if e["payload"]["status"] == "running"}
    assert len(processes) == 2  # both workers took a share
    assert all(w.returncode == 0 for w in workers)
    store.close()


def test_a_worker_in_another_process_is_woken_by_notify(tmp_path, postgres_url):
    ws = make_workspace(tmp_path / "ws")
    # A poll so slow that only LISTEN/NOTIFY can explain a prompt start.
    ws.config_path.write_text(_config(ws, postgres_url).replace("poll_interval: 0.2",
                                                                 "poll_interval: 600"))
    config = load_config(ws.config_path)
    store = open_state(config)
    worker = subprocess.Popen([sys.executable, "-m", "fraisier.cli.main", "-c",
                               str(ws.config_path), "worker"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: store.workers.alive(), what="the worker")
        # Once its LISTEN session is up and its first claims found nothing, only a NOTIFY
        # can wake it before the 600 s poll.
        wait_for(lambda: store.db.scalar("SELECT COUNT(*) FROM pg_stat_activity"
                                         " WHERE query LIKE 'LISTEN fraisier_queue%'"),
                 what="the LISTEN session")
        # ...and each of its four slots has made its first claim, found nothing and gone
        # back to waiting: each slot and the housekeeping thread hold a connection of their
        # own, idle after the COMMIT of their first transaction.
        wait_for(lambda: store.db.scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE state = 'idle' AND query = 'COMMIT'"
            " AND pid <> pg_backend_pid() AND datname = current_database()") >= 5,
            what="four waiting slots")
        from fraisier.domain.model import Trigger
        from fraisier.engine.service import request_deployment

        record = request_deployment(store, config, "cheap", "e0", trigger=Trigger.CLI)
        final = wait_for(lambda: (r := store.queue.get(record.id)).status == "succeeded" and r,
                         timeout=120, what="the deployment")
        assert final.status == "succeeded"
    finally:
        worker.terminate()
        worker.wait(30)
    store.close()
