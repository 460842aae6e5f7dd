"""A preset finds the release's own tool: the documented `install` (copied from
docs/fraise-types.md) creates `<release>/.venv` and installs Alembic into it with real pip,
and the migration runs with that Alembic although none is on PATH. `migrate.tool_path` is
looked at next."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from _kinds_support import public_tables, step

from tests.support.wheelhouse import build_wheelhouse

BIN = Path(sys.executable).parent
DOCS = Path(__file__).resolve().parents[2] / "docs" / "fraise-types.md"


def _documented_install() -> str:
    """The `install:` line of the docs' api example, exactly as written there."""
    block = re.search(r"```yaml\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert block is not None
    line = next(line for line in block.group(1).splitlines() if "install:" in line)
    return line.strip()


CONFIG = """
state:
  url: sqlite:///{root}/state.db
fraises:
  web:
    type: api
    repository: {repo}
    INSTALL
    env:
      PATH: "{root}/tools:/usr/bin:/bin"
      PIP_CONFIG_FILE: /dev/null
      PIP_NO_INDEX: "1"
      PIP_FIND_LINKS: "{root}/wheels"
      PIP_DISABLE_PIP_VERSION_CHECK: "1"
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
"""

ALEMBIC_FILES = {
    "requirements.txt": "alembic\npsycopg[binary]\n",
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
    "migrations/versions/0001.py": """
        from alembic import op

        revision = "0001"
        down_revision = None

        def upgrade():
            op.execute("CREATE TABLE items (id int)")

        def downgrade():
            op.execute("DROP TABLE items")
    """,
}


def test_the_documented_install_puts_the_presets_tool_in_the_release(project, db_url):
    install = _documented_install()
    assert ".venv/bin/pip" in install
    tools = project.root / "tools"
    tools.mkdir()
    # python3 for `python3 -m venv`, and nothing else: no alembic on PATH.
    (tools / "python3").symlink_to(Path(sys._base_executable).resolve())
    build_wheelhouse(["alembic", "psycopg[binary]"], project.root / "wheels")
    project.configure(CONFIG.replace("INSTALL", install.replace("{", "{{").replace("}", "}}")))
    project.commit(ALEMBIC_FILES)
    record = project.deploy("web")
    assert record.status == "succeeded", record.error
    release = project.root / "srv/web/releases" / record.release
    assert (release / ".venv/bin/alembic").is_file()
    assert step(record, "migrate").data["revision_after"] == "0001"
    store = project.store()
    logs = [str(row["line"]) for row in store.ledger.logs(record.id)]
    assert f"$ migrate up: {release}/.venv/bin/alembic upgrade head" in logs
    assert "items" in public_tables(db_url)


TOOL_PATH_CONFIG = """
state:
  url: sqlite:///{root}/state.db
fraises:
  web:
    type: api
    repository: {repo}
    env:
      PATH: "/usr/bin:/bin"
    migrate:
      tool: confiture
      tool_path: BIN
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


def test_tool_path_is_looked_at_when_the_release_has_no_venv(project, db_url):
    project.configure(TOOL_PATH_CONFIG)
    project.commit({"db/migrations/001_items.up.sql": "CREATE TABLE items (id int);\n",
                    "db/migrations/001_items.down.sql": "DROP TABLE items;\n"})
    record = project.deploy("web")
    assert record.status == "succeeded", record.error
    logs = [str(row["line"]) for row in project.store().ledger.logs(record.id)]
    assert f"$ migrate up: {BIN}/confiture migrate up --no-config" in logs
    assert "items" in public_tables(db_url)
