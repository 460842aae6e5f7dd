"""docs/schema.graphql is the schema the server serves; the FraiseQL schema names only views
that exist in a migrated PostgreSQL database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from fraisier.api.fraiseql_schema import sql_sources
from fraisier.api.sdl import schema_sdl
from fraisier.store import open_store
from tests.support.services import require

ROOT = Path(__file__).resolve().parents[2]


def test_published_sdl_is_current():
    published = (ROOT / "docs" / "schema.graphql").read_text()
    assert published == schema_sdl(), (
        "docs/schema.graphql is stale: run `fraisier graphql schema -o docs/schema.graphql`")


def test_fraiseql_schema_generates_and_its_views_exist(tmp_path, postgres_url):
    try:
        import fraiseql
    except ImportError:
        fraiseql = None
    require(fraiseql is not None, "the fraiseql package (fraisier[fraiseql]) is not installed")
    done = subprocess.run(
        [sys.executable, "-c", "from fraisier.cli.main import main; main()", "graphql",
         "fraiseql-schema", "-o", "schema_fq.py", "--export-json", "schema.json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    exported = json.loads((tmp_path / "schema.json").read_text())
    named = {t["sql_source"] for t in exported["types"]} | {
        q["sql_source"] for q in exported["queries"]}
    assert named == set(sql_sources())
    assert {"deploymentHistory", "deployment", "fraiseStatuses", "deploymentStats"} <= {
        q["name"] for q in exported["queries"]}

    store = open_store(postgres_url)
    try:
        for view in named:
            columns = {row["column_name"]: row["data_type"] for row in store.db.fetchall(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_name = ?", (view,))}
            assert columns.get("data") == "jsonb", view
            assert "id" in columns, view
            store.db.fetchall(f"SELECT id, data FROM {view} LIMIT 1")  # it runs
    finally:
        store.close()
