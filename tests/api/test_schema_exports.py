"""docs/schema.graphql is the schema the server serves; the FraiseQL schema names only views
that exist in a migrated PostgreSQL database."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from fraisier.api.fraiseql_schema import function_sources, sql_sources
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
        _mutations_match_functions(store, exported)
        for view in named:
            columns = {row["column_name"]: row["data_type"] for row in store.db.fetchall(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_name = ?", (view,))}
            assert columns.get("data") == "jsonb", view
            assert "id" in columns, view
            store.db.fetchall(f"SELECT id, data FROM {view} LIMIT 1")  # it runs
    finally:
        store.close()


# GraphQL scalar -> the PostgreSQL types a function argument of it may have.
_PG_TYPES = {"String": {"text"}, "Int": {"bigint", "integer"}, "Boolean": {"boolean"}}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _mutations_match_functions(store, exported: dict) -> None:
    """Every mutation names a function that exists, with the same arguments in the same
    order (FraiseQL passes them positionally) and types that take the GraphQL values."""
    mutations = exported["mutations"]
    assert {m["sql_source"] for m in mutations} == set(function_sources())
    assert {m["name"] for m in mutations} == {
        "requestDeployment", "cancelDeployment", "retryDeployment"}
    for mutation in mutations:
        rows = store.db.fetchall(
            "SELECT p.proargnames AS names, oidvectortypes(p.proargtypes) AS types,"
            " pg_get_function_result(p.oid) AS result FROM pg_proc p"
            " WHERE p.proname = ? AND p.pronamespace = current_schema()::regnamespace",
            (mutation["sql_source"],))
        assert len(rows) == 1, mutation["sql_source"]
        (row,) = rows
        names = list(row["names"])
        types = [t.strip() for t in row["types"].split(",")]
        wanted = mutation["arguments"]
        assert names == [_snake(a["name"]) for a in wanted], mutation["sql_source"]
        for argument, pg_type in zip(wanted, types, strict=True):
            assert pg_type in _PG_TYPES[argument["type"]], (mutation["sql_source"], argument)
        assert row["result"] == "jsonb" and mutation["return_type"] == "Deployment"
