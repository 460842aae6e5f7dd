"""Two OS processes writing to one state database at once."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fraisier.store import Store, StoreError, open_store
from fraisier.store.migrate import available_migrations
from tests.support.waiting import wait_for

PER_PROCESS = 50

# Each process waits for the `go` file, so both write at the same moment.
WORKER = textwrap.dedent("""
    import pathlib, sys, time
    from fraisier.domain.model import StepStatus
    from fraisier.store import open_store

    url, environment, ready, go = sys.argv[1:5]
    pathlib.Path(ready).touch()
    while not pathlib.Path(go).exists():
        time.sleep(0.01)
    store = open_store(url)
    owner = f"proc-{environment}"
    for n in range(%(count)d):
        record = store.queue.enqueue("web", environment, trigger="cli", branch="main")
        claimed = store.queue.claim(record.id, owner, 60)
        assert claimed.status == "running", claimed.status
        store.ledger.plan(record.id, ["fetch", "activate"])
        store.ledger.mark(record.id, 0, StepStatus.RUNNING)
        store.ledger.log(record.id, f"{environment} {n}")
        store.ledger.mark(record.id, 0, StepStatus.SUCCEEDED)
        assert store.queue.renew_lease(record.id, owner, 60)
        store.queue.finish(record.id, "succeeded")
    store.close()
    print("done", environment)
""") % {"count": PER_PROCESS}


def _run_at_once(url: str, environments: list[str], tmp_path: Path) -> list:
    go = tmp_path / "go"
    procs = []
    for env in environments:
        ready = tmp_path / f"ready-{env}"
        procs.append((ready, subprocess.Popen(
            [sys.executable, "-c", WORKER, url, env, str(ready), str(go)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
    # Release both only once both are up (imports done), so their writes overlap.
    wait_for(lambda: all(ready.exists() or proc.poll() is not None for ready, proc in procs),
             60, "both writer processes to start", interval=0.01)
    go.touch()
    results = []
    for _, proc in procs:
        out, err = proc.communicate(timeout=110)
        results.append((proc.returncode, out, err))
    return results


def test_two_processes_write_at_once(store: Store, store_url: str, tmp_path: Path) -> None:
    results = _run_at_once(store_url, ["blue", "green"], tmp_path)
    for (code, out, err), env in zip(results, ["blue", "green"], strict=True):
        assert code == 0, err
        assert out.strip() == f"done {env}"
        assert "Traceback" not in err
    rows = store.db.fetchall("SELECT environment, status, duration_seconds FROM tb_deployment")
    assert len(rows) == 2 * PER_PROCESS
    assert {r["status"] for r in rows} == {"succeeded"}
    assert sorted(r["environment"] for r in rows).count("blue") == PER_PROCESS
    assert all(r["duration_seconds"] is not None for r in rows)
    assert store.queue.running() == []
    logs = store.db.scalar("SELECT COUNT(*) FROM tb_deployment_log")
    assert logs == 2 * PER_PROCESS
    # queued, running, succeeded per deployment, plus two step marks and one log line.
    assert store.db.scalar("SELECT COUNT(*) FROM tb_event") == 2 * PER_PROCESS * 6
    ids = [e["id"] for e in store.events.after(0, limit=10_000)]
    assert len(ids) == len(set(ids)) == 2 * PER_PROCESS * 6
    stats = store.views.stats()
    assert (stats["total_deployments"], stats["success_rate"]) == (2 * PER_PROCESS, 1.0)


def test_two_processes_migrate_a_new_postgres_database_at_once(postgres_url: str,
                                                              tmp_path: Path) -> None:
    # No store opened beforehand: both processes race to apply the migrations, and the
    # advisory lock must let exactly one of them do it.
    store_url = postgres_url
    results = _run_at_once(store_url, ["left", "right"], tmp_path)
    for code, _, err in results:
        assert code == 0, err
    store = open_store(store_url)
    try:
        versions = store.db.fetchall("SELECT version FROM tb_schema_version ORDER BY version")
        assert [v["version"] for v in versions] == [
            n for n, _, _ in available_migrations(store.backend)]
        assert store.db.scalar("SELECT COUNT(*) FROM tb_deployment") == 2 * PER_PROCESS
    finally:
        store.close()



def test_an_unopenable_sqlite_file_is_a_store_error(tmp_path: Path) -> None:
    # The path is a directory, which SQLite cannot open. Callers such as the CLI catch
    # StoreError to print a message; PostgreSQL connection failures are StoreUnavailable.
    (tmp_path / "state.db").mkdir()
    with pytest.raises(StoreError):
        open_store(f"sqlite:///{tmp_path}/state.db")
