"""Migration presets on a real PostgreSQL: the revision before `migrate` is recorded in the
ledger, and a deployment whose health check fails goes back to exactly that revision."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import psycopg
import pytest
from _kinds_support import public_tables, step

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
UNHEALTHY = "import sys\nprint('not healthy')\nsys.exit(1)\n"

ALEMBIC_FILES = {
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
}


def _alembic_revision(number: int, create: str, drop: str) -> dict[str, str]:
    down = f'"{number - 1:04d}"' if number > 1 else "None"
    return {f"migrations/versions/{number:04d}.py": f"""
        from alembic import op

        revision = "{number:04d}"
        down_revision = {down}

        def upgrade():
            op.execute("{create}")

        def downgrade():
            op.execute("{drop}")
    """}


def _scalar(url: str, query: str):
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchone()[0]


def test_alembic_failed_health_check_returns_to_the_recorded_revision(project, db_url):
    project.configure(CONFIG.replace("TOOL", "alembic"))
    project.commit({**ALEMBIC_FILES, "healthy.py": HEALTHY,
                    **_alembic_revision(1, "CREATE TABLE items (id int)", "DROP TABLE items")})
    first = project.deploy("web")
    assert first.status == "succeeded", first.error
    assert step(first, "migrate").data == {
        "tool": "alembic", "revision_before": "", "revision_after": "0001",
        "pending": [{"name": "0001", "reversible": True, "why": ""}]}
    project.commit({"healthy.py": UNHEALTHY,
                    **_alembic_revision(2, "CREATE TABLE orders (id int)", "DROP TABLE orders")})
    second = project.deploy("web")
    assert second.status == "rolled_back", second.error
    migrate = step(second, "migrate")
    assert migrate.data["revision_before"] == "0001"
    assert migrate.data["revision_after"] == "0002"
    assert migrate.compensation_status == "compensated"
    assert _scalar(db_url, "SELECT version_num FROM alembic_version") == "0001"
    assert "orders" not in public_tables(db_url) and "items" in public_tables(db_url)


def test_alembic_first_deployment_rolled_back_to_an_empty_database(project, db_url):
    project.configure(CONFIG.replace("TOOL", "alembic"))
    project.commit({**ALEMBIC_FILES, "healthy.py": UNHEALTHY,
                    **_alembic_revision(1, "CREATE TABLE items (id int)", "DROP TABLE items")})
    record = project.deploy("web")
    assert record.status == "failed"  # first deployment: nothing to roll back to but the DB
    assert step(record, "migrate").compensation_status == "compensated"
    assert "items" not in public_tables(db_url)


def _confiture(number: int, name: str, up: str, down: str | None) -> dict[str, str]:
    files = {f"db/migrations/{number:03d}_{name}.up.sql": up + "\n"}
    if down is not None:
        files[f"db/migrations/{number:03d}_{name}.down.sql"] = down + "\n"
    return files


def test_confiture_failed_health_check_returns_to_the_recorded_revision(project, db_url):
    project.configure(CONFIG.replace("TOOL", "confiture"))
    project.commit({"healthy.py": HEALTHY,
                    **_confiture(1, "items", "CREATE TABLE items (id int);",
                                 "DROP TABLE items;")})
    first = project.deploy("web")
    assert first.status == "succeeded", first.error
    before = step(first, "migrate").data["revision_after"]
    assert before.startswith("001")
    project.commit({"healthy.py": UNHEALTHY,
                    **_confiture(2, "orders", "CREATE TABLE orders (id int);",
                                 "DROP TABLE orders;")})
    second = project.deploy("web")
    assert second.status == "rolled_back", second.error
    migrate = step(second, "migrate")
    assert migrate.data["revision_before"] == before
    assert migrate.data["revision_after"].startswith("002")
    assert migrate.compensation_status == "compensated"
    assert "orders" not in public_tables(db_url) and "items" in public_tables(db_url)


FAILING_DOWN_PY = """
    from confiture.models.migration import Migration

    class Orders(Migration):
        version = "002"
        name = "orders"

        def up(self):
            self.execute("CREATE TABLE orders (id int)")

        def down(self):
            self.execute("DROP TABLE no_such_table")  # fails when it runs
"""


def test_confiture_down_that_fails_is_a_failed_rollback(project, db_url):
    project.configure(CONFIG.replace("TOOL", "confiture"))
    project.commit({"healthy.py": HEALTHY,
                    **_confiture(1, "items", "CREATE TABLE items (id int);",
                                 "DROP TABLE items;")})
    assert project.deploy("web").status == "succeeded"
    project.commit({"healthy.py": UNHEALTHY, "db/migrations/002_orders.py": FAILING_DOWN_PY})
    second = project.deploy("web")
    assert second.status == "rollback_failed"
    assert "undo migrate: migrate down: confiture exited with status 3" in second.error
    assert step(second, "migrate").compensation_status == "compensation_failed"
    assert "orders" in public_tables(db_url)
    assert step(second, "activate").compensation_status == "compensated"


# The health check removes the down file from the release, so confiture must refuse to go
# back (its exit code 8): the code is rolled back, the database is not, and the outcome says so.
BREAKS_DOWN = """
import pathlib, sys
pathlib.Path("db/migrations/002_orders.down.sql").unlink()
sys.exit(1)
"""


def test_confiture_missing_down_is_reported_irreversible(project, db_url):
    project.configure(CONFIG.replace("TOOL", "confiture"))
    project.commit({"healthy.py": HEALTHY,
                    **_confiture(1, "items", "CREATE TABLE items (id int);",
                                 "DROP TABLE items;")})
    assert project.deploy("web").status == "succeeded"
    project.commit({"healthy.py": BREAKS_DOWN,
                    **_confiture(2, "orders", "CREATE TABLE orders (id int);",
                                 "DROP TABLE orders;")})
    second = project.deploy("web")
    assert second.status == "rolled_back", second.error
    assert "not undone: migrate: database left at the new revision" in second.error
    assert step(second, "migrate").compensation_status == "skipped"
    assert "orders" in public_tables(db_url)
    assert step(second, "activate").compensation_status == "compensated"


def test_confiture_first_deployment_rolled_back_to_an_empty_database(project, db_url):
    project.configure(CONFIG.replace("TOOL", "confiture"))
    project.commit({"healthy.py": UNHEALTHY,
                    **_confiture(1, "items", "CREATE TABLE items (id int);",
                                 "DROP TABLE items;"),
                    **_confiture(2, "orders", "CREATE TABLE orders (id int);",
                                 "DROP TABLE orders;")})
    record = project.deploy("web")
    assert record.status == "failed"
    assert step(record, "migrate").compensation_status == "compensated", record.error
    assert not {"items", "orders"} & public_tables(db_url)


def test_manual_rollback_with_migrate_down_returns_to_the_release_revision(project, db_url):
    from click.testing import CliRunner

    from fraisier.cli.main import cli

    project.configure(CONFIG.replace("TOOL", "alembic"))
    project.commit({**ALEMBIC_FILES, "healthy.py": HEALTHY,
                    **_alembic_revision(1, "CREATE TABLE items (id int)", "DROP TABLE items")})
    first = project.deploy("web")
    project.commit(_alembic_revision(2, "CREATE TABLE orders (id int)", "DROP TABLE orders"))
    project.commit(_alembic_revision(3, "CREATE TABLE refunds (id int)", "DROP TABLE refunds"))
    assert project.deploy("web").status == "succeeded"
    assert _scalar(db_url, "SELECT version_num FROM alembic_version") == "0003"
    result = CliRunner().invoke(cli, ["-c", str(project.config_path), "rollback", "web",
                                      "production", "--to", first.release, "--migrate-down",
                                      "--json"])
    assert result.exit_code == 0, result.output
    assert _scalar(db_url, "SELECT version_num FROM alembic_version") == "0001"
    assert public_tables(db_url) & {"items", "orders", "refunds"} == {"items"}


DJANGO_FILES = {
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
}

DJANGO_0002 = {"shop/migrations/0002_orders.py": """
    from django.db import migrations

    class Migration(migrations.Migration):
        dependencies = [("shop", "0001_initial")]
        operations = [migrations.RunSQL("CREATE TABLE orders (id int)", "DROP TABLE orders")]
"""}


def test_django_failed_health_check_returns_to_the_recorded_migrations(project, db_url):
    pytest.importorskip("django")
    project.configure(CONFIG.replace("TOOL", "django"))
    project.commit({**DJANGO_FILES, "healthy.py": HEALTHY})
    first = project.deploy("web")
    assert first.status == "succeeded", first.error
    assert json.loads(step(first, "migrate").data["revision_after"]) == {"shop": "0001_initial"}
    project.commit({**DJANGO_0002, "healthy.py": UNHEALTHY})
    second = project.deploy("web")
    assert second.status == "rolled_back", second.error
    migrate = step(second, "migrate")
    assert json.loads(migrate.data["revision_after"]) == {"shop": "0002_orders"}
    assert migrate.compensation_status == "compensated"
    assert public_tables(db_url) & {"items", "orders"} == {"items"}
    applied = _scalar(db_url, "SELECT max(name) FROM django_migrations WHERE app = 'shop'")
    assert applied == "0001_initial"


def test_confiture_up_failing_half_way_goes_back_to_the_revision_before(project, db_url):
    project.configure(CONFIG.replace("TOOL", "confiture"))
    project.commit({"healthy.py": HEALTHY,
                    **_confiture(1, "items", "CREATE TABLE items (id int);",
                                 "DROP TABLE items;")})
    assert project.deploy("web").status == "succeeded"
    project.commit({**_confiture(2, "orders", "CREATE TABLE orders (id int);",
                                 "DROP TABLE orders;"),
                    **_confiture(3, "broken", "CREATE TABLE broken (id no_such_type);",
                                 "DROP TABLE broken;")})
    second = project.deploy("web")
    assert second.status == "rolled_back"
    migrate = step(second, "migrate")
    assert migrate.status == "failed" and migrate.compensation_status == "compensated"
    assert public_tables(db_url) & {"items", "orders", "broken"} == {"items"}
