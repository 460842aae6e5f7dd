"""Backups: sqlite (online backup API) and postgres (pg_dump -Fc) on a real server; checksums,
atomic files, retention, verification, restore, and the failure cases."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from _kinds_support import step
from click.testing import CliRunner

from fraisier.cli.main import cli
from fraisier.domain.model import utc_now
from fraisier.kinds.backups import prune
from tests.support.services import require_binary

SQLITE_CONFIG = """
state:
  url: sqlite:///{root}/state.db
fraises:
  nightly:
    type: backup
    repository: {repo}
    backups:
      appdb:
        kind: sqlite
        path: {root}/app.db
        verify: restore
        verify_table: items
        keep_last: 2
    environments:
      production:
        branch: main
        app_path: {root}/srv/nightly
        backup_dir: {root}/backups
"""


def _make_sqlite(path, rows: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT)")
    conn.executemany("INSERT INTO items (name) VALUES (?)", [(f"n{i}",) for i in range(rows)])
    conn.commit()
    conn.close()


def _cli(project, *args: str, input: str | None = None):
    return CliRunner().invoke(cli, ["-c", str(project.config_path), *args], input=input,
                              env={"COLUMNS": "250"})


def test_sqlite_backups_are_checksummed_verified_and_pruned(project):
    project.configure(SQLITE_CONFIG)
    _make_sqlite(project.root / "app.db", 5)
    ids = []
    for _ in range(3):
        result = _cli(project, "backup", "run", "nightly", "production", "--json")
        assert result.exit_code == 0, result.output
        [backup] = json.loads(result.stdout)
        ids.append(backup["id"])
        assert backup["status"] == "good" and backup["verified"] == "ok"
        assert "items: 5 rows" in backup["verify_detail"]
    folder = project.root / "backups" / "appdb"
    names = sorted(p.name for p in folder.iterdir())
    assert not [n for n in names if n.startswith(".")]  # no temporary file left behind
    listed = json.loads(_cli(project, "backup", "list", "nightly", "production", "--json").stdout)
    assert [b["id"] for b in listed] == [ids[2], ids[1]]  # keep_last: 2
    for backup in listed:
        data = Path(backup["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == backup["sha256"]
        checksum = Path(backup["path"] + ".sha256").read_text().split()
        assert checksum[0] == backup["sha256"]
    pruned = project.store().backups.get(ids[0])
    assert pruned.status == "pruned" and not (folder / pruned.path).exists()
    assert len(names) == 4  # two backups, two checksum files


def test_retention_never_deletes_the_newest_good_backup(project):
    project.configure(SQLITE_CONFIG.replace("keep_last: 2", "retention_days: 1"))
    _make_sqlite(project.root / "app.db", 1)
    for _ in range(2):
        assert _cli(project, "backup", "run", "nightly", "production").exit_code == 0
    store, target = project.store(), project.target("nightly")
    job = target.kind.backups["appdb"]
    # A year later every backup is older than retention_days; the newest one stays.
    pruned = prune(store, target, "appdb", job, now=utc_now() + timedelta(days=365))
    good = store.backups.list("nightly", "production", status="good")
    assert len(pruned) == 1 and len(good) == 1 and good[0].id > pruned[0]


def test_sqlite_restore_confirms_refuses_non_empty_and_detects_corruption(project):
    project.configure(SQLITE_CONFIG)
    _make_sqlite(project.root / "app.db", 7)
    [backup] = json.loads(_cli(project, "backup", "run", "nightly", "production",
                               "--json").stdout)
    target_db = project.root / "restored.db"
    args = ["backup", "restore", "nightly", "production", str(backup["id"]), "--to",
            f"sqlite:///{target_db}"]
    declined = _cli(project, *args, input="n\n")
    assert declined.exit_code == 1 and "Aborted" in declined.output
    assert not target_db.exists()
    done = _cli(project, *args, "--yes")
    assert done.exit_code == 0, done.output
    assert sqlite3.connect(target_db).execute("SELECT count(*) FROM items").fetchone()[0] == 7
    refused = _cli(project, *args, "--yes")
    assert refused.exit_code == 1 and "not empty" in refused.output
    assert _cli(project, *args, "--yes", "--force").exit_code == 0
    with open(backup["path"], "r+b") as handle:  # flip bytes in the middle of the file
        handle.seek(200)
        handle.write(b"\xff" * 64)
    corrupted = _cli(project, *args, "--yes", "--force")
    assert corrupted.exit_code == 1 and "corrupted" in corrupted.output


POSTGRES_CONFIG = """
state:
  url: sqlite:///{root}/state.db
fraises:
  nightly:
    type: backup
    repository: {repo}
    backups:
      main:
        kind: postgres
        database_url: ${{DB_URL}}
        verify: restore
        verify_database_url: ${{SCRATCH_URL}}
        verify_table: public.items
    environments:
      production:
        branch: main
        app_path: {root}/srv/nightly
        backup_dir: {root}/backups
"""


@pytest.fixture
def databases(postgres_server, monkeypatch):
    require_binary("pg_dump")
    require_binary("pg_restore")
    names = ["bk_source", "bk_scratch", "bk_target"]
    urls = {name: postgres_server.create_database(name) for name in names}
    with psycopg.connect(urls["bk_source"], autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id serial PRIMARY KEY, name text)")
        conn.execute("INSERT INTO items (name) SELECT 'n' || g FROM generate_series(1, 42) g")
    monkeypatch.setenv("DB_URL", urls["bk_source"])
    monkeypatch.setenv("SCRATCH_URL", urls["bk_scratch"])
    yield urls
    for name in names:
        postgres_server.drop_database(name)


def _count(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM items").fetchone()[0]


def test_postgres_backup_verified_by_restore_then_restored(project, databases):
    project.configure(POSTGRES_CONFIG)
    result = _cli(project, "backup", "run", "nightly", "production", "main", "--json")
    assert result.exit_code == 0, result.output
    [backup] = json.loads(result.stdout)
    assert backup["status"] == "good" and backup["verified"] == "ok"
    assert "public.items: 42 rows" in backup["verify_detail"]
    assert Path(backup["path"]).read_bytes()[:5] == b"PGDMP"  # the custom (-Fc) format
    assert _count(databases["bk_scratch"]) == 42
    args = ["backup", "restore", "nightly", "production", str(backup["id"]), "--yes", "--to"]
    done = _cli(project, *args, databases["bk_target"])
    assert done.exit_code == 0, done.output
    assert _count(databases["bk_target"]) == 42
    refused = _cli(project, *args, databases["bk_source"])
    assert refused.exit_code == 1 and "not empty" in refused.output


def test_failed_pg_dump_leaves_no_file_and_keeps_older_backups(project, databases,
                                                                monkeypatch):
    project.configure(POSTGRES_CONFIG.replace("verify: restore", "verify: list"))
    first = _cli(project, "backup", "run", "nightly", "production", "--json")
    [good] = json.loads(first.stdout)
    assert good["status"] == "good" and "archive entries" in good["verify_detail"]
    monkeypatch.setenv("DB_URL", databases["bk_source"].rsplit("/", 1)[0] + "/no_such_db")
    failed = _cli(project, "backup", "run", "nightly", "production", "--json")
    assert failed.exit_code == 1
    [bad] = json.loads(failed.stdout)
    assert bad["status"] == "failed" and "pg_dump" in bad["error"]
    assert "no_such_db" in bad["error"]
    files = sorted(p.name for p in (project.root / "backups" / "main").iterdir())
    assert files == sorted([good["path"].rsplit("/", 1)[1],
                            good["path"].rsplit("/", 1)[1] + ".sha256"])
    run = project.store().runs.list("nightly", name="main")[0]
    assert run.status == "failed" and run.kind == "backup"


def test_backup_before_deploy_records_the_backup_on_the_deployment(project, databases):
    project.configure("""
state:
  url: sqlite:///{root}/state.db
fraises:
  web:
    type: api
    repository: {repo}
    migrate:
      database_url: ${{DB_URL}}
      up: [{python}, -c, "print('migrated')"]
    environments:
      production:
        branch: main
        app_path: {root}/srv/web
        backup_before_deploy: true
        backup_dir: {root}/backups
""")
    record = project.deploy("web")
    assert record.status == "succeeded", record.error
    names = [s.name for s in record.steps]
    assert names.index("backup") == names.index("migrate") - 1
    backup_id = step(record, "backup").data["backups"]["pre-deploy"]
    backup = project.store().backups.get(backup_id)
    assert backup.status == "good" and backup.deployment_id == record.id
    assert backup.kind == "postgres"


SYNC = """[{python}, -c, "import os, shutil, sys; shutil.copy(os.environ['FRAISIER_BACKUP_FILE'], sys.argv[1])", {root}/offsite]"""


def test_sync_runs_after_a_good_backup_and_its_failure_is_recorded(project):
    project.configure(SQLITE_CONFIG.replace("keep_last: 2", "keep_last: 2\n        sync: " + SYNC))
    _make_sqlite(project.root / "app.db", 3)
    (project.root / "offsite").mkdir()
    [backup] = json.loads(_cli(project, "backup", "run", "nightly", "production",
                               "--json").stdout)
    assert backup["synced"] == "ok"
    copied = project.root / "offsite" / Path(backup["path"]).name
    assert hashlib.sha256(copied.read_bytes()).hexdigest() == backup["sha256"]
    # A sync that fails: the backup stays good, the run fails and says why.
    project.configure(SQLITE_CONFIG.replace(
        "keep_last: 2", "keep_last: 2\n        sync: [{python}, -c, 'raise SystemExit(4)']"))
    result = _cli(project, "backup", "run", "nightly", "production", "--json")
    [second] = json.loads(result.stdout)
    assert second["status"] == "good" and second["synced"] == "failed"
    run = project.store().runs.list("nightly", name="appdb")[0]
    assert run.status == "failed" and "sync" in run.error


def test_scheduled_backup_then_a_job_that_depends_on_it(project):
    from datetime import UTC, datetime

    from fraisier.kinds.scheduler import Scheduler

    upload = ("import os, shutil; shutil.copy(os.environ['FRAISIER_BACKUP_FILE'], "
              "os.environ['FRAISIER_APP_PATH'] + '/uploaded')")
    project.configure(SQLITE_CONFIG.replace(
        "keep_last: 2", 'keep_last: 2\n        schedule: "0 * * * *"').replace(
        "    environments:", f"    jobs:\n      upload:\n        depends_on: [appdb]\n"
        f"        command: [{{python}}, -c, \"{upload}\"]\n    environments:"))
    _make_sqlite(project.root / "app.db", 4)
    assert project.deploy("nightly").status == "succeeded"
    store = project.store()
    start = datetime(2026, 11, 26, 5, 10, tzinfo=UTC)
    scheduler = Scheduler(store, project.config, clock=lambda: start)
    try:
        scheduler.run_pending(datetime(2026, 11, 26, 6, 0, 10, tzinfo=UTC))
    finally:
        scheduler.close()
    [backup] = store.backups.list("nightly", "production")
    assert backup.status == "good"
    assert store.runs.list("nightly", name="appdb")[0].scheduled_for.startswith(
        "2026-11-26T06:00")
    run = store.runs.list("nightly", name="upload")[0]
    assert run.status == "succeeded" and run.trigger == "dependency", run.error
    uploaded = project.root / "srv" / "nightly" / "uploaded"
    assert hashlib.sha256(uploaded.read_bytes()).hexdigest() == backup.sha256


def test_leftovers_of_an_interrupted_backup_are_cleared(project):
    project.configure(SQLITE_CONFIG)
    _make_sqlite(project.root / "app.db", 2)
    store = project.store()
    crashed = store.backups.start("nightly", "production", "appdb", "sqlite", verify="list")
    folder = project.root / "backups" / "appdb"
    folder.mkdir(parents=True)
    (folder / ".appdb-20260101T000000Z-1.sqlite3.partial").write_bytes(b"half")
    assert _cli(project, "backup", "run", "nightly", "production").exit_code == 0
    assert not list(folder.glob(".*"))
    assert store.backups.get(crashed).status == "failed"


def test_a_manual_backup_runs_the_jobs_that_depend_on_it_and_jobs_lists_every_backup(project):
    upload = ("import os, shutil; shutil.copy(os.environ['FRAISIER_BACKUP_FILE'], "
              "os.environ['FRAISIER_APP_PATH'] + '/uploaded')")
    project.configure(SQLITE_CONFIG.replace(
        "    environments:", "      spare:\n        kind: sqlite\n        path: {root}/app.db\n"
        f"    jobs:\n      upload:\n        depends_on: [appdb]\n"
        f"        command: [{{python}}, -c, \"{upload}\"]\n    environments:"))
    _make_sqlite(project.root / "app.db", 4)
    assert project.deploy("nightly").status == "succeeded"
    taken = _cli(project, "backup", "run", "nightly", "production", "appdb")
    assert taken.exit_code == 0, taken.output
    store = project.store()
    [backup] = store.backups.list("nightly", "production", job="appdb")
    run = store.runs.list("nightly", name="upload")[0]
    assert run.status == "succeeded" and run.trigger == "dependency", run.error
    uploaded = project.root / "srv" / "nightly" / "uploaded"
    assert hashlib.sha256(uploaded.read_bytes()).hexdigest() == backup.sha256

    listed = _cli(project, "jobs", "nightly", "--json")
    rows = {row["job"]: row for row in json.loads(listed.stdout)}
    assert set(rows) == {"appdb", "spare", "upload"}
    assert rows["spare"]["kind"] == "backup" and rows["spare"]["schedule"] is None
    table = _cli(project, "jobs", "nightly").stdout
    assert "after appdb" in table
    assert "after \n" not in table and "after  " not in table
    assert table.count("manual") == 2  # appdb and spare: taken only by hand
