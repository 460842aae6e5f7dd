"""The reversibility gate, on a real PostgreSQL with real Alembic, confiture and Django: each
project has a reversible and an irreversible migration. The gate stops the deployment before
the database is touched, naming the irreversible one; `migrate.allow_irreversible` lets it
through, and a later failure then says the database could not be taken back.
`fraisier migrations` lists the same. PostgreSQL's lock_timeout reaches the tool: a
migration blocked by another session's lock fails and the deployment is rolled back."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import psycopg
import pytest
from _kinds_support import public_tables, step
from click.testing import CliRunner

from fraisier.cli.main import cli

BIN = Path(sys.executable).parent

CONFIG = """
state:
  url: sqlite:///{root}/state.db
fraises:
  web:
    type: api
    repository: {repo}
    env:
      PATH: "BIN:/usr/local/bin:/usr/bin:/bin"
    migrate:
      tool: TOOL
      database_url: ${{DB_URL}}
      EXTRA
    environments:
      production:
        branch: main
        app_path: {root}/srv/web
        health_check:
          command: [{python}, healthy.py]
          retries: 1
          interval: 0
""".replace("BIN", str(BIN))

HEALTHY = "import sys\nsys.exit(0)\n"
UNHEALTHY = "import sys\nsys.exit(1)\n"


def _config(tool: str, extra: str = "") -> str:
    return CONFIG.replace("TOOL", tool).replace("EXTRA", extra)


def _migrations(project, *args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, ["-c", str(project.config_path), "migrations", "web",
                                      "production", "--json", *args])
    return result.exit_code, json.loads(result.output)


ALEMBIC = {
    "alembic.ini": "[alembic]\nscript_location = migrations\n",
    "migrations/script.py.mako": "",
    "migrations/env.py": """
        import os
        from alembic import context
        from sqlalchemy import create_engine

        url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
        with create_engine(url).connect() as connection:
            context.configure(connection=connection)
            with context.begin_transaction():
                context.run_migrations()
    """,
    "migrations/versions/0001_items.py": """
        from alembic import op

        revision = "0001"
        down_revision = None

        def upgrade():
            op.execute("CREATE TABLE items (id int)")

        def downgrade():
            op.execute("DROP TABLE items")
    """,
}

ALEMBIC_IRREVERSIBLE = {"migrations/versions/0002_orders.py": '''
    from alembic import op

    revision = "0002"
    down_revision = "0001"

    def upgrade():
        op.execute("CREATE TABLE orders (id int)")

    def downgrade():
        """Orders cannot be dropped."""
        pass
'''}


def test_alembic_irreversible_migration_stops_before_the_database(project, db_url):
    project.configure(_config("alembic"))
    project.commit({**ALEMBIC, **ALEMBIC_IRREVERSIBLE, "healthy.py": HEALTHY})
    code, listing = _migrations(project)
    assert code == 1
    assert listing["pending"] == [
        {"name": "0001", "reversible": True, "why": ""},
        {"name": "0002", "reversible": False, "why": "downgrade() empty"}]
    record = project.deploy("web")
    assert record.status == "failed"
    assert "irreversible pending migration(s): 0002 (downgrade() empty)" in record.error
    assert "allow_irreversible" in record.error
    assert step(record, "migrate").compensation_status == "compensated"
    assert public_tables(db_url) == set()  # not even alembic_version


def test_allow_irreversible_applies_and_a_later_failure_says_the_database_stayed(project,
                                                                               db_url):
    project.configure(_config("alembic", "allow_irreversible: true"))
    project.commit({**ALEMBIC, "healthy.py": HEALTHY})
    assert project.deploy("web").status == "succeeded"
    project.commit({**ALEMBIC_IRREVERSIBLE, "healthy.py": UNHEALTHY})
    code, listing = _migrations(project)
    assert code == 0 and listing["allow_irreversible"] is True
    assert [p["reversible"] for p in listing["pending"]] == [False]
    record = project.deploy("web")
    assert record.status == "rolled_back", record.error
    assert "the database could not be taken back" in record.error
    assert "0002" in record.error
    assert step(record, "migrate").data["irreversible"] == ["0002"]
    assert "orders" in public_tables(db_url)


def _confiture_sql(number: int, name: str, up: str, down: str) -> dict[str, str]:
    return {f"db/migrations/{number:03d}_{name}.up.sql": up + "\n",
            f"db/migrations/{number:03d}_{name}.down.sql": down + "\n"}


CONFITURE_IRREVERSIBLE = {"db/migrations/002_orders.py": """
    from confiture.models.migration import Migration

    class Orders(Migration):
        version = "002"
        name = "orders"

        def up(self):
            self.execute("CREATE TABLE orders (id int)")

        def down(self):
            raise NotImplementedError("orders cannot be dropped safely")
"""}


def test_confiture_irreversible_migration_stops_before_the_database(project, db_url):
    project.configure(_config("confiture"))
    project.commit({**_confiture_sql(1, "items", "CREATE TABLE items (id int);",
                                     "DROP TABLE items;"),
                    **CONFITURE_IRREVERSIBLE, "healthy.py": HEALTHY})
    code, listing = _migrations(project)
    assert code == 1
    assert listing["pending"] == [
        {"name": "001_items", "reversible": True, "why": ""},
        {"name": "002_orders", "reversible": False, "why": "down() only raises"}]
    record = project.deploy("web")
    assert record.status == "failed"
    assert "002_orders (down() only raises)" in record.error
    assert not {"items", "orders"} & public_tables(db_url)


DJANGO = {
    "manage.py": """
        import os, sys
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_settings")
        from django.core.management import execute_from_command_line
        execute_from_command_line(sys.argv)
    """,
    "site_settings.py": """
        import os
        from urllib.parse import urlsplit

        url = urlsplit(os.environ["DATABASE_URL"])
        SECRET_KEY = "test-only"
        INSTALLED_APPS = ["shop"]
        USE_TZ = True
        DATABASES = {"default": {
            "ENGINE": "django.db.backends.postgresql", "NAME": url.path.lstrip("/"),
            "USER": url.username, "HOST": url.hostname, "PORT": url.port}}
    """,
    "shop/__init__.py": "",
    "shop/migrations/__init__.py": "",
    "shop/migrations/0001_initial.py": """
        from django.db import migrations

        class Migration(migrations.Migration):
            initial = True
            operations = [migrations.RunSQL("CREATE TABLE items (id int)",
                                            "DROP TABLE items")]
    """,
    "shop/migrations/0002_fill.py": """
        from django.db import migrations

        def fill(apps, schema_editor):
            schema_editor.execute("INSERT INTO items VALUES (1)")

        class Migration(migrations.Migration):
            dependencies = [("shop", "0001_initial")]
            operations = [migrations.RunPython(fill)]
    """,
}


def test_django_irreversible_migration_stops_before_the_database(project, db_url):
    pytest.importorskip("django")
    project.configure(_config("django"))
    project.commit({**DJANGO, "healthy.py": HEALTHY})
    code, listing = _migrations(project)
    assert code == 1
    assert listing["pending"] == [
        {"name": "shop.0001_initial", "reversible": True, "why": ""},
        {"name": "shop.0002_fill", "reversible": False, "why": "RunPython without reverse"}]
    record = project.deploy("web")
    assert record.status == "failed"
    assert "shop.0002_fill (RunPython without reverse)" in record.error
    assert "items" not in public_tables(db_url)


RAW = """
state:
  url: sqlite:///{root}/state.db
fraises:
  web:
    type: api
    repository: {repo}
    migrate:
      pending: [sh, -c, "echo 0001_items; echo 0002_orders irreversible"]
      up: [sh, -c, "touch $FRAISIER_APP_PATH/migrated"]
    environments:
      production:
        branch: main
        app_path: {root}/srv/web
"""


def test_raw_pending_command_feeds_the_gate(project):
    project.configure(RAW)
    project.commit({"README": "v2\n"})
    code, listing = _migrations(project)
    assert code == 1
    assert listing["pending"][1] == {"name": "0002_orders", "reversible": False,
                                     "why": "marked irreversible by migrate.pending"}
    record = project.deploy("web")
    assert record.status == "failed"
    assert "0002_orders" in record.error
    assert not (project.root / "srv/web/migrated").exists()


LOCKED = {"migrations/versions/0002_price.py": """
    from alembic import op

    revision = "0002"
    down_revision = "0001"

    def upgrade():
        op.execute("ALTER TABLE items ADD COLUMN price int")

    def downgrade():
        op.execute("ALTER TABLE items DROP COLUMN price")
"""}


def test_a_migration_blocked_by_a_lock_fails_on_lock_timeout_and_is_rolled_back(project,
                                                                               db_url):
    project.configure(_config("alembic", "lock_timeout: 1"))
    project.commit({**ALEMBIC, "healthy.py": HEALTHY})
    first = project.deploy("web")
    assert first.status == "succeeded", first.error
    project.commit(LOCKED)
    with psycopg.connect(db_url) as holder:
        holder.execute("LOCK TABLE items IN ACCESS EXCLUSIVE MODE")  # held until the end
        record = project.deploy("web")
    assert record.status == "rolled_back", record.error
    assert "lock timeout" in record.error
    assert step(record, "migrate").status == "failed"
    assert record.release != first.release
    assert project.store().releases.get("web", "production", first.release).status == "active"
    with psycopg.connect(db_url) as conn:
        columns = {row[0] for row in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'items'")}
        assert columns == {"id"}
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0001"


def test_a_statement_longer_than_statement_timeout_fails_the_migration(project, db_url):
    project.configure(_config("confiture", "statement_timeout: 1"))
    project.commit({**_confiture_sql(1, "slow", "SELECT pg_sleep(600);", "SELECT 1;"),
                    "healthy.py": HEALTHY})
    record = project.deploy("web")
    assert record.status == "failed"
    assert "a statement ran longer than migrate.statement_timeout (1s)" in record.error
    assert step(record, "migrate").compensation_status == "compensated"
