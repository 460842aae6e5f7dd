"""Generate a FraiseQL schema module over Fraisier's PostgreSQL read views.

FraiseQL compiles a schema authored with its decorators (`@fraiseql.type(sql_source=...)`,
`@fraiseql.query(...)`) and serves it straight from views that hold one JSONB `data`
column per row. Migration 0040 adds such views (`v_fraiseql_*`) on top of
`v_deployment_history`, `v_fraise_status`, `v_deployment_stats`, `v_webhook_event` and
`v_release`, so a FraiseQL server can serve the same state database. Its three mutations
call the request functions of migration 0070 (`fn_request_deployment`,
`fn_cancel_deployment`, `fn_retry_deployment`), which apply Fraisier's own rules.

The generated module imports `fraiseql` only when it runs, so generating it needs nothing
beyond Fraisier itself; exporting its `schema.json` needs the `fraisier[fraiseql]` extra.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ViewType:
    name: str
    sql_source: str
    description: str
    fields: tuple[tuple[str, str], ...]  # (snake_case name, Python annotation)
    list_query: str
    one_query: str | None = None
    id_type: str = "int"


TYPES = (
    ViewType("Deployment", "v_fraiseql_deployment", "One requested deployment (the queue row).",
             (("id", "int"), ("fraise_id", "str"), ("environment", "str"), ("status", "str"),
              ("trigger", "str"), ("commit_sha", "str | None"), ("branch", "str"),
              ("release", "str | None"), ("previous_release", "str | None"),
              ("queued_at", "str"), ("started_at", "str | None"),
              ("completed_at", "str | None"), ("duration_seconds", "float | None"),
              ("error_message", "str | None"), ("retry_of", "int | None"),
              ("superseded_by", "int | None")),
             list_query="deployment_history", one_query="deployment"),
    ViewType("FraiseStatus", "v_fraiseql_fraise_status",
             "The last deployment and the live release of one environment.",
             (("id", "str"), ("fraise_id", "str"), ("environment", "str"),
              ("last_deployment_id", "int"), ("last_status", "str"),
              ("last_commit_sha", "str | None"), ("last_completed_at", "str | None"),
              ("current_release", "str | None"), ("current_commit_sha", "str | None")),
             list_query="fraise_statuses", id_type="str"),
    ViewType("DeploymentStats", "v_fraiseql_deployment_stats",
             "All-time counts and durations per environment.",
             (("id", "str"), ("fraise_id", "str"), ("environment", "str"), ("total", "int"),
              ("succeeded", "int"), ("failed", "int"), ("rolled_back", "int"),
              ("rollback_failed", "int"), ("average_duration_seconds", "float | None"),
              ("last_queued_at", "str | None")),
             list_query="deployment_stats", id_type="str"),
    ViewType("WebhookEvent", "v_fraiseql_webhook_event",
             "One request to the webhook endpoint, accepted or not.",
             (("id", "int"), ("provider", "str"), ("event_type", "str"),
              ("delivery_id", "str | None"), ("repository", "str"), ("branch", "str | None"),
              ("commit_sha", "str | None"), ("received_at", "str"), ("outcome", "str"),
              ("reason", "str")),
             list_query="webhook_events"),
    ViewType("Release", "v_fraiseql_release", "A release of one environment.",
             (("id", "int"), ("release_id", "str"), ("fraise_id", "str"),
              ("environment", "str"), ("host", "str"), ("commit_sha", "str"),
              ("status", "str"), ("deployment_id", "int | None"), ("created_at", "str"),
              ("activated_at", "str | None")),
             list_query="releases"),
)


@dataclass(frozen=True)
class FunctionMutation:
    """A mutation bound to a PostgreSQL function of store migration 0070 (FraiseQL's
    convention: `sql_source` names the function, its arguments are passed in order, and
    its JSONB answer is the returned object, here a `Deployment`)."""

    name: str
    sql_source: str
    operation: str  # CREATE, UPDATE, DELETE or CUSTOM
    arguments: tuple[tuple[str, str, str | None], ...]  # (name, annotation, default)
    description: str


MUTATIONS = (
    FunctionMutation("request_deployment", "fn_request_deployment", "CREATE",
                     (("fraise_id", "str", None), ("environment", "str", None),
                      ("commit_sha", "str | None", "None"), ("force", "bool", "False")),
                     "Queue a deployment (trigger api); a Fraisier worker runs it."),
    FunctionMutation("cancel_deployment", "fn_cancel_deployment", "UPDATE",
                     (("deployment_id", "int", None),),
                     "Cancel a queued deployment, or ask its worker to stop a running one."),
    FunctionMutation("retry_deployment", "fn_retry_deployment", "CREATE",
                     (("deployment_id", "int", None),),
                     "Queue a new deployment of the commit of a finished one that did not "
                     "succeed."),
)


def sql_sources() -> list[str]:
    return [t.sql_source for t in TYPES]


def function_sources() -> list[str]:
    return [m.sql_source for m in MUTATIONS]


def module_source() -> str:
    lines = [
        '"""Fraisier\'s state as a read-only FraiseQL schema (generated by',
        "`fraisier graphql fraiseql-schema`).",
        "",
        "Every type reads a `v_fraiseql_*` view of a Fraisier PostgreSQL state database; the",
        "mutations call its fn_request_deployment, fn_cancel_deployment and fn_retry_deployment.",
        "Export FraiseQL's schema.json with: python this_file.py schema.json",
        '"""',
        "",
        "import sys",
        "",
        "import fraiseql",
        "",
    ]
    for view in TYPES:
        lines += ["", f'@fraiseql.type(sql_source="{view.sql_source}")', f"class {view.name}:",
                  f'    """{view.description}"""', ""]
        lines += [f"    {name}: {annotation}" for name, annotation in view.fields]
        lines += ["", "",
                  f'@fraiseql.query(sql_source="{view.sql_source}", auto_params=True)',
                  f"def {view.list_query}() -> list[{view.name}]:",
                  f'    """Every row of {view.sql_source}; filter, order and page with the',
                  '    generated where / orderBy / limit / offset arguments."""',
                  "    ..."]
        if view.one_query:
            lines += ["", "",
                      f'@fraiseql.query(sql_source="{view.sql_source}")',
                      f"def {view.one_query}(id: {view.id_type}) -> {view.name} | None:",
                      f'    """One row of {view.sql_source} by id."""',
                      "    ..."]
        lines.append("")
    for mutation in MUTATIONS:
        params = ", ".join(f"{name}: {annotation}" + (f" = {default}" if default else "")
                           for name, annotation, default in mutation.arguments)
        lines += ["", f'@fraiseql.mutation(sql_source="{mutation.sql_source}", '
                      f'operation="{mutation.operation}")',
                  f"def {mutation.name}({params}) -> Deployment:",
                  f'    """{mutation.description}"""',
                  "    ...", ""]
    lines += ["", 'if __name__ == "__main__":',
              '    fraiseql.export_schema(sys.argv[1] if len(sys.argv) > 1 else "schema.json")',
              ""]
    return "\n".join(lines)


def export_json(module: Path, output: Path) -> None:
    """Run the generated module (a fresh interpreter: decorators register globally)."""
    import fraiseql  # noqa: F401 - fail early, with ImportError, when the extra is missing

    subprocess.run([sys.executable, str(module), str(output)], check=True, timeout=120)
