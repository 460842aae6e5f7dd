"""The ways back of a migration, on a real PostgreSQL with real tools: a worker killed with
SIGKILL in the middle of an Alembic migration is recovered with the preset's own way back;
`rollback --migrate-down` hands a raw `down` the revision to go back to; a migrate step that
stopped before touching the database says there was nothing to undo."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
from _kinds_support import public_tables, step
from click.testing import CliRunner

from fraisier.cli.main import cli
from fraisier.store import open_store
from fraisier.worker.inline import recover_orphans
from tests.support.waiting import wait_for

BIN = Path(sys.executable).parent

CONFIG = """
state:
  url: sqlite:///{root}/state.db
worker:
  lease_seconds: 2
fraises:
  web:
    type: api
    repository: {repo}
    env:
      PATH: "BIN:/usr/local/bin:/usr/bin:/bin"
      MIGRATION_STARTED: "{root}/migration-started"
    migrate:
      tool: alembic
      database_url: ${{DB_URL}}
    environments:
      production:
        branch: main
        app_path: {root}/srv/web
        health_check:
          command: [{python}, -c, "pass"]
          retries: 1
          interval: 0
""".replace("BIN", str(BIN))

# One transaction per migration, so that 0002 is committed when 0003 is killed half-way.
ALEMBIC_FILES = {
    "alembic.ini": "[alembic]\nscript_location = migrations\n",
    "migrations/script.py.mako": "",
    "migrations/env.py": """
        import os
        from alembic import context
        from sqlalchemy import create_engine

        url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
        with create_engine(url).connect() as connection:
            context.configure(connection=connection, transaction_per_migration=True)
            with context.begin_transaction():
                context.run_migrations()
    """,
}


def _revision(number: int, upgrade: str, downgrade: str) -> dict[str, str]:
    down = f'"{number - 1:04d}"' if number > 1 else "None"
    return {f"migrations/versions/{number:04d}.py": f"""
import os, pathlib, time
from alembic import op

revision = "{number:04d}"
down_revision = {down}

def upgrade():
    {upgrade}

def downgrade():
    {downgrade}
"""}


# 0003 signals that it runs, then waits to be killed (a client-side wait: when its process
# dies, PostgreSQL sees the connection close and drops the open transaction).
SLOW_0003 = ('op.execute("CREATE TABLE refunds (id int)")\n'
             '    pathlib.Path(os.environ["MIGRATION_STARTED"]).write_text(str(os.getpid()))\n'
             '    time.sleep(600)')


def _version(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return row[0] if row else ""


def _alive(pid: int) -> bool:
    """Running (a zombie is not: an orphan stopped by recovery waits for init to reap it,
    and the machine's init may take its time)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_worker_killed_mid_migration_is_recovered_with_the_presets_way_back(project, db_url):
    project.configure(CONFIG)
    project.commit({**ALEMBIC_FILES,
                    **_revision(1, 'op.execute("CREATE TABLE items (id int)")',
                                'op.execute("DROP TABLE items")')})
    first = project.deploy("web")
    assert first.status == "succeeded", first.error
    project.commit({**_revision(2, 'op.execute("CREATE TABLE orders (id int)")',
                                'op.execute("DROP TABLE orders")'),
                    **_revision(3, SLOW_0003, 'op.execute("DROP TABLE refunds")')})
    started = project.root / "migration-started"
    worker = subprocess.Popen([str(BIN / "fraisier"), "-c", str(project.config_path), "deploy",
                               "web", "production"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True,
                              env={**os.environ, "DB_URL": db_url})
    try:
        wait_for(started.exists, what="migration 0003 to start", timeout=120)
        alembic_pid = int(started.read_text())
        os.killpg(worker.pid, signal.SIGKILL)  # the worker dies; alembic runs on, orphaned
        worker.wait(timeout=30)
        assert _alive(alembic_pid)
        assert _version(db_url) == "0002"  # 0002 committed, 0003 half-way

        store = open_store(project.config.state.url)
        project.stores.append(store)
        killed = store.views.history(limit=1)[0]
        assert killed.status == "running" and killed.id != first.id
        assert step(killed, "migrate").data["revision_before"] == "0001"

        recovered = wait_for(lambda: recover_orphans(store, project.config,
                                                     deployment_id=killed.id),
                             what="the dead worker's lease to expire", timeout=60)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    record = recovered[0]
    assert record.status == "interrupted", record.error
    assert "compensated" in record.error
    migrate = step(record, "migrate")
    assert migrate.compensation_status == "compensated"
    assert not _alive(alembic_pid)  # the leftover migration was stopped first
    assert _version(db_url) == "0001"
    assert public_tables(db_url) & {"items", "orders", "refunds"} == {"items"}
    logs = "\n".join(str(row["line"]) for row in store.ledger.logs(record.id))
    assert "alembic downgrade 0001" in logs


RAW_CONFIG = """
state:
  url: sqlite:///{root}/state.db
fraises:
  web:
    type: api
    repository: {repo}
    migrate:
      status: [sh, -c, "cat $FRAISIER_APP_PATH/db-revision 2>/dev/null || true"]
      up: [sh, -c, "cat REVISION > $FRAISIER_APP_PATH/db-revision"]
      down: [sh, -c, "echo \\"$FRAISIER_MIGRATE_REVISION\\" > $FRAISIER_APP_PATH/down-to"]
    environments:
      production:
        branch: main
        app_path: {root}/srv/web
        health_check:
          command: [{python}, -c, "pass"]
          retries: 1
          interval: 0
"""


def test_rollback_migrate_down_gives_a_raw_down_the_revision_to_go_back_to(project):
    project.configure(RAW_CONFIG)
    project.commit({"REVISION": "r1\n"})
    first = project.deploy("web")
    assert first.status == "succeeded", first.error
    assert step(first, "migrate").data == {"revision_before": "", "revision_after": "r1"}
    project.commit({"REVISION": "r2\n"})
    assert project.deploy("web").status == "succeeded"
    result = CliRunner().invoke(cli, ["-c", str(project.config_path), "rollback", "web",
                                      "production", "--to", first.release, "--migrate-down",
                                      "--json"])
    assert result.exit_code == 0, result.output
    assert (project.root / "srv/web/down-to").read_text() == "r1\n"


def test_a_migrate_step_that_stopped_before_the_database_has_nothing_to_undo(project,
                                                                           db_url):
    # The release has no alembic anywhere: the tool is not found, the step fails before
    # anything ran against the database, and the outcome does not cry wolf.
    project.configure(CONFIG.replace(str(BIN), str(project.root / "empty-bin")))
    project.commit({**ALEMBIC_FILES,
                    **_revision(1, 'op.execute("CREATE TABLE items (id int)")',
                                'op.execute("DROP TABLE items")')})
    record = project.deploy("web")
    assert record.status == "failed"
    assert "'alembic' not found" in record.error
    assert ".venv/bin" in record.error and "migrate.tool_path" in record.error
    assert "not recorded" not in record.error and "not undone" not in record.error
    assert step(record, "migrate").compensation_status == "compensated"


def test_a_preset_with_a_rollout_is_refused_by_the_configuration(tmp_path):
    path = tmp_path / "fraises.yaml"
    path.write_text(f"""
fraises:
  web:
    type: api
    repository: https://git.example.com/acme/web.git
    migrate:
      tool: alembic
      database_url: postgresql://web@db.internal/web
    environments:
      production:
        branch: main
        app_path: {tmp_path}/srv/web
        strategy: rolling
        hosts:
          - name: a
            address: 10.0.0.1
""")
    result = CliRunner().invoke(cli, ["-c", str(path), "validate"])
    assert result.exit_code != 0
    assert "fraises.web.environments.production.migrate.tool" in result.output
    assert "cannot be used with a rollout" in result.output


def _documented_raw_alembic() -> dict:
    """`fraises.api.migrate` of the first example in docs/configuration.md, as written."""
    import re

    import yaml

    text = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
                 if "alembic downgrade" in b)
    migrate = yaml.safe_load(block)["fraises"]["api"]["migrate"]
    return {key: migrate[key] for key in ("status", "up", "down")}


DOC_RAW_CONFIG = """
state:
  url: sqlite:///{root}/state.db
fraises:
  web:
    type: api
    repository: {repo}
    install: [ln, -s, VENV, .venv]
    env:
      DATABASE_URL: ${{DB_URL}}
    migrate: MIGRATE
    environments:
      production:
        branch: main
        app_path: {root}/srv/web
        health_check:
          command: [{python}, -c, "pass"]
          retries: 1
          interval: 0
"""


def test_the_documented_raw_alembic_commands_roll_back_to_a_release(project, db_url):
    import json

    # The release's .venv is this test environment's (it has Alembic); the migrate commands
    # are the documentation's, unchanged.
    migrate = json.dumps(_documented_raw_alembic()).replace("{", "{{").replace("}", "}}")
    project.configure(DOC_RAW_CONFIG.replace("VENV", str(BIN.parent))
                      .replace("MIGRATE", migrate))
    project.commit({**ALEMBIC_FILES,
                    **_revision(1, 'op.execute("CREATE TABLE items (id int)")',
                                'op.execute("DROP TABLE items")')})
    first = project.deploy("web")
    assert first.status == "succeeded", first.error
    assert step(first, "migrate").data == {"revision_before": "", "revision_after": "0001"}
    project.commit(_revision(2, 'op.execute("CREATE TABLE orders (id int)")',
                             'op.execute("DROP TABLE orders")'))
    assert project.deploy("web").status == "succeeded"
    assert _version(db_url) == "0002"
    result = CliRunner().invoke(cli, ["-c", str(project.config_path), "rollback", "web",
                                      "production", "--to", first.release, "--migrate-down",
                                      "--json"])
    assert result.exit_code == 0, result.output
    assert _version(db_url) == "0001"
    assert public_tables(db_url) & {"items", "orders"} == {"items"}
