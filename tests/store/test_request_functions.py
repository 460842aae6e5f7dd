"""One set of rules for requesting, cancelling and retrying a deployment: the same table of
cases runs against the Python path (engine/service.py, which the CLI and the GraphQL API
call) on SQLite and on PostgreSQL, and against the PostgreSQL functions of migration 0070
(fn_request_deployment, fn_cancel_deployment, fn_retry_deployment), called by a role that
`fraisier graphql grant-role` set up and that can write no table itself."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from fraisier.config import UnknownTarget, load_config
from fraisier.domain.model import Trigger
from fraisier.engine import service
from fraisier.engine.service import open_state
from fraisier.store.roles import grant_request_role
from tests.engine.sample import make_sample

OUTCOMES = {"FRA04": "not_found", "FRA09": "conflict", "FRA22": "invalid"}


@dataclass(frozen=True)
class Case:
    name: str
    # Puts the deployments the case needs in place; returns the id the request names.
    prepare: Callable[[Any], int | None]
    operation: str  # request, cancel or retry
    args: tuple[Any, ...]  # for request: (fraise, environment, commit, force)
    expect: str  # ok, not_found, conflict or invalid
    # For "ok": what the deployment answered or queued looks like.
    check: Callable[[Any, dict[str, Any], int | None], None] | None = None


def _queued(store: Any, trigger: str = "cli") -> int:
    return int(store.queue.enqueue("hello", "production", trigger=trigger, branch="main").id)


def _with_status(status: str, trigger: str = "cli") -> Callable[[Any], int]:
    def prepare(store: Any) -> int:
        deployment_id = _queued(store, trigger)
        store.db.execute(
            "UPDATE tb_deployment SET status = ?, started_at = queued_at, commit_sha = ?"
            " WHERE id = ?", (status, "a" * 40, deployment_id))
        return deployment_id
    return prepare


def _nothing(store: Any) -> None:
    return None


def _is_new_api_deployment(store: Any, answer: dict[str, Any], named: int | None) -> None:
    assert answer["status"] == "queued" and answer["trigger"] == "api"
    assert answer["branch"] == "main" and answer["fraise_id"] == "hello"


def _supersedes(store: Any, answer: dict[str, Any], named: int | None) -> None:
    older = store.queue.get(named, with_steps=False)
    assert older.status == "superseded" and older.superseded_by == answer["id"]


def _cancelled(store: Any, answer: dict[str, Any], named: int | None) -> None:
    assert answer["id"] == named and answer["status"] == "cancelled"


def _stopping(store: Any, answer: dict[str, Any], named: int | None) -> None:
    assert answer["status"] == "running" and store.queue.cancel_requested(named)


def _retried(store: Any, answer: dict[str, Any], named: int | None) -> None:
    assert answer["status"] == "queued" and answer["trigger"] == "retry"
    assert answer["retry_of"] == named and answer["commit_sha"] == "a" * 40


CASES = [
    Case("request", _nothing, "request", ("hello", "production", None, False), "ok",
         _is_new_api_deployment),
    Case("request coalesces a queued one", _queued, "request",
         ("hello", "production", "HEAD", True), "ok", _supersedes),
    Case("request of an unknown fraise", _nothing, "request",
         ("nope", "production", None, False), "not_found"),
    Case("request of an unknown environment", _nothing, "request",
         ("hello", "nowhere", None, False), "not_found"),
    Case("cancel a queued one", _queued, "cancel", (), "ok", _cancelled),
    Case("cancel a running one", _with_status("running"), "cancel", (), "ok", _stopping),
    Case("cancel a finished one", _with_status("succeeded"), "cancel", (), "conflict"),
    Case("cancel an unknown id", lambda store: 987654, "cancel", (), "not_found"),
    Case("retry a failed one", _with_status("failed"), "retry", (), "ok", _retried),
    Case("retry a running one", _with_status("running"), "retry", (), "conflict"),
    Case("retry a succeeded one", _with_status("succeeded"), "retry", (), "conflict"),
    Case("retry a rollback", _with_status("failed", "rollback"), "retry", (), "invalid"),
    Case("retry an unknown id", lambda store: 987654, "retry", (), "not_found"),
]


def _python(store: Any, config: Any, case: Case, named: int | None) -> tuple[str, dict]:
    try:
        if case.operation == "request":
            fraise, environment, commit, force = case.args
            record = service.request_deployment(store, config, fraise, environment,
                                                trigger=Trigger.API, commit=commit,
                                                force=force)
        elif case.operation == "cancel":
            record = service.cancel_deployment(store, named).record
        else:
            record = service.retry_deployment(store, config, named)
    except (service.NotFound, UnknownTarget):
        return "not_found", {}
    except service.Conflict:
        return "conflict", {}
    except service.Invalid:
        return "invalid", {}
    return "ok", {"id": record.id, "status": record.status, "trigger": record.trigger,
                  "branch": record.branch, "fraise_id": record.fraise,
                  "retry_of": record.retry_of,
                  "commit_sha": record.commit_sha or record.requested_commit}


def _sql(url: str, case: Case, named: int | None) -> tuple[str, dict]:
    calls = {"request": ("SELECT fn_request_deployment(%s, %s, %s, %s)", case.args),
             "cancel": ("SELECT fn_cancel_deployment(%s)", (named,)),
             "retry": ("SELECT fn_retry_deployment(%s)", (named,))}
    query, params = calls[case.operation]
    try:
        with psycopg.connect(url, autocommit=True) as connection:
            (answer,) = connection.execute(query, params).fetchone()
    except psycopg.Error as exc:
        assert exc.sqlstate in OUTCOMES, exc
        assert exc.diag.message_primary, exc
        return OUTCOMES[exc.sqlstate], {"message": exc.diag.message_primary}
    return "ok", answer


@pytest.fixture(params=["python-sqlite", "python-postgres", "sql-postgres"])
def path(request, tmp_path):
    workspace = make_sample(tmp_path)
    role_url = None
    if request.param.endswith("postgres"):
        url = request.getfixturevalue("postgres_url")
        text = workspace.config_path.read_text()
        start = text.index("state:\n  url: ")
        end = text.index("\n", start + len("state:\n  url: "))
        workspace.config_path.write_text(text[:start] + f"state:\n  url: {url}" + text[end:])
    config = load_config(workspace.config_path)
    store = open_state(config)
    role = None
    if request.param == "sql-postgres":
        role = f"fraiseql_{uuid.uuid4().hex[:8]}"
        store.db.execute(f"CREATE ROLE {role} LOGIN")
        grant_request_role(store.db, role)
        role_url = url.replace("://postgres@", f"://{role}@")
    yield request.param, store, config, role_url
    if role is not None:
        store.db.execute(f"DROP OWNED BY {role}")
        store.db.execute(f"DROP ROLE {role}")
    store.close()


def _count(store: Any, table: str) -> int:
    return int(store.db.scalar(f"SELECT count(*) FROM {table}"))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_rules(path, case):
    kind, store, config, role_url = path
    named = case.prepare(store)
    before = {table: _count(store, table) for table in ("tb_deployment", "tb_event")}
    if kind.startswith("python"):
        outcome, answer = _python(store, config, case, named)
    else:
        outcome, answer = _sql(role_url, case, named)
    assert outcome == case.expect, (kind, answer)
    if case.expect == "ok":
        assert case.check is not None
        case.check(store, answer, named)
    else:
        # Refused: no deployment, no event.
        assert {t: _count(store, t) for t in before} == before
        if kind.startswith("sql"):
            # The message names what is at fault.
            at_fault = str(named) if case.operation != "request" else (
                case.args[0] if case.args[0] == "nope" else case.args[1])
            assert at_fault in answer["message"], answer


@pytest.mark.parametrize("path", ["sql-postgres"], indirect=True)
def test_the_role_can_write_no_table(path):
    _kind, store, _config, role_url = path
    # Every table, with one of its columns.
    tables = {row["table_name"]: row["column_name"] for row in store.db.fetchall(
        "SELECT table_name, min(column_name) AS column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name IN"
        " (SELECT tablename FROM pg_tables WHERE schemaname = current_schema())"
        " GROUP BY table_name")}
    assert "tb_deployment" in tables and len(tables) > 10
    with psycopg.connect(role_url, autocommit=True) as connection:
        for table, column in tables.items():
            for statement in (f"DELETE FROM {table}", f"UPDATE {table} SET {column} = {column}",
                              f"SELECT * FROM {table} LIMIT 1",
                              f"INSERT INTO {table} DEFAULT VALUES"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    connection.execute(statement)
        # What it may do: read the FraiseQL views, call the functions.
        (count,) = connection.execute("SELECT count(*) FROM v_fraiseql_deployment").fetchone()
        assert count == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            connection.execute("SELECT fn_fraisier_enqueue('hello', 'production', 'api', 'main',"
                               " NULL, false, NULL)")
